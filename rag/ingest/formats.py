"""Recognise a news file's format from its content and pull out title, body, outlet, byline, URL and date.

Formats (see corpus/README.md): A, A2, A3 (GNews/GTV wrappers), B, B0 (gfw-breaker mirrors),
C (hexo/RSSHub), and the generic markdown, html, text.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from rag.ingest import dates
from rag.ingest.clean import drop_title_echo, html_to_text, markdown_to_text, strip_boilerplate, tidy
from rag.ingest.frontmatter import FrontMatter, split_front_matter
from rag.ingest.outlets import OutletRegistry

FORMATS = ("A", "A2", "A3", "B", "B0", "C", "markdown", "html", "text")


@dataclass(frozen=True)
class Parsed:
    """Everything read_file needs for an Article, before ids and duplicates."""

    format: str
    title: str
    text: str
    outlet: str = ""
    byline: str = ""
    original_source: str = ""
    published: str | None = None
    date_source: str = ""
    url: str = ""


_GNEWS_LINE = re.compile(r"^`([^`]*)`\s*\[轉載自GNews\]\((\S+?)\)\s*$")
_A2_HEADER = re.compile(r"^#{1,4}\s*\[:house:")
_B_TITLE = re.compile(r"^###\s+(.+?)\s*\n-{6,}\s*\n")
_B_URL = re.compile(r"原文地址（需翻墙访问）[：:]\s*(\S+)")
_B0_URL = re.compile(r"原文(?:链接|連結|鏈接)[：:]\s*(https?://[^\s<'\"]+)")


_TRANSCRIPT_CUE = re.compile(r"文字版|直播|听写|聽寫|盖特|蓋特|GTV|郭文贵|郭文貴|文贵|文貴|七哥|郭先生|战友|戰友")
_TRANSCRIPT_NAME = re.compile(r"^(?:19|20)\d{6}-\d+")


def _wrapper_without_source(text: str, name: str) -> str:
    """A GNews-wrapper file with no GNews line is a GTV transcript (A3) only if it reads like one."""
    return "A3" if _TRANSCRIPT_CUE.search(text[:3000]) or _TRANSCRIPT_NAME.match(name) else "markdown"


def detect_format(text: str, fm: FrontMatter | None = None, name: str = "") -> str:
    """The format code of a decoded file, from its content (`name`, the file name, only breaks an A3 tie)."""
    fm = fm if fm is not None else _safe_fm(text)
    head = text.lstrip()[:4000]
    if fm.present:
        keys = set(fm.data)
        body_head = fm.body.lstrip()[:200]
        if keys & {"categories", "author"} and body_head.startswith("<"):
            return "C"
        if "title" in keys and keys <= {"title", "layout"}:
            return "A" if _find_gnews_line(fm.body) else _wrapper_without_source(text, name)
        return "html" if body_head.startswith("<") and _looks_html(fm.body) else "markdown"
    first = head.split("\n", 1)[0]
    if _A2_HEADER.match(first):
        return "A2" if _find_gnews_line(head) else _wrapper_without_source(text, name)
    if _B_TITLE.match(head):
        tail = text[-6000:]
        if "原文地址（需翻墙访问）" in tail:
            return "B"
        if _B0_URL.search(tail) or "banned-news/blob" in tail:
            return "B0"
        return "B"
    if _looks_html(head):
        return "html"
    if re.search(r"^#{1,6}\s|\]\(|\*\*|^[-*]\s", head, re.M):
        return "markdown"
    return "text"


def _safe_fm(text: str) -> FrontMatter:
    try:
        return split_front_matter(text)
    except ValueError:
        return FrontMatter(body=text)


def _looks_html(s: str) -> bool:
    low = s[:2000].lower()
    if low.lstrip().startswith(("<!doctype", "<html")):
        return True
    return len(re.findall(r"</?(?:p|div|span|br|a|img|h\d)\b", low)) >= 5


def _find_gnews_line(body: str) -> re.Match[str] | None:
    for line in body.lstrip("\n").split("\n", 12)[:12]:
        m = _GNEWS_LINE.match(line.strip())
        if m:
            return m
    return None


def parse(text: str, source_path: str, registry: OutletRegistry) -> Parsed:
    """Parse a decoded file. Raises ValueError for a truncated front matter block."""
    fm = split_front_matter(text)
    fmt = detect_format(text, fm, PurePosixPath(source_path).name)
    if fmt in ("A", "A2", "A3"):
        return _parse_gnews(fmt, text, fm, source_path, registry)
    if fmt in ("B", "B0"):
        return _parse_mirror(fmt, text, registry)
    if fmt == "C":
        return _parse_hexo(fm, registry)
    return _parse_generic(fmt, text, fm, source_path, registry)


# --- A, A2, A3 -------------------------------------------------------------------------------

_AUTHOR_LINE = re.compile(r"^\s*\**\s*作者\s*[：:]\s*\**\s*(.+?)\s*$", re.M)


def _parse_gnews(fmt: str, text: str, fm: FrontMatter, source_path: str, registry: OutletRegistry) -> Parsed:
    if fm.present:
        title, body = str(fm.data.get("title") or ""), fm.body
    else:
        title, body = _a2_title(text)
    title = _clean_title(title)
    byline = url = ""
    published, date_source = None, ""
    m = _find_gnews_line(body)
    if m:
        published, byline = dates.split_byline_timestamp(html.unescape(m.group(1)))
        date_source = "byline" if published else ""
        url = m.group(2)
        body = body.replace(m.string, "", 1)
    clean = drop_title_echo(strip_boilerplate(markdown_to_text(body)), title)
    author = _AUTHOR_LINE.search(clean[:600])
    if author:
        name = re.split(r"[｜|]", author.group(1))[0].strip()
        if name and name not in byline:
            byline = f"{byline}；作者：{name}" if byline else name
        if not clean[: author.start()].strip():  # the credit line leads the text: it is metadata now
            clean = clean[author.end() :].lstrip()
    if fmt == "A3":
        published = dates.filename_date(PurePosixPath(source_path).name)
        date_source = "filename" if published else ""
        if not published:
            published = dates.front_matter_date(title)
            date_source = "title" if published else ""
        return Parsed(fmt, title, clean, "GTV", byline, "", published, date_source, url)
    if not published:
        published, date_source = _signature_with_floor(clean, body)
    return Parsed(fmt, title, clean, "GNews", byline, _source_footer(clean, registry, "GNews"), published, date_source, url)


def _a2_title(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    for i, line in enumerate(lines[:12]):
        if line.startswith(("## ", "# ")):
            title, rest = line.lstrip("#").strip(), lines[i + 1 :]
            if "文字版" in title:  # a generic "視頻的文字版" heading: the bold 文字版 line names the talk
                named = next((x for x in rest[:12] if x.startswith("**") and len(x) > 6), "")
                title = markdown_to_text(named).strip() or title
            return title, "\n".join(rest)
    return "", "\n".join(lines[1:])


def _signature_with_floor(clean: str, raw_body: str) -> tuple[str | None, str]:
    """A signed date, checked against the newest image upload month (an article is not older than its images).

    A January article signed with last year's number ("2021年1月6日" on a 2022 post) is moved one
    year on when that lands it within two months after the upload month.
    """
    sig = dates.signature_date(clean)
    if not sig:
        return None, ""
    floor = dates.upload_floor(raw_body)
    if not floor or sig >= floor:
        return sig, "signature"
    try:
        fixed = dt.date.fromisoformat(sig).replace(year=int(sig[:4]) + 1)
    except ValueError:
        return None, ""
    floor_d = dt.date.fromisoformat(floor)
    if floor_d <= fixed <= floor_d + dt.timedelta(days=62):
        return fixed.isoformat(), "signature (year corrected)"
    return None, ""


_SOURCE_LINE = re.compile(r"^\s*(?:来源|來源|消息来源|转载自|轉載自)\s*[：:]\s*(.{1,80}?)\s*$", re.M)


_PLAIN_NAME = re.compile(r"^(?!https?:)[^\W\d_][^\d，。：:、（）()《》！？!?\[\]/|]{0,15}$")


def _source_footer(clean: str, registry: OutletRegistry, outlet: str) -> str:
    """The outlet named in a "来源:" footer line, canonicalised, when it differs from `outlet`."""
    found = ""
    for m in _SOURCE_LINE.finditer(clean[-3000:]):
        value = m.group(1)
        hit = registry.from_url(value) if value.startswith("http") else registry.find_in(value)
        if hit:
            found = hit.name
        elif _PLAIN_NAME.match(value):  # an outlet the registry does not know, named plainly
            found = value.strip()
    return "" if found == outlet else found


def _clean_title(title: str) -> str:
    title = html.unescape(html.unescape(title)).strip()
    return re.sub(r"\s+", " ", title).strip()


# --- B, B0 -----------------------------------------------------------------------------------

_B_CUT = re.compile(r"手机上长按|原文地址（需翻墙访问）|<img src='http://gfw-breaker\.win")
_MD_PROMO = re.compile(r"^\s*#{1,6}\s.*\]\(.*$|^\s*网站代理[：:].*$|^\s*-{3,}\s*$|^\s*#{1,6}\s*[💥🎬🔥💌].*$", re.M)


def _parse_mirror(fmt: str, text: str, registry: OutletRegistry) -> Parsed:
    m = _B_TITLE.match(text.lstrip())
    title = _clean_title(m.group(1)) if m else ""
    body = text.lstrip()[m.end() :] if m else text
    if fmt == "B":
        um = _B_URL.search(text)
        url = um.group(1).strip() if um else ""
        cut = _B_CUT.search(body)
    else:
        urls = list(_B0_URL.finditer(text))
        url = urls[-1].group(1) if urls else ""
        cut = urls[-1] if urls else None
        if cut is not None:
            cut = re.search(re.escape(cut.group(0)), body) or None
    if cut:
        body = body[: cut.start()]
    body = _MD_PROMO.sub("", body)
    body = re.sub(r"^\s*原文链接[：:].*$", "", body, flags=re.M) if fmt == "B" else body
    raw_text = html_to_text(body)
    clean = drop_title_echo(strip_boilerplate(tidy(raw_text)), title)
    outlet_obj = registry.from_url(url)
    date, dl_outlet = dates.dateline(clean)
    if not outlet_obj and dl_outlet:
        outlet_obj = registry.find_in(dl_outlet)
    outlet = outlet_obj.name if outlet_obj else ""
    date_source = "dateline" if date else ""
    if not date:
        date = dates.time_tag(text)
        date_source = "time-tag" if date else ""
    if not date:
        date = dates.url_date(url) or (dates.reuters_date(url, text) if "reuters" in url else None)
        date_source = "url" if date else ""
    clean, byline = _strip_lead(clean)
    original = _source_footer(tidy(raw_text), registry, outlet)
    clean = _SOURCE_LINE_ONLY.sub("", clean).replace("**", "").strip()
    return Parsed(fmt, title, tidy(clean), outlet, byline, original, date, date_source, url)


def _strip_lead(clean: str) -> tuple[str, str]:
    """Drop what precedes a top dateline (lead-image captions) and the dateline itself; return the reporter byline."""
    m = dates.DATELINE.search(clean[:1500])
    if not m or clean[: m.start()].count("\n\n") > 3:
        return clean, ""
    rest = clean[m.end() :].lstrip()
    bm = _REPORTER.match(rest)
    byline = ""
    if bm:
        byline = bm.group(1).strip()
        rest = rest[bm.end() :].lstrip()
    return rest, byline


_REPORTER = re.compile(r"^[（(]([^）)\n]{2,60}?)[）)]")
_SOURCE_LINE_ONLY = re.compile(r"\n\s*(?:来源|來源)\s*[：:][^\n]{0,60}\s*$")


# --- C ---------------------------------------------------------------------------------------

_WEN_BYLINE = re.compile(r"^\s*【\s*(?:文|作者|撰文)\s*[/／:：]\s*([^】]{1,40})】\s*$", re.M)


def _parse_hexo(fm: FrontMatter, registry: OutletRegistry) -> Parsed:
    data = fm.data
    title = _clean_title(str(data.get("title") or ""))
    cats = data.get("categories") or []
    cats = [str(c) for c in cats] if isinstance(cats, list) else [str(cats)]
    author = str(data.get("author") or "")
    candidates = ([cats[1]] if len(cats) > 1 else []) + [author]
    hit = next((o for o in (registry.find_in(c) for c in candidates if c) if o), None)
    outlet = hit.name if hit else (cats[1] if len(cats) > 1 else author).strip()
    text = html_to_text(fm.body)
    byline = ""
    bm = _WEN_BYLINE.search(text[:300])
    if bm:
        byline = re.sub(r"\s+", " ", bm.group(1)).strip()
        text = text[: bm.start()] + text[bm.end() :]
    clean = drop_title_echo(strip_boilerplate(tidy(text)), title)
    published = dates.front_matter_date(data.get("date"))
    return Parsed("C", title, clean, outlet, byline, "", published, "front-matter" if published else "", "")


# --- generic markdown / html / text ----------------------------------------------------------

_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.I | re.S)


def _parse_generic(fmt: str, text: str, fm: FrontMatter, source_path: str, registry: OutletRegistry) -> Parsed:
    data = fm.data if fm.present else {}
    body = fm.body if fm.present else text
    title = str(data.get("title") or "")
    if fmt == "html":
        if not title:
            tm = _HTML_TITLE.search(body)
            title = re.sub(r"<[^>]+>", "", (tm.group(1) or tm.group(2))) if tm else ""
        clean_body = html_to_text(body)
    else:
        clean_body = markdown_to_text(body) if fmt == "markdown" else body
        if not title:
            hm = re.search(r"^\s*#{1,3}\s+(.+)$", body[:2000], re.M)
            title = hm.group(1) if hm else ""
    clean = tidy(clean_body)
    if not title:
        first = clean.split("\n", 1)[0]
        title = first if len(first) <= 60 else PurePosixPath(source_path).stem
    title = _clean_title(re.sub(r"<[^>]+>", "", markdown_to_text(title)))
    clean = drop_title_echo(strip_boilerplate(clean), title)
    url = str(data.get("url") or data.get("link") or data.get("source_url") or "")
    if not url:
        um = _B_URL.search(text) or _B0_URL.search(text)
        url = um.group(1) if um else ""
    outlet_obj = None
    for key in ("outlet", "source", "author", "publisher"):
        if data.get(key):
            outlet_obj = registry.find_in(str(data[key]))
            if outlet_obj:
                break
    outlet_obj = outlet_obj or registry.from_url(url)
    date, dl_outlet = dates.dateline(clean)
    if not outlet_obj and dl_outlet:
        outlet_obj = registry.find_in(dl_outlet)
    candidates = (
        (dates.front_matter_date(data.get("date")), "front-matter"),
        (date, "dateline"),
        (dates.time_tag(text), "time-tag"),
        (dates.url_date(url), "url"),
        (dates.filename_date(PurePosixPath(source_path).name), "filename"),
    )
    published, date_source = next(((d, s) for d, s in candidates if d), (None, ""))
    outlet = outlet_obj.name if outlet_obj else ""
    return Parsed(fmt, title, clean, outlet, "", _source_footer(clean, registry, outlet), published, date_source, url)
