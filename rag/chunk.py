"""Sentence-aware Chinese chunking with exact character spans.

Sentences end at 。！？；… (and ! ? ;) together with any closing quotes or brackets that follow,
and at line breaks. Chunks pack whole sentences to about `min_chars`-`max_chars` characters,
preferring paragraph breaks as boundaries; only a sentence longer than `max_chars` is cut inside,
at a comma if it can be. Every chunk satisfies ``article.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Article, Chunk

# A sentence: anything up to a terminator run plus closing quotes/brackets, or up to a newline.
_SENTENCE_RE = re.compile(
    r"[^\n]*?(?:[。！？；!?;…]+[”’\"'」』）)】〉》]*|(?=\n)|$)",
)
_SOFT_BREAK_RE = re.compile(r"[，,、：:]")
_PARAGRAPH_GAP_RE = re.compile(r"\n[^\S\n]*\n")


@dataclass(frozen=True)
class ChunkSettings:
    min_chars: int = 150
    max_chars: int = 350

    def to_dict(self) -> dict:
        return {"min_chars": self.min_chars, "max_chars": self.max_chars, "splitter": "zh-sentence-v1"}


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of `text`, without surrounding whitespace.

    Example:
        >>> t = "他说：“走了。”然后呢？好。"
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['他说：“走了。”', '然后呢？', '好。']
    """
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _SENTENCE_RE.match(text, pos)
        end = m.end() if m and m.end() > pos else pos + 1  # an empty match means we are at a newline
        start, stop = _trim(text, pos, end)
        if stop > start:
            spans.append((start, stop))
        pos = end
    return spans


def _cut_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces <= max_chars, at a comma when there is one."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = None
        for m in _SOFT_BREAK_RE.finditer(window):
            if m.end() >= max_chars // 2:
                cut = m.end()
        cut = cut or max_chars
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return [_trim(text, a, b) for a, b in pieces if text[a:b].strip()]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_text(text: str, settings: ChunkSettings = ChunkSettings()) -> list[tuple[int, int]]:
    """Spans of the chunks of `text` (pure; see module docstring for the rules)."""
    units: list[tuple[int, int, bool]] = []  # (start, end, begins a paragraph)
    prev_end = 0
    for s, e in split_sentences(text):
        new_par = not units or _PARAGRAPH_GAP_RE.search(text, prev_end, s) is not None
        prev_end = e
        for i, (ps, pe) in enumerate(_cut_long(text, s, e, settings.max_chars)):
            units.append((ps, pe, new_par and i == 0))

    chunks: list[tuple[int, int]] = []
    cur_start = cur_end = None
    for s, e, new_par in units:
        if cur_start is None:
            cur_start, cur_end = s, e
            continue
        too_long = e - cur_start > settings.max_chars
        paragraph_break_ok = new_par and cur_end - cur_start >= settings.min_chars
        if too_long or paragraph_break_ok:
            chunks.append((cur_start, cur_end))
            cur_start = s
        cur_end = e
    if cur_start is not None:
        # A short tail joins the previous chunk when that stays within bounds.
        if chunks and cur_end - cur_start < settings.min_chars // 3 and cur_end - chunks[-1][0] <= settings.max_chars:
            chunks[-1] = (chunks[-1][0], cur_end)
        else:
            chunks.append((cur_start, cur_end))
    return chunks


def chunk_article(article: Article, settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    """Chunks of one article; ids are `<article_id>:<ordinal>`."""
    return [
        Chunk(chunk_id=f"{article.article_id}:{i}", article_id=article.article_id, start=s, end=e, text=article.text[s:e])
        for i, (s, e) in enumerate(chunk_text(article.text, settings))
    ]
