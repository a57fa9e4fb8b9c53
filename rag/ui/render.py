"""Pure functions that turn answers, lookup matches and articles into HTML for the web app.

Every piece of corpus text (titles, outlets, quotes, article bodies, URLs) goes through
`html.escape` here and nowhere else; article HTML is never passed through. The only markup in
the output is the markup written in this module. Example:

    html_text = render_answer(answer, turn="t0", articles=index.articles)
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rag.types import UNKNOWN_OUTLET_UI, Answer, Article, Citation, outlet_label

_MARKER_RE = re.compile(r"\[(\d{1,3})\]")
CONTEXT_CHARS = 160  # shown around a quote on its card (snapped to sentence ends)
EXPAND_CHARS = 4000  # at most this much article text either side of a quote when expanded
PREVIEW_HINT_CHARS = 1500  # longer clean text overflows the article box (theme.py) and is scrolled
REFUSED_HINT = "Try other words, a wider date range or fewer outlet filters. · 可以换个说法，或放宽日期和媒体筛选。"


def esc(text: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str) -> str | None:
    """The URL if it is plain http(s) (never javascript:, data:, ...), else None."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _paragraphs(text: str) -> str:
    """Escaped text with blank-line paragraphs as <p> and single newlines as <br>."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + esc(p.strip("\n")).replace("\n", "<br>") + "</p>" for p in paras)


def highlight(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> str:
    """`text[lo:hi]` escaped, with `text[start:end]` wrapped in <mark> (offsets into `text`)."""
    hi = len(text) if hi is None else hi
    start, end = max(lo, min(start, hi)), max(lo, min(end, hi))
    pre = "…" if text[:lo].strip() else ""
    post = "…" if text[hi:].strip() else ""
    return (
        pre
        + _paragraphs_inline(text[lo:start])
        + '<mark class="quote">'
        + esc(text[start:end]).replace("\n", "<br>")
        + "</mark>"
        + _paragraphs_inline(text[end:hi])
        + post
    )


def _paragraphs_inline(text: str) -> str:
    # Inside one block (a <mark> may span it), keep paragraph breaks visible as line breaks.
    return re.sub(r"(<br>){3,}", "<br><br>", esc(text).replace("\n", "<br>"))


def _snap_window(text: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """The quote's paragraph, cut to whole sentences within about `chars` either side of [start, end)."""
    para_lo = text.rfind("\n", 0, start) + 1
    para_hi = text.find("\n", end)
    para_hi = len(text) if para_hi < 0 else para_hi
    lo, hi = max(para_lo, start - chars), min(para_hi, end + chars)
    if lo > para_lo:
        cut = max(text.rfind(p, lo, start) for p in ("。", "！", "？", ". "))
        lo = cut + 1 if cut >= 0 else start
    if hi < para_hi:
        cuts = [i for i in (text.find(p, end, hi) for p in ("。", "！", "？")) if i >= 0]
        hi = min(cuts) + 1 if cuts else end
    while lo < start and text[lo] in " \n\t":
        lo += 1
    while hi > end and text[hi - 1] in " \n\t":
        hi -= 1
    return lo, hi


def quote_in_article(c: Citation | Mapping[str, Any], article: Article | None) -> bool:
    start, end, quote = _get(c, "start"), _get(c, "end"), _get(c, "quote") or _get(c, "passage")
    return article is not None and isinstance(start, int) and isinstance(end, int) and article.text[start:end] == quote


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _meta_line(outlet: str, published: str | None, title: str, url: str, extra: str = "") -> str:
    link = safe_url(url)
    title_html = esc(title or "(untitled)")
    if link:
        title_html = f'<a class="orig" href="{esc(link)}" target="_blank" rel="noopener noreferrer nofollow">{title_html} ↗</a>'
    return (
        f'<div class="card-meta"><span class="outlet">{esc(outlet_label(outlet, UNKNOWN_OUTLET_UI))}</span>'
        f'<span class="date">{esc(published or "date unknown")}</span>{extra}</div>'
        f'<div class="card-title" title="{esc(title or "(untitled)")}">{title_html}</div>'
    )


def _passage_block(quote: str, start: int, end: int, article: Article | None, ok: bool) -> str:
    if not ok:
        return f'<div class="passage"><mark class="quote">{esc(quote)}</mark></div>'
    text = article.text
    lo, hi = _snap_window(text, start, end, CONTEXT_CHARS)
    body = f'<div class="passage">{highlight(text, start, end, lo, hi)}</div>'
    if lo > 0 or hi < len(text):
        flo, fhi = max(0, start - EXPAND_CHARS), min(len(text), end + EXPAND_CHARS)
        body += (
            '<details class="more"><summary>Surrounding article text · 展开原文</summary>'
            f'<div class="fulltext">{highlight(text, start, end, flo, fhi)}</div></details>'
        )
    return body


def render_citation_card(c: Citation, anchor: str, article: Article | None = None) -> str:
    """One citation card: outlet, date, title linking to the original, passage with the quote marked."""
    ok = quote_in_article(c, article)
    extra = "" if ok or article is None else '<span class="warn">passage moved since this answer</span>'
    return (
        f'<div class="cite-card" id="{esc(anchor)}" data-n="{c.n}">'
        f'<div class="card-head"><span class="num">[{c.n}]</span>{_meta_line(c.outlet, c.published, c.title, c.url, extra)}</div>'
        f"{_passage_block(c.quote, c.start, c.end, article, ok)}"
        f'<div class="card-foot">{esc(c.source_path)} · chars {c.start}–{c.end}</div>'
        "</div>"
    )


def render_article_card(cs: Sequence[Citation], turn: str, article: Article | None = None) -> str:
    """One card per article: its head once, then each quote of it (anchors "<turn>-c<n>" on every quote)."""
    if len(cs) == 1:
        return render_citation_card(cs[0], f"{turn}-c{cs[0].n}", article)
    first = cs[0]
    nums = "".join(f"[{c.n}]" for c in cs)
    quotes = []
    for c in cs:
        ok = quote_in_article(c, article)
        warn = "" if ok or article is None else '<span class="warn">passage moved since this answer</span>'
        quotes.append(f'<div class="cite-quote" id="{esc(turn)}-c{c.n}" data-n="{c.n}"><span class="num">[{c.n}]</span>{warn}'
                      f"{_passage_block(c.quote, c.start, c.end, article, ok)}</div>")
    spans = ", ".join(f"{c.start}–{c.end}" for c in cs)
    return (
        f'<div class="cite-card" data-n="{first.n}" data-quotes="{len(cs)}">'
        f'<div class="card-head"><span class="num">{nums}</span>{_meta_line(first.outlet, first.published, first.title, first.url, "")}</div>'
        f'{"".join(quotes)}<div class="card-foot">{esc(first.source_path)} · chars {spans}</div>'
        "</div>"
    )


def _cards_by_article(answer: Answer, turn: str, articles: Mapping[str, Article]) -> tuple[dict[str, str], dict[int, str]]:
    """(article_id -> its one card, citation number -> article_id), in citation order."""
    grouped: dict[str, list[Citation]] = {}
    for c in answer.citations:
        grouped.setdefault(c.article_id, []).append(c)
    cards = {aid: render_article_card(cs, turn, articles.get(aid)) for aid, cs in grouped.items()}
    return cards, {c.n: c.article_id for c in answer.citations}


def link_markers(text: str, turn: str, known: Sequence[int]) -> str:
    """Escape answer text and turn each known [n] into an anchor to its card."""
    known_set = set(known)

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in known_set:
            return m.group(0)
        target = f"{turn}-c{n}"
        return f'<a class="cite-mark" href="#{target}" data-target="{target}" title="show source {n}">[{n}]</a>'

    return _MARKER_RE.sub(repl, esc(text)).replace("\n", "<br>")


def _answer_lines(text: str, turn: str, known: Sequence[int]) -> list[tuple[str, list[int]]]:
    return [(link_markers(line, turn, known), [int(n) for n in _MARKER_RE.findall(line)]) for line in text.split("\n") if line.strip()]


def render_answer(answer: Answer, turn: str, articles: Mapping[str, Article] | None = None) -> str:
    """An answer block: text with clickable [n], then cards (side by side per outlet when comparing).

    Args:
        turn: a page-unique id for this answer; card anchors are "<turn>-c<n>".
        articles: article_id -> Article, to show the context around each quote (optional).
    """
    articles = articles or {}
    if answer.refused:
        return (
            f'<div class="answer refused" data-refused="1"><div class="badge">No answer in the archive · 未找到答案</div>'
            f'<div class="answer-text">{esc(answer.text)}</div><div class="hint">{esc(REFUSED_HINT)}</div>'
            f"{_notice(answer.notice)}</div>"
        )
    known = [c.n for c in answer.citations]
    cards, article_of = _cards_by_article(answer, turn, articles)  # one card per article
    groups = [(outlet, nums) for outlet, nums in answer.groups if nums]
    banner = '<div class="disagree">⚠ The outlets disagree — compare the sources side by side · 各媒体说法不一</div>' if answer.disagreement else ""
    head = f'<div class="answer" data-mode="{esc(answer.mode)}">{banner}{_notice(answer.notice)}'
    if len(groups) >= 2:
        owner = {n: outlet for outlet, nums in groups for n in nums}
        lines = _answer_lines(answer.text, turn, known)
        intro = "".join(f"<p>{h}</p>" for h, ns in lines if not ns or owner.get(ns[0]) is None)
        cols = []
        for outlet, nums in groups:
            col_lines = "".join(f"<p>{h}</p>" for h, ns in lines if ns and owner.get(ns[0]) == outlet)
            col_cards = "".join(cards.pop(article_of[n]) for n in nums if article_of.get(n) in cards)
            cols.append(f'<div class="outlet-col"><h4>{esc(outlet_label(outlet, UNKNOWN_OUTLET_UI))}</h4><div class="answer-text">{col_lines}</div>{col_cards}</div>')
        rest = "".join(cards.values())
        return head + f'<div class="answer-text">{intro}</div><div class="outlet-cols">{"".join(cols)}</div>{rest}</div>'
    body = "".join(f"<p>{h}</p>" for h, _ in _answer_lines(answer.text, turn, known))
    return head + f'<div class="answer-text">{body}</div><div class="cards">{"".join(cards.values())}</div></div>'


def _notice(notice: str) -> str:
    return f'<div class="notice">{esc(notice)}</div>' if notice else ""


def render_streaming(text: str, status: str = "") -> str:
    """The answer while it is still being written (no cards yet)."""
    caret = '<span class="caret">▍</span>'
    st = f'<div class="status-line">{esc(status)}</div>' if status else ""
    return f'<div class="answer streaming">{st}<div class="answer-text"><p>{esc(text).replace(chr(10), "<br>")}{caret}</p></div></div>'


def render_error(message: str) -> str:
    return f'<div class="answer error" role="alert"><div class="badge">Request failed · 出错了</div><div class="answer-text">{esc(message)}</div></div>'


def render_turn(question: str, answer_html: str) -> str:
    return f'<div class="turn"><div class="user-msg">{esc(question)}</div>{answer_html}</div>'


def render_chat(turn_htmls: Sequence[str], examples_hint: bool = True) -> str:
    if not turn_htmls:
        hint = '<p class="muted">Ask about the news in the archive, in Chinese or English — or click an example below.</p>' if examples_hint else ""
        return f'<div class="chat empty"><p class="welcome">newsrag · 新闻问答</p>{hint}</div>'
    return '<div class="chat">' + "".join(turn_htmls) + "</div>"


def earliest_ids(matches: Sequence[Mapping[str, Any]]) -> set[int]:
    """Indexes of the matches with the earliest publication date, when more than one outlet carries the quote."""
    if any("earliest" in m for m in matches):
        return {i for i, m in enumerate(matches) if m.get("earliest")}
    dated = [(m.get("published"), i) for i, m in enumerate(matches) if m.get("published")]
    if len({m.get("outlet") for m in matches}) < 2 or not dated:
        return set()
    first = min(d for d, _ in dated)
    return {i for d, i in dated if d == first}


def render_lookup(query: str, matches: Sequence[Mapping[str, Any]], articles: Mapping[str, Article] | None = None) -> str:
    """Lookup results: one card per match with its match type, outlet, date and the passage marked."""
    articles = articles or {}
    if not matches:
        return f'<div class="lookup empty">No article in the archive carries “{esc(query)}”. · 语料库中没有找到这段话。</div>'
    first = earliest_ids(matches)
    cards = []
    for i, m in enumerate(matches):
        kind = str(m.get("match", "?"))
        badge = f'<span class="match match-{esc(kind)}">{esc(kind)}</span>'
        score = m.get("score")
        if isinstance(score, (int, float)):
            badge += f'<span class="score">score {score:.2f}</span>'
        if i in first:
            badge += '<span class="earliest">earliest publication · 最早发布</span>'
        art = articles.get(m.get("article_id", ""))
        ok = quote_in_article(m, art)
        passage = m.get("passage") or ""
        cards.append(
            f'<div class="cite-card lookup-card{" is-earliest" if i in first else ""}" id="lk-{i + 1}">'
            f'<div class="card-head"><span class="num">{i + 1}</span>{_meta_line(m.get("outlet", ""), m.get("published"), m.get("title", ""), m.get("url", ""), badge)}</div>'
            f'{_passage_block(passage, m.get("start", 0), m.get("end", 0), art, ok)}'
            f'<div class="card-foot">{esc(m.get("source_path", ""))} · chars {esc(m.get("start"))}–{esc(m.get("end"))}</div></div>'
        )
    return f'<div class="lookup"><div class="muted">{len(matches)} match(es) for “{esc(query)}”</div>{"".join(cards)}</div>'


def render_article(article: Article, republished_in: Sequence[Article] = ()) -> str:
    """Clean text and metadata of one article, all escaped."""
    link = safe_url(article.url)
    rows = [
        ("Outlet", outlet_label(article, UNKNOWN_OUTLET_UI)),
        ("Published", f"{article.published or 'unknown'}" + (f" (from {article.date_source})" if article.date_source else "")),
        ("Byline", article.byline),
        ("Originally from", article.original_source),
        ("Format", article.format),
        ("File", article.source_path),
        ("Article id", article.article_id),
        ("Republication of", article.duplicate_of or ""),
        ("Also in", ", ".join(f"{outlet_label(a, UNKNOWN_OUTLET_UI)} ({a.source_path})" for a in republished_in)),
    ]
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows if v)
    if link:
        meta += f'<tr><th>URL</th><td><a href="{esc(link)}" target="_blank" rel="noopener noreferrer nofollow">{esc(link)}</a></td></tr>'
    elif article.url:
        meta += f"<tr><th>URL</th><td>{esc(article.url)}</td></tr>"
    return (
        f'<div class="article-view"><h3>{esc(article.title or "(untitled)")}</h3><table class="meta">{meta}</table>'
        f'<div class="article-length muted">{len(article.text):,} characters of clean text{" · scroll the box to read on" if len(article.text) > PREVIEW_HINT_CHARS else ""}</div>'
        f'<div class="article-text" tabindex="0">{_paragraphs(article.text)}</div></div>'
    )


def render_progress(label: str, done: int, total: int, suffix: str = "") -> str:
    """A bar with "label done/total (pct)" and an optional suffix (the ETA); the CLI's tqdm shows the same counts."""
    pct = 100.0 * done / total if total else 0.0
    return (
        f'<div class="progress" role="progressbar" aria-valuenow="{pct:.0f}" aria-valuemin="0" aria-valuemax="100">'
        f'<div class="bar" style="width:{pct:.1f}%"></div><span>{esc(label)} {done}/{total} ({pct:.0f}%){esc(suffix)}</span></div>'
    )
