"""The web app in a real browser: Debian's chromium, headless, driven by Playwright.

Starts `newsrag serve` over a private copy of the bundled corpus plus a hostile article whose
clean text contains `<script>window.__pwned=1</script>` and `<img src=x onerror=...>`, on a free
127.0.0.1 port with a lexical-only index. Screenshots go to test-artifacts/ (set
NEWSRAG_DOCS_SCREENSHOT=1 to also refresh docs/screenshot-chat.png).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.ui_server import ROOT, UIServer, make_corpus

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT = 60_000  # ms; generous for a loaded CI machine

# Records, from before the app's own scripts run, whether a streaming answer was ever on the page.
RECORD_STREAMING = """
window.__sawStreaming = false;
new MutationObserver(function () {
  if (document.querySelector('#chat .answer.streaming')) window.__sawStreaming = true;
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    corpus = make_corpus(tmp / "corpus")
    with UIServer(corpus, tmp / "index") as srv:
        print(f"\nnewsrag serve (no index -> lexical build -> serving) took {srv.ready_seconds:.1f} s")
        yield srv


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found; install Debian's chromium (apt-get install chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # e.g. missing shared libraries in a minimal container
            pytest.skip(f"cannot launch {CHROMIUM}: {exc}")
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.add_init_script(RECORD_STREAMING)
    pg.goto(server.url)
    pg.wait_for_selector("#question textarea")
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    assert pg.evaluate("typeof window.__pwned") == "undefined", "a script from the corpus ran"
    ctx.close()


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(pg, question: str) -> None:
    n = pg.locator("#chat .turn").count()
    pg.fill("#question textarea", question)
    pg.click("#ask-btn")
    pg.wait_for_function(f"document.querySelectorAll('#chat .turn').length > {n} && !document.querySelector('#chat .answer.streaming')")


def last_answer(pg):
    return pg.locator("#chat .turn").last


def choose_outlet(pg, outlet: str) -> None:
    pg.click("#outlets input")
    pg.keyboard.type(outlet)
    pg.locator("ul[role=listbox] li", has_text=outlet).first.click()
    pg.keyboard.press("Escape")


def open_tab(pg, name: str) -> None:
    pg.get_by_role("tab", name=name).click()


def test_streamed_answer_with_citation_and_marker_opens_passage(page):
    ask(page, "哈萨克斯坦抗议中有多少人被捕？")
    turn = last_answer(page)
    assert page.evaluate("window.__sawStreaming"), "the answer never appeared in a streaming state"
    assert turn.locator(".cite-card").count() >= 1
    text = turn.locator(".answer-text").first.inner_text()
    assert re.search(r"\[1\]", text) and "人" in text
    marker = turn.locator("a.cite-mark").first
    target = marker.get_attribute("data-target")
    marker.click()
    card = page.locator(f'[id="{target}"]')
    page.wait_for_selector(f'[id="{target}"].active')
    mark = card.locator("mark.quote").first
    assert mark.is_visible() and mark.inner_text().strip()
    assert card.locator(".outlet").inner_text().strip()
    page.wait_for_function(
        f"""(() => {{ const r = document.getElementById('{target}').getBoundingClientRect();
             return r.top >= 0 && r.top < window.innerHeight; }})()"""
    )
    page.screenshot(path=str(ARTIFACTS / "chat-citation-clicked.png"))
    if os.environ.get("NEWSRAG_DOCS_SCREENSHOT"):
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ROOT / "docs" / "screenshot-chat.png"), full_page=True)


def test_outlet_filter_limits_citations_to_that_outlet(page):
    choose_outlet(page, "观察者网")
    ask(page, "托卡耶夫说了什么？")
    turn = last_answer(page)
    outlets = [t.strip() for t in turn.locator(".cite-card .outlet").all_inner_texts()]
    assert outlets, "no citations under the filter"
    assert set(outlets) == {"观察者网"}, outlets
    shot(page, "chat-outlet-filter")


def test_follow_up_and_bad_questions_keep_the_session_working(page):
    ask(page, "")
    assert "type a question" in last_answer(page).locator(".answer.error").inner_text().lower()
    ask(page, "哈" * 3000)
    assert "3000 characters" in last_answer(page).inner_text()
    ask(page, "集安组织派了多少兵？")
    assert last_answer(page).locator(".cite-card").count() >= 1
    ask(page, "他们会待多久？")  # an elliptical follow-up: answered from the conversation
    follow = last_answer(page)
    assert follow.locator(".answer.error").count() == 0
    ask(page, "如何烤制法式长棍面包？")
    assert last_answer(page).locator(".answer.refused").count() == 1
    shot(page, "chat-follow-up-refusal")


def test_hostile_article_is_shown_as_text(page):
    ask(page, "斑马线测试事件有多少志愿者参加？")
    turn = last_answer(page)
    card_text = " ".join(turn.locator(".cite-card").all_inner_texts())
    assert "<script>window.__pwned=1</script>" in card_text or '<img src=x onerror="window.__pwned=1">' in card_text, card_text[:500]
    for det in turn.locator("details.more").all():
        det.locator("summary").click()
    open_tab(page, "Corpus")
    page.fill("#corpus-filter textarea, #corpus-filter input", "斑马线")
    page.keyboard.press("Enter")
    cell = page.locator("#articles .virtual-row .body-cell", has_text="斑马线测试事件").first
    cell.click()
    view = page.locator("#article-view")
    page.wait_for_function("document.querySelector('#article-view').innerText.includes('42名志愿者')")
    assert "<script>window.__pwned=1</script>" in view.inner_text()
    assert page.locator("#article-view script, #article-view img, #chat img").count() == 0
    page.wait_for_timeout(500)  # give any injected handler a chance to fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    shot(page, "hostile-article-as-text")


def test_corpus_tab_shows_counts_timeline_and_article(page):
    open_tab(page, "Corpus")
    page.wait_for_selector("#corpus-stats table.stats")
    assert "GNews" in page.locator("#corpus-stats").inner_text()
    row = page.locator("#articles .virtual-row").first  # gradio 6 renders rows as divs (virtual list)
    row.wait_for()
    row.locator(".body-cell").nth(2).click()
    page.wait_for_selector("#article-view .article-view table.meta")
    shot(page, "corpus-tab")


def test_citation_lookup(page):
    pytest.importorskip("rag.lookup", reason="rag.lookup (citation lookup) has not landed yet")
    open_tab(page, "Citation lookup")
    page.fill("#lookup-q textarea", "哈萨克斯坦当局表示，已有 10000 人因抗议活动被捕")
    page.click("#lookup-btn")
    page.wait_for_selector("#lookup-out .cite-card")
    card = page.locator("#lookup-out .cite-card").first
    assert card.locator(".match").inner_text().strip() in ("exact", "fuzzy", "semantic")
    assert card.locator("mark.quote").first.inner_text().strip()
    assert card.locator(".outlet").inner_text().strip()
    shot(page, "lookup")


def test_upload_adds_an_article_and_reports_bad_files(page, tmp_path):
    good = tmp_path / "新上传的报道.md"
    good.write_text("# 独角兽实验室开放日\n\n独角兽实验室开放日于2022年1月20日在阿斯塔纳举行，共有300名市民参观。\n", encoding="utf-8")
    gbk = tmp_path / "gbk-report.txt"
    gbk.write_bytes("青蛙合唱团巡演\n\n青蛙合唱团巡演在阿拉木图举行，观众超过两千人。\n".encode("gbk"))
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x00\x00")
    open_tab(page, "Index")
    before = int(re.search(r"(\d+) articles", page.locator("#status-bar").inner_text()).group(1))
    page.locator("#upload-files input[type=file]").set_input_files([str(good), str(gbk), str(binary), str(exe)])
    page.wait_for_timeout(500)
    page.click("#upload-btn")
    page.wait_for_selector("#upload-report .upload-report")
    report = page.locator("#upload-report .upload-report")
    assert report.get_attribute("data-added") == "2", report.inner_text()
    text = report.inner_text()
    assert "photo.txt" in text and "binary" in text
    assert "tool.exe" in text and ".exe is not accepted" in text
    page.wait_for_function(f"document.querySelector('#status-bar').innerText.includes('{before + 2} articles')")
    shot(page, "upload-indexed")
    open_tab(page, "Chat")
    ask(page, "独角兽实验室开放日有多少市民参观？")
    assert "独角兽实验室开放日" in " ".join(last_answer(page).locator(".cite-card .card-title").all_inner_texts())


# -- layout: measured in the DOM, not eyeballed ----------------------------------------------

# For every citation card head under `root`: how many visual lines its text occupies (text
# fragments clustered by vertical position), its height, and its line height.
CARD_HEAD_LINES = """(root) => Array.from(document.querySelectorAll(root + ' .cite-card .card-head')).map(h => {
  const tops = [];
  const walk = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
  for (let t = walk.nextNode(); t; t = walk.nextNode()) {
    if (!t.textContent.trim()) continue;
    const r = document.createRange(); r.selectNodeContents(t);
    for (const rect of r.getClientRects()) if (rect.width > 0) tops.push(rect.top + rect.height / 2);
  }
  tops.sort((a, b) => a - b);
  let lines = tops.length ? 1 : 0;
  for (let i = 1; i < tops.length; i++) if (tops[i] - tops[i - 1] > 6) lines++;
  const cs = getComputedStyle(h);
  const lh = cs.lineHeight === 'normal' ? 1.5 * parseFloat(cs.fontSize) : parseFloat(cs.lineHeight);
  return {n: h.parentElement.dataset.n || h.parentElement.id, lines: lines, height: h.getBoundingClientRect().height, lh: lh,
          text: h.innerText.replace(/\\n/g, ' | ')};
})"""

PAGE_HEIGHT = "Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
MAX_PAGE_PX = 4000


def assert_card_heads_on_one_line(pg, root: str, viewport: str) -> int:
    heads = pg.evaluate(CARD_HEAD_LINES, root)
    assert heads, f"no card heads under {root}"
    bad = [h for h in heads if h["lines"] != 1 or h["height"] > 1.6 * h["lh"]]
    assert not bad, f"card heads wrap at {viewport}: {bad}"
    return len(heads)


def four_outlet_answer(index_dir: Path):
    """A comparison answer citing one real passage from each of four outlets of the bundled corpus."""
    from rag.index.store import load_index
    from rag.types import Answer, Citation

    articles = load_index(index_dir, verify=False).articles
    wanted = ["GNews", "观察者网", "半岛电视台", "看中国"]
    picked = []
    for outlet in wanted:  # the article with the longest title: the worst case for the card head
        arts = [a for a in articles.values() if a.outlet == outlet and a.published and not a.duplicate_of]
        picked.append(max(arts, key=lambda a: (len(a.title), a.article_id)))
    cites, lines = [], []
    for n, a in enumerate(picked, 1):
        start = max(a.text.find("。", 40) + 1, 0)
        end = a.text.find("。", start) + 1 or min(len(a.text), start + 60)
        cites.append(Citation(n, a.article_id, a.outlet, a.title, a.published, a.url, a.source_path, a.text[start:end], start, end))
        lines.append(f"据{a.outlet}（{a.published}）报道，{a.text[start:end].strip()}[{n}]")
    answer = Answer(
        question="四家媒体怎么说？", text="各媒体的说法：\n" + "\n".join(lines), refused=False, mode="extractive",
        citations=tuple(cites), groups=tuple((c.outlet, (c.n,)) for c in cites), disagreement=True,
    )
    return answer, {a.article_id: a for a in picked}


def test_four_outlet_comparison_card_heads_stay_on_one_line(page, server):
    from rag.ui import render

    # Through the app first: a question naming four outlets (the answerer decides how many it cites).
    ask(page, "GNews、观察者网、半岛电视台和看中国怎么说托卡耶夫所说的政变？")
    assert last_answer(page).locator(".cite-card").count() >= 1
    assert_card_heads_on_one_line(page, "#chat", "1360 px, asked")
    # Then a four-outlet comparison from the app's own renderer, shown in the live page (real CSS).
    answer, arts = four_outlet_answer(server.index_dir)
    html = render.render_chat([render.render_turn(answer.question, render.render_answer(answer, "t9", arts))])
    page.evaluate("(html) => { document.querySelector('#chat .chat').outerHTML = html; }", html)
    assert page.locator("#chat .outlet-col").count() == 4
    for width in (1360, 1280, 1024):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(200)
        assert assert_card_heads_on_one_line(page, "#chat", f"{width} px") == 4
        titles = page.evaluate("Array.from(document.querySelectorAll('#chat .outlet-col .card-title')).map(t => t.getAttribute('title'))")
        assert all(titles), "an ellipsized title must keep its full text in a tooltip"
        page.locator("#chat .outlet-cols").screenshot(path=str(ARTIFACTS / f"chat-four-outlets-{width}.png"))


def test_corpus_tab_longest_article_keeps_the_page_bounded(page, server):
    from rag.index.store import load_index

    longest = max(load_index(server.index_dir, verify=False).articles.values(), key=lambda a: len(a.text))
    assert len(longest.text) > 50_000
    open_tab(page, "Corpus")
    page.wait_for_selector("#corpus-stats table.stats")
    page.fill("#corpus-filter textarea, #corpus-filter input", longest.source_path)
    page.keyboard.press("Enter")
    page.locator("#articles .virtual-row .body-cell", has_text=longest.article_id).first.click()
    page.wait_for_selector("#article-view .article-view .article-text")
    tail = longest.text.strip()[-12:]
    box = page.locator("#article-view .article-text")
    assert tail in box.inner_text(), "the whole clean text stays readable (scroll the box)"
    height = page.evaluate(PAGE_HEIGHT)
    shot(page, "corpus-longest-article")
    assert height < MAX_PAGE_PX, f"the page grew to {height} px with a {len(longest.text)}-character article open"
    sizes = box.evaluate("b => [b.scrollHeight, b.clientHeight]")
    assert sizes[0] > sizes[1], "the article text should scroll inside its box"
    assert page.locator("#article-view .article-length").inner_text().strip()
    meta_borders = page.evaluate("Array.from(document.querySelectorAll('#article-view table.meta, #article-view table.meta th, #article-view table.meta td')).map(c => getComputedStyle(c).borderBottomWidth)")
    assert meta_borders and set(meta_borders) == {"0px"}, f"the article's metadata table has a grid: {meta_borders}"


# A probe element resolves the theme's border colour the same way the cards do.
THEME_BORDER = """() => { const p = document.createElement('div');
  p.style.border = '1px solid var(--border-color-primary)'; document.body.appendChild(p);
  const c = getComputedStyle(p).borderTopColor; p.remove(); return c; }"""
CELL_BORDERS = """(sel) => { const t = document.querySelector(sel), ts = getComputedStyle(t);
  return {table: [ts.borderTopWidth, ts.borderTopColor, ts.borderTopLeftRadius],
          cells: Array.from(t.querySelectorAll('th, td')).map(c => { const s = getComputedStyle(c);
            return [s.borderTopWidth, s.borderLeftWidth, s.borderRightWidth, s.borderBottomWidth, s.borderBottomColor]; })}; }"""


def px(value: str) -> float:
    return float(value.removesuffix("px") or 0)


def test_index_facts_table_uses_the_theme_borders(page):
    open_tab(page, "Index")
    page.wait_for_selector("#index-facts th")
    theme = page.evaluate(THEME_BORDER)
    for sel in ("#index-facts", "#corpus-stats table.stats"):
        if sel.startswith("#corpus"):
            open_tab(page, "Corpus")
            page.wait_for_selector(sel)
        got = page.evaluate(CELL_BORDERS, sel)
        width, color, radius = got["table"]
        assert px(width) == 1 and color == theme and px(radius) > 0, f"{sel}: table border {width} {color} radius {radius}, theme {theme}"
        assert got["cells"]
        for top, left, right, bottom, bottom_color in got["cells"]:
            assert px(top) == px(left) == px(right) == 0, f"{sel}: a cell grid ({top} {left} {right}); only row rules are wanted"
            assert px(bottom) == 0 or (px(bottom) == 1 and bottom_color == theme), f"{sel}: row rule {bottom} {bottom_color}, theme {theme}"
        if sel == "#index-facts":
            page.locator("#index-status").screenshot(path=str(ARTIFACTS / "index-facts.png"))
