"""Hybrid retrieval: BM25 and dense scores, calibrated per query and fused with weights.

Why not plain reciprocal-rank fusion: on CRUD-RAG questions RRF(BM25, e5-small) lost to BM25 alone
(R@1 .757 vs .806) because it gives the weaker dense ranking an equal vote. Here each side's scores
are rescaled per query to [0, 1] over the candidate pool (BM25 by its maximum, dense by min-max) and
mixed with a weight that keeps BM25 in charge; dense breaks ties and rescues paraphrases. The weight
was tuned on CMRC-2018 and CRUD-RAG (benchmarks/bench_retrieval.py, docs/BENCHMARKS.md).

Filters (outlets, date range) are a mask applied to the full BM25 score vector before ranking and
are pushed down into the vector store's search (rag.index.vectorstore), so a filtered query still
returns k hits whenever k chunks pass the filter.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.text.crosslingual import expand
from rag.text.lang import has_han
from rag.errors import BadQuestionError
from rag.index.vectorstore import top_rows
from rag.types import Hit

log = logging.getLogger(__name__)

from rag.validate import MAX_QUERY_CHARS  # noqa: E402,F401 (re-exported)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some outlets and/or a publication date range (inclusive, YYYY-MM-DD)."""

    outlets: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None

    @property
    def empty(self) -> bool:
        return not self.outlets and not self.since and not self.until


@dataclass(frozen=True)
class FusionConfig:
    lexical_weight: float = 0.6  # dense gets 1 - lexical_weight; tuned on CMRC-2018 + CRUD-RAG (docs/BENCHMARKS.md)
    crosslingual_lexical_weight: float = 0.8  # for questions with no Chinese (BM25 over a dictionary translation)
    pool: int = 100  # candidates taken from each side before fusing (at least 10 x k)
    # Long queries (a pasted sentence or passage: CRUD-RAG `event`, citation lookups) carry many
    # terms and BM25 evidence adds up over them; the lexical weight rises linearly from
    # `lexical_weight` at `long_query_terms[0]` distinct terms to `long_query_lexical_weight` at
    # `long_query_terms[1]`. Short questions (CMRC, CRUD quest1doc: median 7-8 terms) are unaffected.
    long_query_terms: tuple[int, int] = (12, 24)
    long_query_lexical_weight: float = 0.9

    def weight_for(self, n_terms: int) -> float:
        """The lexical weight for a Chinese query with `n_terms` distinct tokens (pure)."""
        lo, hi = self.long_query_terms
        if n_terms <= lo or self.long_query_lexical_weight <= self.lexical_weight:
            return self.lexical_weight
        share = min(1.0, (n_terms - lo) / max(1, hi - lo))
        return self.lexical_weight + share * (self.long_query_lexical_weight - self.lexical_weight)


def fuse(lex: np.ndarray, dense: np.ndarray, lexical_weight: float) -> np.ndarray:
    """Calibrate both score arrays over the same candidate pool and mix them (pure).

    BM25 is divided by its maximum (0 stays 0: no shared term means no lexical evidence); dense
    cosines are min-max scaled, since e5 cosines crowd into a narrow band around 0.8.
    """
    lex_max = float(lex.max()) if len(lex) else 0.0
    lex_n = lex / lex_max if lex_max > 0 else np.zeros_like(lex)
    lo, hi = (float(dense.min()), float(dense.max())) if len(dense) else (0.0, 0.0)
    dense_n = (dense - lo) / (hi - lo) if hi > lo else np.zeros_like(dense)
    return lexical_weight * lex_n + (1.0 - lexical_weight) * dense_n


class Retriever:
    """Search one loaded index; lexical only when no embedder (or no vectors) is available."""

    def __init__(self, index, embedder=None, fusion: FusionConfig = FusionConfig()) -> None:
        self.index = index
        self.embedder = embedder if index.dense is not None else None
        self.fusion = fusion
        arts = [index.articles[a] for a in index.chunk_article_ids]
        self._outlets = np.array([a.outlet for a in arts], dtype=object)
        self._dates = np.array([a.published or "" for a in arts], dtype=object)

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    @functools.lru_cache(maxsize=64)
    def _mask(self, filters: Filters) -> np.ndarray | None:
        if filters.empty:
            return None
        mask = np.ones(len(self._outlets), dtype=bool)
        if filters.outlets:
            mask &= np.isin(self._outlets, list(filters.outlets))
        if filters.since:
            mask &= (self._dates != "") & (self._dates >= filters.since)
        if filters.until:
            mask &= (self._dates != "") & (self._dates <= filters.until)
        return mask

    def search(self, query: str, k: int = 10, filters: Filters = Filters()) -> list[Hit]:
        """Top-k chunks for `query`, best first.

        Raises:
            BadQuestionError: the query is empty or longer than MAX_QUERY_CHARS.
        """
        return self.batch_search([query], k, filters)[0]

    def batch_search(self, queries: Sequence[str], k: int = 10, filters: Filters = Filters()) -> list[list[Hit]]:
        for q in queries:
            if not q or not q.strip():
                raise BadQuestionError("the question is empty; type a question or a few keywords")
            if len(q) > MAX_QUERY_CHARS:
                raise BadQuestionError(f"the question has {len(q)} characters; keep it under {MAX_QUERY_CHARS} (ask about one thing at a time)")
        if k < 1:
            raise BadQuestionError(f"k must be at least 1, got {k}")
        qvecs = self.embedder.encode_queries(list(queries)) if self.embedder is not None else [None] * len(queries)
        return [self._search_one(q, v, k, filters) for q, v in zip(queries, qvecs)]

    def scores(self, query: str, qvec: np.ndarray | None, filters: Filters = Filters()) -> tuple[np.ndarray, np.ndarray]:
        """(candidate chunk rows, fused scores) before ranking; used by benchmarks and lookup."""
        from rag.text.tokens import tokenize

        mask = self._mask(filters)
        weight = self.fusion.lexical_weight
        if not has_han(query):
            # A Latin-script question over a Chinese archive: score its dictionary translation. Its
            # English words would only match stray English fragments (source lines, subtitles).
            lex_all = self.index.lexical.group_scores(expand(query))
            weight = self.fusion.crosslingual_lexical_weight
        else:
            tokens = tokenize(query)
            lex_all = self.index.lexical.scores(tokens)
            weight = self.fusion.weight_for(len(set(tokens)))
        if mask is not None:
            lex_all = np.where(mask, lex_all, -np.inf)
        pool = self.fusion.pool
        lex_rows = top_rows(lex_all, pool)
        lex_rows = lex_rows[np.isfinite(lex_all[lex_rows])]
        if qvec is None:
            return lex_rows, np.maximum(lex_all[lex_rows], 0)
        dense = self.index.dense  # a rag.index.vectorstore.VectorStore: the filter is pushed down into it
        _, dense_rows = dense.search(qvec, pool, None if filters.empty else filters)
        rows = np.union1d(lex_rows, dense_rows).astype(np.int64)
        lex = np.maximum(lex_all[rows], 0).astype(np.float32)
        cos = dense.scores_for(qvec, rows)
        return rows, fuse(lex, cos, weight)

    def _search_one(self, query: str, qvec, k: int, filters: Filters) -> list[Hit]:
        rows, fused = self.scores(query, qvec, filters)
        order = top_rows(fused, k)
        hits = []
        for rank, j in enumerate(order, start=1):
            chunk = self.index.chunks[int(rows[j])]
            article = self.index.articles[chunk.article_id]
            hits.append(Hit(rank, float(fused[j]), chunk, article, tuple(self.index.republications(article.article_id))))
        return hits


def diversify(hits: Sequence[Hit], k: int) -> list[Hit]:
    """The top-k hits, but with each outlet's best hit promoted into them (pure).

    For comparison questions: an outlet whose best passage ranks 15th still gets its say. Outlets
    keep their relative order; within the k slots the rest are filled by score.
    """
    best: dict[str, Hit] = {}
    for h in hits:
        best.setdefault(h.article.outlet, h)
    chosen = list(best.values())[:k]
    for h in hits:
        if len(chosen) >= k:
            break
        if h not in chosen:
            chosen.append(h)
    chosen.sort(key=lambda h: h.rank)
    return [dataclasses.replace(h, rank=i) for i, h in enumerate(chosen, start=1)]


def interleave(first: Sequence[Hit], second: Sequence[Hit], k: int) -> list[Hit]:
    """Two ranked lists taken in turn (first's best, second's best, ...), without repeating a
    chunk, re-ranked 1..k (pure).

    Example:
        >>> from rag.types import Article, Chunk
        >>> art = Article(article_id="a", title="t", outlet="o", text="x" * 30, source_path="a.md", format="markdown")
        >>> hit = lambda n: Hit(rank=n, score=1.0, chunk=Chunk(f"a#{n}", "a", 0, 1, "x"), article=art)
        >>> [h.chunk.chunk_id for h in interleave([hit(1), hit(2)], [hit(2), hit(3)], 3)]
        ['a#1', 'a#2', 'a#3']
    """
    out: list[Hit] = []
    seen: set[str] = set()
    for pair in itertools.zip_longest(first, second):
        for h in pair:
            if h is not None and h.chunk.chunk_id not in seen and len(out) < k:
                seen.add(h.chunk.chunk_id)
                out.append(h)
    return [dataclasses.replace(h, rank=i) for i, h in enumerate(out, start=1)]
