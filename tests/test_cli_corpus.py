"""`corpus list` columns line up by terminal display width, and an outlet has one label everywhere."""

from __future__ import annotations

import io
import unicodedata
from contextlib import redirect_stdout
from types import SimpleNamespace

from rag.cli import corpus as cli_corpus
from rag.types import Article, Citation, outlet_label


def width(s: str) -> int:
    """Display columns, computed independently of the code under test."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def art(i: int, title: str, outlet: str = "", original: str = "", fmt: str = "A", published: str | None = "2022-01-10", dup: str | None = None) -> Article:
    return Article(f"{i:016x}", title, outlet, "正文。", f"f{i}.md", fmt, original_source=original, published=published, duplicate_of=dup)


ROWS = [
    art(1, "Short ASCII title", "GNews"),
    art(2, "一个很长很长的中文标题，远远超过四十个显示列的宽度，应该被截断并加上省略号才对", "半岛电视台"),
    art(3, "Mixed 中英 title with ＦＵＬＬＷＩＤＴＨ and émoji 😀 here to overflow", "看中国", "美国之音", "markdown"),
    art(4, "Cafe\u0301 combining", "", published=None, dup="0000000000000001"),
    art(5, "中", "A very long outlet name beyond its column", "某个很长的原始来源名称"),
]


def listing(articles) -> str:
    report = SimpleNamespace(articles=articles)
    summary = {"articles": len(articles), "unique_articles": len(articles), "duplicates": 0, "root": "c", "per_format": {},
               "missing_date_share": 0.0, "missing_url_share": 0.0, "skipped": [], "per_outlet": {}}
    out = io.StringIO()
    with redirect_stdout(out):
        cli_corpus._print_list(report, summary, as_json=False)
    return out.getvalue()


def test_columns_line_up_by_display_width():
    lines = listing(ROWS).splitlines()[: len(ROWS) + 1]
    assert len(lines) == len(ROWS) + 1
    # every column boundary (two spaces, then the next cell) sits at the same display column in every row
    cells = [cli_corpus.list_cells(a) for a in ROWS]
    starts = []
    for line in lines:
        head = line.split(" | ", 1)[0]
        assert width(head) == width(lines[0].split(" | ", 1)[0]), f"row is {width(head)} columns wide, header {width(lines[0].split(' | ', 1)[0])}: {line!r}"
        starts.append(width(line[: line.index(" | ")]))
    assert len(set(starts)) == 1, starts
    for a, line in zip(ROWS, lines[1:]):
        col = 0
        for (name, w), cell in zip(cli_corpus._COLUMNS, cli_corpus.list_cells(a)):
            prefix_cols, i = 0, 0
            while prefix_cols < col:  # walk to display column `col`
                prefix_cols += width(line[i])
                i += 1
            assert prefix_cols == col, f"{name} of {a.article_id} does not start at column {col}: {line!r}"
            shown = cli_corpus.clip(cell, w)
            assert line[i:].startswith(shown), (name, shown, line[i:])
            assert width(shown) <= w
            col += w + 2
    assert cells[1][6] not in lines[2] and "…" in lines[2], "a long title is cut by width, with an ellipsis"


def test_clip_and_pad_count_wide_characters_twice():
    assert cli_corpus.display_width("看中国ab") == 8
    assert cli_corpus.clip("看中国看中国", 7) == "看中国…" and width(cli_corpus.clip("看中国看中国", 7)) == 7
    assert cli_corpus.clip("abcdefgh", 5) == "abcd…"
    assert width(cli_corpus.pad("看中国", 12)) == 12


def test_one_outlet_label_in_list_summary_and_answers():
    from rag.types import UNKNOWN_OUTLET_UI
    from rag.ui import render

    out = listing(ROWS)
    row3 = next(ln for ln in out.splitlines() if ln.startswith(ROWS[2].article_id))
    assert "看中国（美国之音）" not in out, "the republished-from source is its own column, not part of the label"
    assert "看中国" in row3 and "美国之音" in row3
    per_outlet = next(ln for ln in out.splitlines() if ln.startswith("per outlet: "))
    assert "看中国 1" in per_outlet and "(unknown) 1" in per_outlet, per_outlet
    row4 = next(ln for ln in out.splitlines() if ln.startswith(ROWS[3].article_id))
    assert row4.split()[3] == "(unknown)", "no known outlet: the same label as in the web app"
    assert outlet_label(ROWS[3]) == "(unknown)" and outlet_label(ROWS[2]) == "看中国"
    cite = Citation(1, ROWS[3].article_id, "", "t", None, "", "f4.md", "正文。", 0, 3)
    assert outlet_label(cite) == "(unknown)" and outlet_label("  ") == "(unknown)"
    assert '<span class="outlet">(unknown)</span>' in render._meta_line(cite.outlet, None, "t", "")
    assert f"<td>{UNKNOWN_OUTLET_UI}</td>" in render.render_article(ROWS[3])
    assert "<td>看中国</td>" in render.render_article(ROWS[2])


def test_cli_printers_use_the_label():
    from rag.cli.answer import print_answer
    from rag.types import Answer

    cite = Citation(1, "a", "", "标题", None, "", "f.md", "正文。", 0, 3)
    out = io.StringIO()
    with redirect_stdout(out):
        print_answer(Answer("问？", "正文。[1]", False, "extractive", (cite,)))
    assert "[1] (unknown) · 标题 · 日期不详" in out.getvalue()
