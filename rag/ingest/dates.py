"""Publication dates from the places news files carry them; every function returns YYYY-MM-DD or None."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate

_MIN_YEAR, _MAX_YEAR = 1990, 2035


def make_date(y: int | str, m: int | str, d: int | str) -> str | None:
    """A valid, plausible calendar date as YYYY-MM-DD, else None."""
    try:
        y, m, d = int(y), int(m), int(d)
        if y < 100:
            y += 2000
        if not _MIN_YEAR <= y <= _MAX_YEAR:
            return None
        return dt.date(y, m, d).isoformat()
    except (ValueError, TypeError):
        return None


_BYLINE_TS = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?\s*(?:UTC|GMT)?\s*")


def split_byline_timestamp(byline: str) -> tuple[str | None, str]:
    """GNews bylines read "3/15/2023 3:30 PM UTC 秘密翻譯組G-Translators": (date, rest)."""
    m = _BYLINE_TS.search(byline)
    if not m:
        return None, byline.strip()
    date = make_date(m.group(3), m.group(1), m.group(2))
    rest = (byline[: m.start()] + byline[m.end() :]).strip()
    return date, rest


DATELINE = re.compile(r"【([^】\n]{0,24}?)(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日[^】\n]{0,16}】")


def dateline(text: str, window: int = 3000) -> tuple[str | None, str]:
    """【大纪元2018年09月04日讯】 near the top of the text: (date, outlet name as printed)."""
    m = DATELINE.search(text[:window])
    if not m:
        return None, ""
    return make_date(m.group(2), m.group(3), m.group(4)), m.group(1).strip(" ：:")


_SIGNATURE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]\s*(?:[（(]?(?:星期|周|週)[一二三四五六日天][）)]?)?\s*$", re.M)


def signature_date(text: str) -> str | None:
    """A line holding only a date ("2022年1月10日"), as GNews writers sign articles; the last one wins."""
    found = None
    for m in _SIGNATURE.finditer(text):
        found = make_date(m.group(1), m.group(2), m.group(3)) or found
    return found


_TIME_TAG = re.compile(r"<time[^>]*\bdatetime=[\"'](\d{4})-(\d{2})-(\d{2})")


def time_tag(raw: str) -> str | None:
    """The first <time datetime="2018-09-03T12:44:59+08:00">, date as written."""
    m = _TIME_TAG.search(raw)
    return make_date(*m.groups()) if m else None


_URL_PATTERNS = (
    re.compile(r"/(\d{4})/(\d{1,2})/(\d{1,2})/"),  # secretchina, ntdtv, soundofhope: /2022/01/13/
    re.compile(r"/(\d{4})-(\d{1,2})/(\d{1,2})/"),  # news.cn: /2022-01/10/
    re.compile(r"/b5/(\d{2})/(\d{1,2})/(\d{1,2})/n\d+|/gb/(\d{2})/(\d{1,2})/(\d{1,2})/n\d+"),  # epochtimes: /gb/18/9/4/n1.htm
    re.compile(r"-(\d{4})(\d{2})(\d{2})/\d+\.html"),  # voachinese: -20180903/4555264.html
    re.compile(r"[-/](\d{2})(\d{2})(\d{4})\d{6}\.html"),  # rfa: wjs-06022020112200.html (MMDDYYYYhhmmss)
    re.compile(r"/(\d{4})(\d{2})(\d{2})/"),  # cn.nytimes: /20220110/
    re.compile(r"/(\d{4})-(\d{2})-(\d{2})/"),
)


def url_date(url: str) -> str | None:
    """The date encoded in an article URL, for the URL schemes of the outlets in our corpora."""
    if not url:
        return None
    for i, pat in enumerate(_URL_PATTERNS):
        m = pat.search(url)
        if not m:
            continue
        g = [x for x in m.groups() if x is not None]
        if i == 4:  # rfa: month, day, year
            date = make_date(g[2], g[0], g[1])
        else:
            date = make_date(g[0], g[1], g[2])
        if date:
            return date
    return None


_REUTERS_MMDD = re.compile(r"-(\d{2})(\d{2})-id[A-Z0-9]+")
_REUTERS_IMG = re.compile(r"reutersmedia\.net/[^\"'\s]*?[?&](?:amp;)?d=(\d{4})(\d{2})(\d{2})")


def reuters_date(url: str, raw: str) -> str | None:
    """cn.reuters URLs carry MMDD only; the year comes from the article's own image URLs (d=YYYYMMDD)."""
    m = _REUTERS_MMDD.search(url or "")
    img = _REUTERS_IMG.search(raw)
    if not m or not img:
        return None
    year = int(img.group(1))
    mm, dd = m.group(1), m.group(2)
    # An image from early January on a late-December article belongs to the year before.
    if int(mm) == 12 and int(img.group(2)) == 1:
        year -= 1
    return make_date(year, mm, dd)


def front_matter_date(value: object) -> str | None:
    """`date:` from front matter: RFC 822 ("Mon, 10 Jan 2022 20:00:16 GMT"), ISO, or a YAML date."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s)
    if m:
        return make_date(*m.groups())
    t = parsedate(s)
    if t:
        return make_date(t[0], t[1], t[2])
    m = re.search(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", s)
    return make_date(*m.groups()) if m else None


_FILENAME = re.compile(r"(?:^|[^\d])((?:19|20)\d{2})[-_]?(\d{2})[-_]?(\d{2})(?:[^\d]|$)")


def filename_date(name: str) -> str | None:
    """A date at the start of a file name: 20220105-1830280.md, 2022-01-05-title.md."""
    m = _FILENAME.search(name)
    return make_date(*m.groups()) if m else None


_UPLOAD = re.compile(r"/wp-content/uploads/(\d{4})/(\d{2})/")


def upload_floor(raw: str) -> str | None:
    """The latest wp-content/uploads/YYYY/MM of the article's own images: it cannot be older than that month."""
    months = [(int(y), int(m)) for y, m in _UPLOAD.findall(raw)]
    if not months:
        return None
    y, m = max(months)
    return make_date(y, m, 1)
