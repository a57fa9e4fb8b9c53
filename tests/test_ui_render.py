"""Pure HTML rendering of answers, lookups and articles: escaping, highlighting, markers, layout."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from rag.types import Answer, Article, Citation
from rag.ui import render

HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">托卡耶夫讲话'
HOSTILE_TEXT = (
    "哈萨克斯坦总统发表讲话。<script>window.__pwned=1</script>当局已逮捕近8000人。"
    '<img src=x onerror="window.__pwned=1">\n\n第二段：集安组织部队开始撤离。'
)
QUOTE = "当局已逮捕近8000人。"


class _Tags(HTMLParser):
    """Every start tag and attribute that a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html_text)
    return p.tags


def assert_no_live_markup(html_text: str) -> None:
    for tag, attrs in tags_of(html_text):
        assert tag not in ("script", "img", "iframe", "object", "embed", "svg"), tag
        assert not any(a.startswith("on") for a in attrs), (tag, attrs)
        for a in ("href", "src"):
            v = (attrs.get(a) or "").strip().lower()
            assert not v.startswith(("javascript:", "data:", "vbscript:")), v


def article(text: str = HOSTILE_TEXT, title: str = HOSTILE_TITLE, outlet: str = "半岛电视台", url: str = "https://example.org/a/1", aid: str = "a1") -> Article:
    return Article(article_id=aid, title=title, outlet=outlet, text=text, source_path=f"x/{aid}.md", format="markdown", published="2022-01-10", url=url)


def citation(n: int, art: Article, quote: str = QUOTE) -> Citation:
    start = art.text.index(quote)
    return Citation(n, art.article_id, art.outlet, art.title, art.published, art.url, art.source_path, quote, start, start + len(quote))


def test_hostile_article_text_and_title_are_escaped_in_a_card():
    art = article()
    ans = Answer("逮捕了多少人？", f"据半岛电视台报道，{QUOTE}[1]", False, "extractive", (citation(1, art),), groups=(("半岛电视台", (1,)),))
    out = render.render_answer(ans, "t0", {art.article_id: art})
    assert_no_live_markup(out)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in out
    assert "<script" not in out and "<img" not in out


def test_quoted_sentence_is_marked_with_its_context():
    art = article()
    out = render.render_citation_card(citation(1, art), "t0-c1", art)
    marks = re.findall(r'<mark class="quote">(.*?)</mark>', out)
    assert marks and marks[0] == QUOTE
    assert "哈萨克斯坦总统发表讲话。" in out  # the sentence before the quote is shown around it
    assert 'id="t0-c1"' in out and "2022-01-10" in out and "半岛电视台" in out
    assert 'href="https://example.org/a/1"' in out and 'rel="noopener noreferrer nofollow"' in out


def test_long_article_context_is_expandable():
    filler = "这是一句很长的背景介绍，用来把引文推到文章中间。" * 40
    art = article(text=filler + QUOTE + filler)
    out = render.render_citation_card(citation(1, art), "t0-c1", art)
    assert '<details class="more">' in out
    visible, hidden = out.split('<details class="more">')
    assert len(visible) < len(hidden)  # the card shows a window; the details hold the surrounding text
    assert hidden.count('<mark class="quote">') == 1


def test_markers_link_to_cards_and_unknown_markers_stay_text():
    out = render.link_markers("甲[1]。乙[2]。丙[9]<b>", "t3", [1, 2])
    assert '<a class="cite-mark" href="#t3-c1" data-target="t3-c1"' in out
    assert 'data-target="t3-c2"' in out
    assert "[9]" in out and 't3-c9' not in out
    assert "&lt;b&gt;" in out


def test_every_marker_in_an_answer_has_a_card_with_its_anchor():
    a1, a2 = article(aid="a1"), article(aid="a2", text="另一篇文章说当局已逮捕近8000人。", title="另一篇")
    ans = Answer("q", f"据半岛电视台报道，{QUOTE}[1]\n另据报道，{QUOTE}[2]", False, "extractive", (citation(1, a1), citation(2, a2, QUOTE)))
    out = render.render_answer(ans, "t1", {"a1": a1, "a2": a2})
    targets = re.findall(r'data-target="([^"]+)"', out)
    assert targets == ["t1-c1", "t1-c2"]
    for t in targets:
        assert f'id="{t}"' in out


def test_comparison_answer_puts_outlets_side_by_side():
    a1 = article(aid="a1", outlet="半岛电视台")
    a2 = article(aid="a2", outlet="GNews", text="据新华社报道，约5800人被捕。", title="GNews 报道")
    c2 = citation(2, a2, "据新华社报道，约5800人被捕。")
    text = f"各媒体说法不一：\n据半岛电视台报道，{QUOTE}[1]\n据GNews报道，据新华社报道，约5800人被捕。[2]"
    ans = Answer("各媒体怎么说？", text, False, "extractive", (citation(1, a1), c2), groups=(("半岛电视台", (1,)), ("GNews", (2,))), disagreement=True)
    out = render.render_answer(ans, "t0", {"a1": a1, "a2": a2})
    assert '<div class="outlet-cols">' in out
    cols = out.split('<div class="outlet-col">')[1:]
    assert len(cols) == 2
    assert "<h4>半岛电视台</h4>" in cols[0] and 'id="t0-c1"' in cols[0] and 'id="t0-c2"' not in cols[0]
    assert "<h4>GNews</h4>" in cols[1] and 'id="t0-c2"' in cols[1]
    assert 'class="disagree"' in out
    assert "各媒体说法不一" in out.split('<div class="outlet-cols">')[0]  # the intro stays above the columns


def test_refused_answer_looks_different_and_has_no_cards():
    ans = Answer("火星新闻？", "语料库中没有找到能回答这个问题的内容。", True, "extractive")
    out = render.render_answer(ans, "t0", {})
    assert 'class="answer refused"' in out and 'data-refused="1"' in out
    assert "cite-card" not in out and "cite-mark" not in out


def test_notice_and_error_are_escaped():
    ans = Answer("q", "答[1]", False, "llm", (citation(1, article()),), notice="LLM <b>down</b>, fell back")
    out = render.render_answer(ans, "t0", {})
    assert "LLM &lt;b&gt;down&lt;/b&gt;" in out
    assert "&lt;script&gt;" in render.render_error("<script>x</script>")


def test_card_without_the_article_still_shows_the_quote():
    art = article()
    out = render.render_citation_card(citation(1, art), "t0-c1", None)
    assert f'<mark class="quote">{QUOTE}</mark>' in out
    assert_no_live_markup(out)


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>", "//evil", "ftp://x/y", ""])
def test_only_http_links_become_anchors(url):
    art = article(url=url)
    out = render.render_citation_card(citation(1, art), "t0-c1", art)
    assert_no_live_markup(out)
    assert 'class="orig"' not in out
    assert render.safe_url(url) is None


def test_user_question_is_escaped_in_the_transcript():
    out = render.render_chat([render.render_turn('<img src=x onerror="alert(1)">', render.render_error("x"))])
    assert_no_live_markup(out)


def test_lookup_marks_type_passage_and_earliest_publication():
    a1 = article(aid="a1", outlet="半岛电视台")
    a2 = Article("a2", "转载", "GNews", "转载：" + QUOTE, "x/a2.md", "A", published="2022-01-12")
    s1, s2 = a1.text.index(QUOTE), a2.text.index(QUOTE)
    matches = [
        {"article_id": "a2", "outlet": "GNews", "title": "转载", "published": "2022-01-12", "url": "", "source_path": "x/a2.md", "passage": QUOTE, "start": s2, "end": s2 + len(QUOTE), "match": "exact", "score": 1.0},
        {"article_id": "a1", "outlet": "半岛电视台", "title": HOSTILE_TITLE, "published": "2022-01-10", "url": "javascript:x", "source_path": "x/a1.md", "passage": QUOTE, "start": s1, "end": s1 + len(QUOTE), "match": "fuzzy", "score": 0.93},
    ]
    out = render.render_lookup(QUOTE, matches, {"a1": a1, "a2": a2})
    assert_no_live_markup(out)
    cards = out.split('<div class="cite-card')[1:]
    assert "match-exact" in cards[0] and "earliest" not in cards[0]
    assert "match-fuzzy" in cards[1] and "earliest publication" in cards[1]  # 2022-01-10 is the first
    assert all(f'<mark class="quote">{QUOTE}</mark>' in c for c in cards)
    assert render.earliest_ids([{"outlet": "A", "published": "2022-01-01", "earliest": False}, {"outlet": "B", "earliest": True}]) == {1}


def test_lookup_without_matches_says_so():
    out = render.render_lookup("<b>不存在</b>", [])
    assert "&lt;b&gt;" in out and "没有找到" in out


def test_article_view_escapes_text_and_metadata():
    art = article(url="javascript:alert(1)")
    out = render.render_article(art)
    assert_no_live_markup(out)
    assert out.count("<p>") == 2  # two paragraphs
    assert "javascript:alert(1)" in out  # shown as text, not a link


def test_streaming_and_progress_are_escaped():
    assert_no_live_markup(render.render_streaming("<img src=x onerror=alert(1)>", "<b>"))
    out = render.render_progress("embedding <x>", 5, 10)
    assert "50%" in out and "&lt;x&gt;" in out


def test_two_quotes_of_one_article_share_one_card():
    a = article(aid="a1", outlet="半岛电视台")
    s = a.text.index(QUOTE)
    c1 = Citation(1, "a1", "半岛电视台", a.title, a.published, "", a.source_path, QUOTE, s, s + len(QUOTE))
    c2 = Citation(2, "a1", "半岛电视台", a.title, a.published, "", a.source_path, QUOTE[:4], s, s + 4)
    out = render.render_answer(Answer("q", "甲[1]。乙[2]。", False, "extractive", (c1, c2)), "t0", {"a1": a})
    assert out.count('class="cite-card"') == 1 and 'id="t0-c1"' in out and 'id="t0-c2"' in out
    assert out.count('class="card-head"') == 1 and 'href="#t0-c2"' in out and out.count('class="cite-quote"') == 2
