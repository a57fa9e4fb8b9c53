"""Sentence-aware chunking: spans are exact, sentences are never cut unless too long."""

from __future__ import annotations

import random

import pytest

from rag.chunk import ChunkSettings, chunk_article, chunk_text, split_sentences
from rag.types import Article

TERMINATORS = "。！？；…!?;"


def _article(text: str) -> Article:
    return Article(article_id="t", title="t", outlet="", text=text, source_path="t.md", format="text")


def test_sentences_keep_closing_quotes_and_brackets():
    text = "他说：“我们会留下。”随后离开了（据新华社）。真的吗？！当然……好"
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["他说：“我们会留下。”", "随后离开了（据新华社）。", "真的吗？！", "当然……", "好"]


def test_line_breaks_end_sentences_and_whitespace_is_trimmed():
    text = "  第一行没有句号\n\n  第二段。 "
    assert [text[s:e] for s, e in split_sentences(text)] == ["第一行没有句号", "第二段。"]


def _random_text(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 8)):
        sentences = []
        for _ in range(rng.randint(1, 12)):
            body = "".join(rng.choice("哈萨克斯坦总统托卡耶夫表示局势稳定，据报道逮捕近8000人") for _ in range(rng.randint(5, 120)))
            sentences.append(body + rng.choice(["。", "！", "？", "；", "。”", "……"]))
        paragraphs.append("".join(sentences))
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("seed", range(30))
def test_chunks_are_exact_spans_of_whole_sentences(seed):
    rng = random.Random(seed)
    text = _random_text(rng)
    settings = ChunkSettings(150, 350)
    art = _article(text)
    chunks = chunk_article(art, settings)
    assert chunks, "non-empty text gives at least one chunk"
    sentence_ends = {e for _, e in split_sentences(text)}
    for c in chunks:
        assert art.text[c.start : c.end] == c.text
        assert c.end - c.start <= settings.max_chars
        # a chunk ends at a sentence end unless that sentence alone was longer than max_chars
        assert c.end in sentence_ends or c.text[-1] not in TERMINATORS
    # chunks are in order and do not overlap; together they cover every sentence
    for a, b in zip(chunks, chunks[1:]):
        assert a.end <= b.start
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert len(covered.replace("\n", "")) >= len(text.replace("\n", "").replace(" ", "")) * 0.99


def test_paragraph_breaks_are_preferred_boundaries():
    p1 = "甲" * 200 + "。"
    p2 = "乙" * 100 + "。"
    text = p1 + "\n\n" + p2
    spans = chunk_text(text, ChunkSettings(150, 350))
    assert [text[s:e] for s, e in spans] == [p1, p2]


def test_overlong_sentence_is_cut_at_a_comma():
    text = ("丙" * 100 + "，") * 6 + "完。"
    spans = chunk_text(text, ChunkSettings(150, 350))
    assert all(e - s <= 350 for s, e in spans)
    assert all(text[e - 1] in "，。" for s, e in spans)


def test_text_after_a_line_break_is_still_split():
    text = "导语：\n\n1.第一条；\n2.第二条。" + "后文很长。" * 100
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans[:3] == ["导语：", "1.第一条；", "2.第二条。"]
    assert max(len(s) for s in spans) < 10
