"""The lexical backend: BM25 (bm25s) over the jieba tokens of rag.text.tokens.

Both documents and queries are folded first (traditional→simplified, full→half width, lower
case), so 烏克蘭 in a question meets 乌克兰 in an article.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.text.tokens import tokenize


class LexicalIndex:
    """BM25 over pre-tokenised chunks; returns a score for every chunk so filters stay exact."""

    def __init__(self, bm25) -> None:
        self._bm25 = bm25

    @classmethod
    def build(cls, tokens: Sequence[Sequence[str]]) -> "LexicalIndex":
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25 = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
        bm25.index([list(t) for t in tokens], show_progress=False)
        return cls(bm25)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=False, show_progress=False))

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no token is known)."""
        known = [t for t in query_tokens if t in self._bm25.vocab_dict]
        n = self._bm25.scores["num_docs"]
        if not known:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def group_scores(self, groups: Sequence[Sequence[str]]) -> np.ndarray:
        """Sum over groups of the best alternative's score; an alternative may be a multi-token phrase.

        Used for translated English questions (rag.text.crosslingual): synonyms compete, terms add up.
        """
        n = self._bm25.scores["num_docs"]
        total = np.zeros(n, dtype=np.float32)
        for group in groups:
            best = None
            for alt in group:
                toks = [t for t in tokenize(alt) if t in self._bm25.vocab_dict]
                if not toks:
                    continue
                s = np.asarray(self._bm25.get_scores(toks), dtype=np.float32)
                best = s if best is None else np.maximum(best, s)
            if best is not None:
                total += best
        return total
