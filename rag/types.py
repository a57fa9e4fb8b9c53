"""The few frozen records that flow between newsrag's stages.

ingest -> Article -> chunk -> Chunk -> (embed, lexical, dense) -> retrieve -> Hit
-> answer -> Answer (with Citation). Nothing else crosses a stage boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any, Union

# A conversation so far, oldest first: earlier questions, or (question, answer) pairs where the
# answer is its text or the Answer itself (whose citations a follow-up then avoids repeating).
HistoryItem = Union[str, tuple[str, str], tuple[str, "Answer"]]
History = Sequence[HistoryItem]


@dataclass(frozen=True)
class Article:
    """One news article, cleaned, with the metadata a citation needs.

    `text` is the clean body (paragraphs separated by a blank line); every character
    offset in newsrag (chunks, citations, lookups) is an offset into this string.
    """

    article_id: str
    title: str
    outlet: str  # canonical outlet name (zh), e.g. "半岛电视台"; "" when unknown
    text: str
    source_path: str  # relative to the corpus root, with "/" separators
    format: str  # A, A2, A3, B, B0, C, markdown, html, text
    byline: str = ""  # author / team as printed, e.g. "東京櫻花団-Tokyo Sakura Group"
    original_source: str = ""  # outlet the article was republished from, e.g. "美国之音"
    published: str | None = None  # YYYY-MM-DD
    date_source: str = ""  # where `published` came from: front-matter, byline, url, dateline, ...
    url: str = ""  # canonical URL of the article ("" when the file carries none)
    duplicate_of: str | None = None  # article_id of the canonical copy, for republications

    def to_dict(self, with_text: bool = True) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not with_text:
            d.pop("text")
        return d


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article: `article.text[start:end] == text`."""

    chunk_id: str
    article_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk, ranked (rank is 1-based), with its article."""

    rank: int
    score: float
    chunk: Chunk
    article: Article
    also_in: tuple[Article, ...] = ()  # republications of the same article, collapsed here

    def to_json(self) -> dict[str, Any]:
        """One hit of `search --json` and the search API."""
        a, c = self.article, self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "article_id": a.article_id,
            "chunk_id": c.chunk_id,
            "outlet": a.outlet,
            "title": a.title,
            "published": a.published,
            "url": a.url,
            "source_path": a.source_path,
            "text": c.text,
            "start": c.start,
            "end": c.end,
            "also_in": [
                {"article_id": o.article_id, "outlet": o.outlet, "source_path": o.source_path, "url": o.url}
                for o in self.also_in
            ],
        }


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: `quote == article.text[start:end]` for article `article_id`."""

    n: int
    article_id: str
    outlet: str
    title: str
    published: str | None
    url: str
    source_path: str
    quote: str
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer with inline [n] markers; every marker has a citation and vice versa."""

    question: str
    text: str
    refused: bool
    mode: str  # "extractive" or "llm"
    citations: tuple[Citation, ...] = ()
    notice: str = ""  # e.g. "LLM unavailable, fell back to the extractive answer"
    groups: tuple[tuple[str, tuple[int, ...]], ...] = field(default=())  # (outlet, citation numbers)
    disagreement: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Answer":
        """The inverse of to_json (an answer received from a running `newsrag serve`)."""
        return cls(
            question=data["question"], text=data["answer"], refused=bool(data["refused"]), mode=data["mode"],
            citations=tuple(Citation(**c) for c in data.get("citations", ())),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of `ask --json`, the web chat's API and `chat --json` (see README)."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
        }


UNKNOWN_OUTLET = "(unknown)"  # the one label, in the terminal and the web app, of an article whose outlet is not known
UNKNOWN_OUTLET_CLI = UNKNOWN_OUTLET_UI = UNKNOWN_OUTLET


def outlet_label(item: Any, unknown: str = UNKNOWN_OUTLET) -> str:
    """The one name under which an outlet is shown: its canonical name, the same in every listing.

    `item` is anything with an `outlet` (Article, Citation, an upload result) or the name itself.
    Where an article was republished from (`original_source`) is shown apart from this label.

    Example:
        >>> outlet_label(Citation(1, "a1", "", "t", None, "", "a.txt", "q", 0, 1))
        '(unknown)'
        >>> outlet_label("半岛电视台", UNKNOWN_OUTLET_UI)
        '半岛电视台'
    """
    name = item if isinstance(item, str) or item is None else getattr(item, "outlet", "")
    return (name or "").strip() or unknown
