"""Citation lookup: who said this? Exact, near (small edits) and paraphrased matches of a quote.

Three passes, strongest first; an article found by one pass is not reported again by a weaker one:

1. **exact** — the quote and every article are folded (traditional→simplified, width, case) and
   stripped of punctuation and whitespace (`rag.text.fold`), then searched with `str.find` over one
   concatenated haystack per index (built once, cached per index object). The hit is mapped back
   through the strip map to offsets in `article.text`, so `passage == article.text[start:end]`.
2. **fuzzy** — near copies with a few changed characters. Candidates come from the pigeonhole
   principle (split the quote into e+1 pieces; a copy with e edits keeps one piece intact, found
   exactly in the haystack) plus BM25 passages; each is aligned with
   `rapidfuzz.fuzz.partial_ratio_alignment` and kept at score >= FUZZY_MIN.
3. **semantic** — paraphrases, when the retriever has an embedder: the best sentence (or two) of
   the top dense/hybrid passages, kept at cosine >= SEMANTIC_MIN.

Republications (articles with `duplicate_of`) are carriers too. Among the matches that carry the
quote (exact and fuzzy, else semantic) the earliest publication is marked; undated articles count
as later than dated ones, and an original before its republications.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from rag.chunk import split_sentences
from rag.errors import BadQuestionError
from rag.text.fold import fold, strip_punct
from rag.types import Article

log = logging.getLogger(__name__)

MAX_QUOTE_CHARS = 2000
FUZZY_MIN = 85.0  # rapidfuzz partial_ratio, 0..100
MIN_FUZZY_KEY = 8  # quotes shorter than this (after stripping) are matched exactly only
# Cosine between quote and passage sentence(s), symmetric "query:" encoding. e5-small crowds
# cosines together: measured on 30 paraphrases and 30 same-topic quotes that no article says
# (tests/data/lookup_paraphrases.jsonl, benchmarks/calibrate_lookup.py; docs/BENCHMARKS.md),
# paraphrases score .91-.99 against their source and unrelated quotes .89-.98. 0.945 makes the
# most right decisions there (23/30 paraphrases found, 11/60 quotes wrongly matched); a semantic
# match is therefore shown as a *possible* paraphrase, never as a source. Only matches within
# SEMANTIC_MARGIN of the best one are kept, so one strong paraphrase does not drag in its topic.
SEMANTIC_MIN = 0.945
# When the quote was found verbatim (or nearly), other articles' paraphrases are shown only from
# here: on the same 60 quotes, 10/30 paraphrases and 3/30 unrelated quotes reach it.
SEMANTIC_MIN_BESIDE_EXACT = 0.97
SEMANTIC_MARGIN = 0.04
SEMANTIC_PASSAGES = 4  # passages (by stored chunk vectors) whose sentences are compared
_SEP = "\x00"  # between articles in the haystack; never in a stripped key

MatchType = Literal["exact", "fuzzy", "semantic"]
_RANK = {"exact": 0, "fuzzy": 1, "semantic": 2}


@dataclass(frozen=True)
class LookupMatch:
    """One article carrying the quote: `passage == article.text[start:end]`."""

    article: Article
    start: int
    end: int
    passage: str
    match: MatchType
    score: float  # exact 1.0; fuzzy partial_ratio / 100; semantic cosine
    earliest: bool = False

    def to_json(self) -> dict[str, Any]:
        """One match of `lookup --json` and the lookup API."""
        a = self.article
        return {
            "article_id": a.article_id,
            "outlet": a.outlet,
            "title": a.title,
            "published": a.published,
            "url": a.url,
            "source_path": a.source_path,
            "passage": self.passage,
            "start": self.start,
            "end": self.end,
            "match": self.match,
            "score": round(float(self.score), 4),
            "earliest": self.earliest,
        }


class _Haystack:
    """All articles of an index, folded and stripped, in one string (built once per index)."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = articles
        keys = [strip_punct(fold(a.text))[0] for a in articles]
        self.starts: list[int] = []
        pos = 0
        for k in keys:
            self.starts.append(pos)
            pos += len(k) + 1
        self.text = _SEP.join(keys)
        self._maps: dict[int, list[int]] = {}  # article no -> strip map, on demand (memory)

    def locate(self, pos: int) -> tuple[int, int]:
        """(article no, offset in its key) of a haystack position."""
        i = bisect.bisect_right(self.starts, pos) - 1
        return i, pos - self.starts[i]

    def key(self, i: int) -> str:
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[i] : end]

    def to_text_span(self, i: int, ks: int, ke: int) -> tuple[int, int]:
        """Key span [ks, ke) of article i -> span in article.text (punctuation inside kept)."""
        m = self._maps.get(i)
        if m is None:
            m = self._maps[i] = strip_punct(fold(self.articles[i].text))[1]
        return m[ks], m[ke - 1] + 1

    def find_all(self, needle: str, limit: int) -> list[int]:
        out, pos = [], self.text.find(needle)
        while pos != -1 and len(out) < limit:
            out.append(pos)
            pos = self.text.find(needle, pos + 1)
        return out


_CACHE: dict[int, tuple[weakref.ref, _Haystack]] = {}
_CACHE_LOCK = threading.Lock()


def _haystack(index) -> _Haystack:
    """The haystack of `index`, built on first use and dropped when the index is garbage-collected."""
    key = id(index)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0]() is index:
            return hit[1]
    hay = _Haystack(sorted(index.articles.values(), key=lambda a: a.article_id))
    try:
        ref = weakref.ref(index, lambda _r, k=key: _CACHE.pop(k, None))
    except TypeError:  # an index type without weakref support: no caching
        return hay
    with _CACHE_LOCK:
        _CACHE[key] = (ref, hay)
    return hay


def validate_quote(quote: str) -> str:
    """The quote's folded, stripped key; BadQuestionError when there is nothing to look up."""
    if not quote or not quote.strip():
        raise BadQuestionError("the quote is empty; paste the sentence or phrase you want to trace")
    if len(quote) > MAX_QUOTE_CHARS:
        raise BadQuestionError(f"the quote has {len(quote)} characters; paste at most {MAX_QUOTE_CHARS} (one or two sentences trace best)")
    key = strip_punct(fold(quote.strip()))[0]
    if not key:
        raise BadQuestionError("the quote is only punctuation; paste words to look up")
    return key


def lookup(quote: str, index, retriever=None, k: int = 10) -> list[LookupMatch]:
    """Articles that carry `quote`, best first: exact, then fuzzy, then semantic matches.

    Args:
        index: a `rag.index.store.LoadedIndex` (all articles, republications included).
        retriever: a `rag.retrieve.Retriever` over it; BM25 candidates for fuzzy matching, and
            semantic matching when it has an embedder. Built (lexical) when omitted.
        k: at most this many matches.

    Raises:
        BadQuestionError: empty, punctuation-only or over-long quote, or k < 1.

    Example (with an index loaded):
        [m.match for m in lookup("這是一場未遂的政變", index)][:1]   # ['exact']
    """
    qkey = validate_quote(quote)
    if k < 1:
        raise BadQuestionError(f"k must be at least 1, got {k}")
    hay = _haystack(index)
    found: dict[str, LookupMatch] = {}

    # Pass 1: exact.
    for pos in hay.find_all(qkey, limit=10_000):
        i, ks = hay.locate(pos)
        a = hay.articles[i]
        if a.article_id not in found:
            s, e = hay.to_text_span(i, ks, ks + len(qkey))
            found[a.article_id] = LookupMatch(a, s, e, a.text[s:e], "exact", 1.0)

    # Pass 2: fuzzy.
    if len(qkey) >= MIN_FUZZY_KEY:
        for m in _fuzzy(qkey, quote, hay, index, retriever, exclude=set(found)):
            found.setdefault(m.article.article_id, m)

    # Pass 3: semantic.
    embedder = getattr(retriever, "embedder", None)
    if embedder is not None and getattr(index, "dense", None) is not None:
        # Beside a verbatim carrier, a paraphrase must be closer still (fewer false leads).
        floor = SEMANTIC_MIN_BESIDE_EXACT if found else SEMANTIC_MIN
        for m in _semantic(quote, hay, index, retriever, embedder, exclude=set(found), k=k):
            if m.score >= floor:
                found.setdefault(m.article.article_id, m)

    matches = _mark_earliest(list(found.values()))
    matches.sort(key=lambda m: (_RANK[m.match], -m.score, not m.earliest, _date_key(m.article)))
    return matches[:k]


def _fuzzy(qkey: str, quote: str, hay: _Haystack, index, retriever, exclude: set[str]) -> list[LookupMatch]:
    from rapidfuzz import fuzz  # lazy: only lookups need it

    n = len(qkey)
    # Candidate windows (article no -> key ranges). Pigeonhole: with up to `pieces - 1` edits,
    # one piece of the quote survives intact somewhere in the copy.
    pieces = max(3, min(10, n // 6))
    size = n // pieces
    windows: dict[int, list[tuple[int, int]]] = {}
    for p in range(pieces):
        offset = p * size
        piece = qkey[offset : offset + size] if p < pieces - 1 else qkey[offset:]
        if len(piece) < 3:
            continue
        for pos in hay.find_all(piece, limit=200):
            i, ks = hay.locate(pos)
            guess = ks - offset
            windows.setdefault(i, []).append((max(0, guess - n // 4 - 4), guess + n + n // 4 + 4))
    # BM25 passages catch copies edited in every piece (short quotes with several changes).
    if retriever is None:
        retriever = _lexical_retriever(index)
    if retriever is not None:
        row = {a.article_id: i for i, a in enumerate(hay.articles)}
        for h in retriever.search(quote, k=20):
            for art in (h.article, *index.republications(h.article.article_id)):
                i = row[art.article_id]
                windows.setdefault(i, []).append((0, len(hay.key(i))))  # whole article: offsets may differ in copies

    out = []
    for i, spans in windows.items():
        a = hay.articles[i]
        if a.article_id in exclude:
            continue
        key = hay.key(i)
        best = None
        for ws, we in _merge(spans):
            ws, we = max(0, ws), min(len(key), we)
            if we - ws < 1:
                continue
            res = fuzz.partial_ratio_alignment(qkey, key[ws:we], score_cutoff=FUZZY_MIN)
            if res is not None and (best is None or res.score > best[0]):
                best = (res.score, ws + res.dest_start, ws + res.dest_end)
        if best is not None and best[2] > best[1]:
            s, e = hay.to_text_span(i, best[1], best[2])
            out.append(LookupMatch(a, s, e, a.text[s:e], "fuzzy", best[0] / 100.0))
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = sorted(spans)
    merged = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _lexical_retriever(index):
    try:
        from rag.retrieve import Retriever
    except ImportError:  # pragma: no cover - retrieval is part of every install
        return None
    return Retriever(index)


def _semantic(quote: str, hay: _Haystack, index, retriever, embedder, exclude: set[str], k: int) -> list[LookupMatch]:
    """Paraphrases: the best sentence span of each of the top passages, by cosine to the quote.

    Passages are ranked with the stored chunk vectors (no encoding); only the sentences of the
    best SEMANTIC_PASSAGES passages are encoded, which keeps a lookup to one small batch.
    """
    import numpy as np

    qvec = embedder.encode_queries([quote])[0]
    rows, _ = retriever.scores(quote, qvec)
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return []
    cos_chunks = index.dense.scores_for(qvec, rows)
    candidates: list[tuple[Article, int, int]] = []  # (article, start, end) in article.text
    n_sent = max(1, len(split_sentences(quote)))
    taken = 0
    for j in np.argsort(-np.asarray(cos_chunks)):
        chunk = index.chunks[int(rows[j])]
        if chunk.article_id in exclude:
            continue
        article = index.articles[chunk.article_id]
        spans = [(chunk.start + s, chunk.start + e) for s, e in split_sentences(chunk.text)]
        for i in range(max(1, len(spans) - n_sent + 1)):
            window = spans[i : i + n_sent]
            if window:
                candidates.append((article, window[0][0], window[-1][1]))
        taken += 1
        if taken >= SEMANTIC_PASSAGES:
            break
    if not candidates:
        return []
    # "query:" on both sides: comparing two statements is a symmetric task.
    vecs = embedder.encode_queries([a.text[s:e] for a, s, e in candidates])
    cos = np.asarray(vecs @ qvec, dtype=float)
    best: dict[str, tuple[float, int, int]] = {}
    for (a, s, e), c in zip(candidates, cos):
        if c >= SEMANTIC_MIN and (a.article_id not in best or c > best[a.article_id][0]):
            best[a.article_id] = (float(c), s, e)
    top = max((c for c, _, _ in best.values()), default=0.0)
    out = []
    row = {a.article_id: i for i, a in enumerate(hay.articles)}
    for aid, (c, s, e) in best.items():
        if c < top - SEMANTIC_MARGIN:
            continue
        a = index.articles[aid]
        out.append(LookupMatch(a, s, e, a.text[s:e], "semantic", c))
        # The same passage in republications of this article.
        pkey = strip_punct(fold(a.text[s:e]))[0]
        for copy in index.republications(aid):
            if copy.article_id in exclude or not pkey:
                continue
            i = row[copy.article_id]
            ks = hay.key(i).find(pkey)
            if ks != -1:
                cs, ce = hay.to_text_span(i, ks, ks + len(pkey))
                out.append(LookupMatch(copy, cs, ce, copy.text[cs:ce], "semantic", c))
    return out


def _date_key(a: Article) -> tuple[bool, str, bool, str]:
    """Sort key for "published first": dated before undated, originals before republications."""
    return (a.published is None, a.published or "", a.duplicate_of is not None, a.article_id)


def _mark_earliest(matches: list[LookupMatch]) -> list[LookupMatch]:
    """Mark the earliest publication among the carriers (exact + fuzzy, else semantic)."""
    carriers = [m for m in matches if m.match != "semantic"] or matches
    if not carriers:
        return matches
    first = min(carriers, key=lambda m: _date_key(m.article))
    return [dataclasses.replace(m, earliest=True) if m is first else m for m in matches]
