"""Citations: build them from an article span, check them, and keep markers and list in step.

Public helpers (also used by the LLM answerer and by citation lookup):

- `make_citation(n, article, start, end)` -> Citation whose quote is article.text[start:end]
- `verify_citation(citation, article)` -> bool
- `renumber(text, citations)` -> (text, citations): markers numbered 1..N in order of first use,
  unused citations dropped, markers that point at no citation removed.
- `markers(text)` -> the marker numbers in order of appearance.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rag.types import Article, Citation

MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def make_citation(n: int, article: Article, start: int, end: int) -> Citation:
    """A citation of article.text[start:end], numbered `n`.

    Raises:
        ValueError: when the span is empty or outside the article text.

    Example:
        >>> from rag.types import Article
        >>> a = Article("a1", "标题", "半岛电视台", "第一句。第二句。", "x.txt", "text", published="2022-01-10")
        >>> make_citation(1, a, 4, 8).quote
        '第二句。'
    """
    if not (0 <= start < end <= len(article.text)):
        raise ValueError(
            f"citation span [{start}, {end}) is outside article {article.article_id!r} "
            f"(text length {len(article.text)}); pass offsets into article.text, not into a chunk"
        )
    return Citation(
        n=n,
        article_id=article.article_id,
        outlet=article.outlet,
        title=article.title,
        published=article.published,
        url=article.url,
        source_path=article.source_path,
        quote=article.text[start:end],
        start=start,
        end=end,
    )


def verify_citation(citation: Citation, article: Article) -> bool:
    """True when the citation's quote is exactly article.text[start:end] of the same article."""
    return citation.article_id == article.article_id and article.text[citation.start : citation.end] == citation.quote


def markers(text: str) -> list[int]:
    """Marker numbers in `text`, in order of appearance (repeats kept)."""
    return [int(m.group(1)) for m in MARKER_RE.finditer(text)]


def renumber(text: str, citations: Sequence[Citation]) -> tuple[str, tuple[Citation, ...]]:
    """Renumber markers 1..N by first use; drop unused citations and unknown markers.

    Afterwards every marker in the text has a citation and every citation is used, which is
    the Answer invariant.

    Example:
        >>> from rag.types import Article
        >>> a = Article("a1", "t", "o", "甲。乙。", "x.txt", "text")
        >>> c2, c5 = make_citation(2, a, 0, 2), make_citation(5, a, 2, 4)
        >>> renumber("乙[5]，甲[2][9]。", [c2, c5])[0]
        '乙[1]，甲[2]。'
    """
    by_n = {c.n: c for c in citations}
    new_number: dict[int, int] = {}

    def _sub(m: re.Match[str]) -> str:
        old = int(m.group(1))
        if old not in by_n:
            return ""
        if old not in new_number:
            new_number[old] = len(new_number) + 1
        return f"[{new_number[old]}]"

    new_text = MARKER_RE.sub(_sub, text)
    kept = tuple(dataclasses.replace(by_n[old], n=new) for old, new in sorted(new_number.items(), key=lambda kv: kv[1]))
    return new_text, kept
