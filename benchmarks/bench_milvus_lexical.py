"""The lexical side at scale (issue 14, item 3): jieba + bm25s in-process vs Milvus BM25 vs jieba sparse vectors.

CMRC-2018 dev (../shared/data/cmrc2018): corpus = its 848 paragraphs, chunked by newsrag's chunker
(a paragraph ranks by its best chunk, as in benchmarks/bench_retrieval.py), queries = its 3,219
questions, gold = the paragraph each was asked on. R@1, R@5, MRR@10 of the gold paragraph.

Lexical retrievers (each returns the retriever's top-100 candidate pool of chunks):

  bm25s     today's path: rag.text.tokens.tokenize (folded jieba.lcut + user dictionary) and
            rag.index.lexical.LexicalIndex (bm25s, lucene, k1 1.5, b 0.75), through
            rag.retrieve.Retriever.scores exactly as `newsrag` does.
  milvus-bm25[...]  Milvus's own full-text search in milvus-lite: a VARCHAR field with
            enable_analyzer + analyzer_params, a BM25 Function into a SPARSE_FLOAT_VECTOR field,
            SPARSE_INVERTED_INDEX with metric BM25 (k1 1.5, b 0.75); the query is raw text. Tried
            with {"type": "chinese"} (Milvus's built-in Chinese analyzer) first, then milvus-lite's
            jieba tokenizer in its default "search" mode and in "exact" mode, on raw text, and
            "exact" on text folded client-side with newsrag's fold (both sides).
  milvus-sparse  newsrag's jieba tokens as SPARSE_FLOAT_VECTOR (metric IP): the document side
            holds BM25's term-frequency part tf*(k1+1)/(tf+k1*(1-b+b*dl/avgdl)) (bm25s's weights
            divided by idf), the query side count x idf of its known tokens, so IP = bm25s's score
            and documents need no rewrite when idf moves.

Build = everything from chunk texts to a searchable index, including tokenising and the first
(index-building) search for Milvus. Query time = one question to its top-100 chunk rows (tokenising,
the client call, the gRPC hop), one at a time. Hybrid (when the embedding cache holds every chunk
and question vector of the default embedder, or with --encode): each lexical side fed into
newsrag's fusion (rag.retrieve.Retriever.scores, lexical weight 0.6 with the long-query ramp, dense =
FAISS flat over the same vectors); chunks outside a Milvus side's top-100 get lexical score 0.

    nice -n 10 .venv/bin/python benchmarks/bench_milvus_lexical.py --out /tmp/bench-milvus-lexical
    nice -n 10 .venv/bin/python benchmarks/bench_milvus_lexical.py --no-hybrid   # lexical only
    .venv/bin/python benchmarks/bench_milvus_lexical.py --markdown-from /tmp/bench-milvus-lexical/results.json

--encode computes the CMRC chunk and question vectors missing from the embedding cache (the first
run: a few minutes here); without it the hybrid columns are skipped when any vector is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_retrieval import doc_ranking, load_cmrc  # noqa: E402
from rag.chunk import ChunkSettings, chunk_article  # noqa: E402
from rag.index.lexical import LexicalIndex  # noqa: E402
from rag.index.manifest import Counts, Manifest  # noqa: E402
from rag.index.store import LoadedIndex  # noqa: E402
from rag.retrieve import FusionConfig, Retriever  # noqa: E402
from rag.text.fold import fold  # noqa: E402
from rag.text.tokens import tokenize  # noqa: E402
from rag.types import Article  # noqa: E402

POOL = FusionConfig().pool  # 100: the retriever's candidate pool per side
K1, B = 1.5, 0.75  # rag.index.lexical.LexicalIndex.build
PUNCT = "<punctuation>"  # replaced by the corpus's non-word jieba tokens (see punctuation_stop_words)
MILVUS_VARIANTS = [  # (name, analyzer_params, fold text client-side)
    ("milvus-bm25 chinese", {"type": "chinese"}, False),
    ("milvus-bm25 jieba search", {"tokenizer": "jieba"}, False),
    ("milvus-bm25 jieba exact", {"tokenizer": {"type": "jieba", "mode": "exact"}}, False),
    ("milvus-bm25 jieba exact + punct stop", {"tokenizer": {"type": "jieba", "mode": "exact"}, "filter": [{"type": "stop", "stop_words": PUNCT}]}, False),
    ("milvus-bm25 jieba exact + punct stop + fold", {"tokenizer": {"type": "jieba", "mode": "exact"}, "filter": [{"type": "stop", "stop_words": PUNCT}]}, True),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def metrics(ranked: list[list[str]], queries) -> dict[str, float]:
    ranks = [r.index(gold) + 1 if gold in r else None for r, (_, gold) in zip(ranked, queries)]
    return {"R@1": float(np.mean([x == 1 for x in ranks])),
            "R@5": float(np.mean([x is not None and x <= 5 for x in ranks])),
            "MRR@10": float(np.mean([1.0 / x if x else 0.0 for x in ranks]))}


def pct(times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def full_scores(n: int, rows, scores) -> np.ndarray:
    out = np.zeros(n, np.float32)
    out[np.asarray(rows, np.int64)] = scores
    return out


# -- Milvus ---------------------------------------------------------------------------------------

def punctuation_stop_words(texts: list[str]) -> list[str]:
    """Every jieba token of the raw and folded texts with no letter, digit or CJK character.

    milvus-lite has no `cnalphanumonly` filter (a Milvus server's "chinese" analyzer is jieba +
    cnalphanumonly); a stop list of the punctuation its jieba produces on this corpus stands in.
    """
    import re

    import jieba

    from rag.text.lang import HAN

    word = re.compile(f"[0-9A-Za-z{HAN}]")
    seen = set()
    for t in texts:
        seen.update(jieba.cut(t))
        seen.update(jieba.cut(fold(t)))
    return sorted(w.strip().lower() for w in seen if w.strip() and not word.search(w))


def with_stop_words(params: dict, stop: list[str]) -> dict:
    out = json.loads(json.dumps(params))
    for f in out.get("filter", []):
        if f.get("stop_words") == PUNCT:
            f["stop_words"] = stop
    return out


def milvus_client(path: Path):
    from pymilvus import MilvusClient

    from rag.quiet import quiet_engine_logs

    quiet_engine_logs()
    return MilvusClient(uri=str(path))


def build_milvus_bm25(client, name: str, texts: list[str], analyzer_params: dict) -> None:
    """A collection whose `sparse` field Milvus fills from `text` with its BM25 Function."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=8192, enable_analyzer=True, analyzer_params=analyzer_params)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    index = MilvusClient.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": K1, "bm25_b": B})
    client.create_collection(name, schema=schema, index_params=index)
    for s in range(0, len(texts), 2000):  # MilvusStore.add_block
        client.insert(name, [{"row": s + i, "text": t} for i, t in enumerate(texts[s : s + 2000])])
    client.flush(name)


def build_milvus_sparse(client, name: str, doc_vectors: list[dict[int, float]]) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    index = MilvusClient.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index)
    for s in range(0, len(doc_vectors), 2000):
        client.insert(name, [{"row": s + i, "sparse": v} for i, v in enumerate(doc_vectors[s : s + 2000])])
    client.flush(name)


def milvus_search(client, name: str, data, metric: str) -> tuple[list[int], list[float]]:
    res = client.search(name, data=[data], anns_field="sparse", limit=POOL, search_params={"metric_type": metric}, output_fields=[])
    hits = res[0] if res else []
    dist = [float(h["distance"]) for h in hits]
    if metric == "BM25" and any(d < 0 for d in dist):
        # milvus-lite 3.2.2 reports BM25 as a negated score (best first, smallest distance); a
        # Milvus server reports the score itself. The order is right either way.
        dist = [-d for d in dist]
    return [int(h["row"]) for h in hits], dist


def sparse_weights(lexical: LexicalIndex) -> tuple[list[dict[int, float]], np.ndarray, dict[str, int]]:
    """(per-chunk {token id: tf part}, idf per token id, vocabulary) from newsrag's bm25s index."""
    import scipy.sparse as sp

    bm = lexical._bm25
    s = bm.scores
    n = int(s["num_docs"])
    csc = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(n, len(s["indptr"]) - 1))
    df = np.diff(csc.indptr).astype(np.float64)
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))  # lucene idf, as bm25s method="lucene"
    csr = csc.tocsr()
    docs = []
    for i in range(n):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        cols, vals = csr.indices[lo:hi], csr.data[lo:hi]
        docs.append({int(c): float(v / idf[c]) for c, v in zip(cols, vals)})
    return docs, idf, bm.vocab_dict


# -- main -----------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="milvus-lite data and results.json here (default: a temporary folder)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions (a smoke test)")
    ap.add_argument("--no-hybrid", action="store_true", help="skip the hybrid rows")
    ap.add_argument("--encode", action="store_true", help="encode vectors missing from the embedding cache (slow)")
    ap.add_argument("--markdown-from", type=Path, metavar="RESULTS_JSON", help="only print the table of an earlier run's results.json")
    args = ap.parse_args()
    if args.markdown_from:
        print(markdown(json.loads(args.markdown_from.read_text(encoding="utf-8"))))
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-milvus-lexical-"))
    if (out / "milvus.db").exists():
        shutil.rmtree(out / "milvus.db")
    out.mkdir(parents=True, exist_ok=True)

    import bm25s
    import jieba
    import milvus_lite
    import pymilvus

    env = {"pymilvus": pymilvus.__version__, "milvus_lite": milvus_lite.__version__, "bm25s": bm25s.__version__,
           "jieba": jieba.__version__, "cpus": os.cpu_count(), "loadavg_before": os.getloadavg(),
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    docs, queries = load_cmrc()
    if args.limit:
        queries = queries[: args.limit]
    articles = {d: Article(article_id=d, title="", outlet="", text=t, source_path=d, format="text") for d, t in docs.items()}
    chunks = [c for a in articles.values() for c in chunk_article(a, ChunkSettings())]
    texts = [c.text for c in chunks]
    n = len(chunks)
    log(f"{len(docs)} paragraphs, {n} chunks, {len(queries)} questions")
    tokenize("预热")  # jieba's prefix dictionary (about 1 s), not counted in any build
    results: dict[str, dict] = {}
    score_arrays: dict[str, list[np.ndarray]] = {}

    # (a) today's path
    t0 = time.perf_counter()
    lexical = LexicalIndex.build([tokenize(t) for t in texts])
    build_s = time.perf_counter() - t0
    idx = LoadedIndex(root=Path("."), manifest=Manifest(corpus_root="", corpus_fingerprint="", counts=Counts()),
                      articles=articles, chunks=chunks, lexical=lexical, dense=None)
    r = Retriever(idx, None)
    ranked, times, arrays = [], [], []
    for q, _ in queries:
        t = time.perf_counter()
        rows, sc = r.scores(q, None)
        times.append(time.perf_counter() - t)
        ranked.append(doc_ranking(rows, sc, idx))
        arrays.append(full_scores(n, rows, sc))
    results["bm25s (today)"] = {"build_s": build_s, **pct(times), **metrics(ranked, queries)}
    score_arrays["bm25s (today)"] = arrays
    log(f"bm25s: {results['bm25s (today)']}")

    client = milvus_client(out / "milvus.db")

    # (b) Milvus's own BM25 with a Chinese analyzer
    stop = punctuation_stop_words(texts + [q for q, _ in queries])
    env["punctuation_stop_words"] = len(stop)
    for v, (name, shown, folded) in enumerate(MILVUS_VARIANTS):
        params = with_stop_words(shown, stop)
        coll = f"bm25_{v}"
        conv = fold if folded else (lambda s: s)
        t0 = time.perf_counter()
        try:
            build_milvus_bm25(client, coll, [conv(t) for t in texts], params)
            milvus_search(client, coll, conv(queries[0][0]), "BM25")  # the first search builds the segment's index
        except Exception as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "analyzer_params": shown}
            log(f"{name}: {results[name]['error']}")
            try:
                client.drop_collection(coll)
            except Exception:
                pass
            continue
        build_s = time.perf_counter() - t0
        ranked, times, arrays = [], [], []
        for q, _ in queries:
            t = time.perf_counter()
            rows, sc = milvus_search(client, coll, conv(q), "BM25")
            times.append(time.perf_counter() - t)
            ranked.append(doc_ranking(np.array(rows, np.int64), np.array(sc, np.float32), idx))
            arrays.append(full_scores(n, rows, sc))
        results[name] = {"build_s": build_s, **pct(times), **metrics(ranked, queries), "analyzer_params": shown, "folded": folded}
        score_arrays[name] = arrays
        log(f"{name}: {results[name]}")
        client.drop_collection(coll)

    # (c) newsrag's jieba tokens as sparse vectors, BM25 weights computed client-side
    name = "milvus-sparse (jieba tokens, IP)"
    t0 = time.perf_counter()
    lex_c = LexicalIndex.build([tokenize(t) for t in texts])
    doc_vecs, idf, vocab = sparse_weights(lex_c)
    build_milvus_sparse(client, "sparse_ip", doc_vecs)

    def query_vector(q: str) -> dict[int, float]:
        vec: dict[int, float] = {}
        for tok in tokenize(q):
            tid = vocab.get(tok)
            if tid is not None:
                vec[tid] = vec.get(tid, 0.0) + float(idf[tid])
        return vec

    milvus_search(client, "sparse_ip", query_vector(queries[0][0]) or {0: 0.0}, "IP")
    build_s = time.perf_counter() - t0
    ranked, times, arrays, same_top = [], [], [], 0
    for i, (q, _) in enumerate(queries):
        t = time.perf_counter()
        qv = query_vector(q)
        rows, sc = milvus_search(client, "sparse_ip", qv, "IP") if qv else ([], [])
        times.append(time.perf_counter() - t)
        ranked.append(doc_ranking(np.array(rows, np.int64), np.array(sc, np.float32), idx))
        arrays.append(full_scores(n, rows, sc))
        a = score_arrays["bm25s (today)"][i]
        same_top += bool(len(rows)) and np.isclose(a[rows[0]], a.max(), rtol=1e-4)
    results[name] = {"build_s": build_s, **pct(times), **metrics(ranked, queries),
                     "top_chunk_score_equals_bm25s_top": int(same_top)}
    score_arrays[name] = arrays
    log(f"{name}: {results[name]}")
    client.drop_collection("sparse_ip")
    client.close()

    # hybrid: each lexical side into newsrag's fusion with the same dense side
    hybrid = {}
    if not args.no_hybrid:
        hybrid = run_hybrid(idx, queries, texts, score_arrays, args.encode)

    env["loadavg_after"] = os.getloadavg()
    env["chunks"], env["paragraphs"], env["questions"] = n, len(docs), len(queries)
    report = {"env": env, "lexical": results, "hybrid": hybrid}
    (out / "results.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=float))
    print(markdown(report))
    log(f"results in {out / 'results.json'}")
    return 0


class _GivenScores:
    """A stand-in for LexicalIndex whose scores() returns the array set for the current question."""

    current: np.ndarray

    def scores(self, tokens):
        return self.current


def run_hybrid(idx, queries, texts, score_arrays, encode: bool) -> dict:
    from bench_retrieval import encode_queries_cached

    from rag.embed import load_embedder
    from rag.embed.cache import EmbeddingCache, embed_passages_cached, passage_key
    from rag.index.dense import DenseIndex

    embedder = load_embedder()
    cache = EmbeddingCache.for_embedder(embedder)
    if not encode:
        precision = getattr(embedder, "query_precision", "float32")
        tag = embedder.query_prompt if precision == "float32" else f"{embedder.query_prompt}\x00{precision}"
        keys = [passage_key(t, embedder.passage_prompt) for t in texts] + [passage_key(q, tag) for q, _ in queries]
        missing = len(keys) - len(cache.get_many(keys))
        if missing:
            log(f"hybrid skipped: {missing} vectors not in the embedding cache (--encode to compute them)")
            return {"skipped": f"{missing} vectors not cached"}
    vecs = embed_passages_cached(embedder, texts, cache)
    qvecs = encode_queries_cached(embedder, [q for q, _ in queries])
    given = _GivenScores()
    hidx = dataclasses.replace(idx, lexical=given, dense=DenseIndex.build(vecs, "flat"))
    r = Retriever(hidx, object())
    out = {}
    for name, arrays in score_arrays.items():
        ranked = []
        for (q, _), v, arr in zip(queries, qvecs, arrays):
            given.current = arr
            ranked.append(doc_ranking(*r.scores(q, v), hidx))
        out[name] = metrics(ranked, queries)
        log(f"hybrid {name}: {out[name]}")
    return out


def markdown(report: dict) -> str:
    lex, hyb = report["lexical"], report["hybrid"]
    base = lex["bm25s (today)"]["R@1"]
    hbase = hyb.get("bm25s (today)", {}).get("R@1") if isinstance(hyb, dict) else None
    lines = ["| lexical side | build s | query p50 / p95 ms | R@1 | R@5 | MRR@10 | R@1 − today | hybrid R@1 | hybrid R@1 − today |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in lex.items():
        if "error" in m:
            lines.append(f"| {name} | not supported (below) | – | – | – | – | – | – | – |")
            continue
        h = hyb.get(name) if isinstance(hyb, dict) else None
        hcol = f"{h['R@1']:.4f} | {h['R@1'] - hbase:+.4f}" if h and hbase is not None else "– | –"
        lines.append(f"| {name} | {m['build_s']:.1f} | {m['p50_ms']:.1f} / {m['p95_ms']:.1f} | {m['R@1']:.4f} | {m['R@5']:.3f} | "
                     f"{m['MRR@10']:.3f} | {m['R@1'] - base:+.4f} | {hcol} |")
    for name, m in lex.items():
        if "error" in m:
            lines.append(f"\n{name} (analyzer_params {json.dumps(m['analyzer_params'])}): `{m['error']}`")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
