"""newsrag vs a LangChain EnsembleRetriever (FAISS + BM25Retriever) on the same chunks and embedder.

The LangChain pipeline is what its documentation builds: `FAISS.from_texts` (default settings)
and `BM25Retriever.from_texts` (rank_bm25's BM25Okapi) fused by `EnsembleRetriever` with its
default weights [0.5, 0.5] (weighted reciprocal rank fusion, c=60), each side returning k=10.
For a fair comparison on Chinese, both sides share newsrag's parts that are not the subject:
- the same chunks (newsrag's sentence chunker, via benchmarks/bench_retrieval.build's inputs);
- the same tokens: BM25Retriever's preprocess_func is `rag.text.tokens.tokenize` (jieba.lcut + folding);
- the same model and vectors: `NewsragEmbeddings` wraps newsrag's embedder as LangChain
  `Embeddings` (embed_documents -> encode_passages through the embedding cache, embed_query ->
  encode_queries), so nothing is re-encoded and the comparison is the fusion and the pipeline.

Each pipeline runs in its own process (so its RSS is its own): build time on the same chunks and
document-level R@1 / R@5 / MRR@10 (a document ranks by its best chunk, as in bench_retrieval.py).
Latency is then measured with both pipelines in one process, alternating query by query, so
that both see the same machine load: `Retriever.search(q, 10)` vs `EnsembleRetriever.invoke(q)`,
model warm, query encoding included.

    .venv/bin/python benchmarks/bench_langchain.py --sets cmrc --json /tmp/lc.json
    .venv/bin/python benchmarks/bench_langchain.py --sets cmrc crud --latency-queries 200
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_retrieval as br  # noqa: E402  (loaders and builder of the quality benchmark)

DEPTH = 10
PER_SIDE_K = 10


def make_embeddings(embedder, cache=None):
    """newsrag's embedder as a LangChain `Embeddings`; documents go through the embedding cache.

    Example:
        >>> emb = make_embeddings(load_embedder())
        >>> store = FAISS.from_texts(["第一段", "第二段"], emb)
    """
    from langchain_core.embeddings import Embeddings  # lazy: only this benchmark needs LangChain

    from rag.embed.cache import EmbeddingCache, embed_passages_cached

    cache = cache or EmbeddingCache.for_embedder(embedder)

    class NewsragEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embed_passages_cached(embedder, list(texts), cache).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.encode_queries([text])[0].tolist()

    return NewsragEmbeddings()


def load_set(name: str) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    """(docs, {task: queries}) for "cmrc" or "crud" (the 2,500-doc subset: quest1doc and event)."""
    if name == "cmrc":
        docs, queries = br.load_cmrc()
        return docs, {"cmrc": queries}
    if name == "crud":
        docs, q1 = br.load_crud("quest1doc", subset=True)
        _, ev = br.load_crud("event", subset=True)
        return docs, {"crud-quest1doc": q1, "crud-event": ev}
    raise SystemExit(f"unknown set {name!r}; use cmrc or crud")


def chunk_docs(docs: dict[str, str]):
    """The chunks bench_retrieval.build indexes (same chunker, same settings, same order)."""
    from rag.chunk import ChunkSettings, chunk_article
    from rag.types import Article

    settings = ChunkSettings()
    arts = [Article(article_id=d, title="", outlet="", text=t, source_path=d, format="text") for d, t in docs.items()]
    return [c for a in arts for c in chunk_article(a, settings)]


def metrics(ranked: list[list[str]], queries: Sequence[tuple[str, str]]) -> dict[str, float]:
    ranks = [r.index(g) + 1 if g in r else None for r, (_, g) in zip(ranked, queries)]
    return {
        "R@1": round(float(np.mean([x == 1 for x in ranks])), 4),
        "R@5": round(float(np.mean([x is not None and x <= 5 for x in ranks])), 4),
        "MRR@10": round(float(np.mean([1.0 / x if x else 0.0 for x in ranks])), 4),
    }


def dedupe(doc_ids, depth: int = DEPTH) -> list[str]:
    out: list[str] = []
    for d in doc_ids:
        if d not in out:
            out.append(d)
            if len(out) == depth:
                break
    return out


def latency(fn, qs: list[str], warm: int = 5) -> dict:
    for q in qs[:warm]:
        fn(q)
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "mean_ms": round(float(np.mean(ms)), 2), "n": len(ms)}


def cache_coverage(embedder, chunks) -> float:
    from rag.embed.cache import EmbeddingCache, passage_key

    keys = list({passage_key(c.text, embedder.passage_prompt) for c in chunks})  # repeated texts count once
    return len(EmbeddingCache.for_embedder(embedder).get_many(keys)) / max(len(keys), 1)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# ------------------------------------------------------------- the two pipelines
def build_newsrag(docs: dict[str, str], embedder):
    """newsrag's in-memory index of `docs` (bench_retrieval.build) and its Retriever."""
    from rag.retrieve import Retriever

    idx = br.build(docs, br.ChunkSettings(), embedder)
    return idx, Retriever(idx, embedder)


def build_langchain(chunks, embedder) -> tuple:
    """(EnsembleRetriever, build seconds per part) over the same chunks."""
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS

    try:
        from langchain_classic.retrievers import EnsembleRetriever  # LangChain 1.x
    except ImportError:  # LangChain 0.x
        from langchain.retrievers import EnsembleRetriever

    from rag.text.tokens import tokenize

    texts = [c.text for c in chunks]
    metas = [{"doc_id": c.article_id, "chunk_id": c.chunk_id} for c in chunks]
    emb = make_embeddings(embedder)
    t0 = time.perf_counter()
    bm25 = BM25Retriever.from_texts(texts, metadatas=metas, preprocess_func=tokenize, k=PER_SIDE_K)
    t_bm25 = time.perf_counter() - t0
    t1 = time.perf_counter()
    store = FAISS.from_texts(texts, emb, metadatas=metas)
    t_faiss = time.perf_counter() - t1
    ensemble = EnsembleRetriever(retrievers=[bm25, store.as_retriever(search_kwargs={"k": PER_SIDE_K})])
    return ensemble, {"bm25_retriever": round(t_bm25, 2), "faiss_from_texts": round(t_faiss, 2)}


def _setup(set_name: str, allow_encode: bool):
    from rag.embed import load_embedder

    docs, tasks = load_set(set_name)
    embedder = load_embedder()
    embedder.encode_queries(["预热"])
    import jieba  # noqa: F401  (imported before any timing, on both sides)

    from rag.text.tokens import tokenize

    tokenize("预热")  # jieba builds its dictionary on first use: not part of either build
    chunks = chunk_docs(docs)
    cov = cache_coverage(embedder, chunks)
    if cov < 0.999 and not allow_encode:
        raise SystemExit(f"only {cov:.1%} of the {len(chunks)} {set_name} chunk vectors are in the embedding cache; "
                         "run benchmarks/bench_retrieval.py first (it fills the cache) or pass --allow-encode")
    return docs, tasks, embedder, chunks, cov


# One pipeline per process, so that its RSS is its own: build, RSS, quality.
def worker(pipeline: str, set_name: str, allow_encode: bool) -> dict:
    docs, tasks, embedder, chunks, cov = _setup(set_name, allow_encode)
    res: dict = {"pipeline": pipeline, "set": set_name, "docs": len(docs), "chunks": len(chunks),
                 "cache_coverage": round(cov, 4), "rss_model_mb": round(rss_mb()), "load_avg_start": os.getloadavg()[0]}
    res["quality"] = {}
    if pipeline == "newsrag":
        t0 = time.perf_counter()
        idx, retriever = build_newsrag(docs, embedder)
        res["build_s"] = round(time.perf_counter() - t0, 2)
        res["rss_after_build_mb"] = round(rss_mb())
        res["peak_rss_build_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        for task, qs in tasks.items():
            questions = [q for q, _ in qs]
            qvecs = np.concatenate([embedder.encode_queries(questions[i : i + 64]) for i in range(0, len(questions), 64)])
            ranked = [br.doc_ranking(*retriever.scores(q, v), idx) for q, v in zip(questions, qvecs)]
            res["quality"][task] = {**metrics(ranked, qs), "n": len(qs)}
        res["fusion"] = {"lexical_weight": retriever.fusion.lexical_weight, "pool": retriever.fusion.pool}
    elif pipeline == "langchain":
        import langchain_community
        import langchain_core

        t0 = time.perf_counter()
        ensemble, parts = build_langchain(chunks, embedder)
        res["build_s"] = round(time.perf_counter() - t0, 2)
        res["build_parts_s"] = parts
        res["rss_after_build_mb"] = round(rss_mb())
        res["peak_rss_build_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        for task, qs in tasks.items():
            ranked = [dedupe(d.metadata["doc_id"] for d in ensemble.invoke(q)) for q, _ in qs]
            res["quality"][task] = {**metrics(ranked, qs), "n": len(qs)}
        res["fusion"] = {"weights": list(ensemble.weights), "c": ensemble.c, "k_per_side": PER_SIDE_K}
        res["versions"] = {"langchain_core": langchain_core.__version__, "langchain_community": langchain_community.__version__,
                           "rank_bm25": _version("rank-bm25"), "langchain_classic": _version("langchain-classic")}
    else:
        raise SystemExit(f"unknown pipeline {pipeline!r}; use newsrag or langchain")
    res["load_avg_end"] = os.getloadavg()[0]
    return res


# Both pipelines in one process, queries alternating between them: the same machine load for both.
def latency_worker(set_name: str, n_latency: int, allow_encode: bool) -> dict:
    docs, tasks, embedder, chunks, _ = _setup(set_name, allow_encode)
    _, retriever = build_newsrag(docs, embedder)
    ensemble, _ = build_langchain(chunks, embedder)
    all_q = [q for qs in tasks.values() for q, _ in qs]
    qs = random.Random(0).sample(all_q, min(n_latency, len(all_q)))
    fns = {"newsrag": lambda q: retriever.search(q, DEPTH), "langchain": lambda q: ensemble.invoke(q)}
    for q in qs[:5]:
        for fn in fns.values():
            fn(q)
    ms: dict[str, list[float]] = {k: [] for k in fns}
    load0 = os.getloadavg()[0]
    for i, q in enumerate(qs):
        order = list(fns) if i % 2 == 0 else list(fns)[::-1]  # neither side always goes first
        for name in order:
            t0 = time.perf_counter()
            fns[name](q)
            ms[name].append((time.perf_counter() - t0) * 1000)
    out = {name: {"p50_ms": round(float(np.percentile(v, 50)), 2), "p95_ms": round(float(np.percentile(v, 95)), 2),
                  "mean_ms": round(float(np.mean(v)), 2), "n": len(v)} for name, v in ms.items()}
    return {"latency": out, "load_avg_start": load0, "load_avg_end": os.getloadavg()[0]}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def _sub(args: list[str]) -> dict:
    p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run(sets: Sequence[str], n_latency: int = 200, allow_encode: bool = False) -> dict:
    """Per set: each pipeline alone (build, RSS, quality), then both together (latency); ratios."""
    out: dict = {}
    extra = ["--allow-encode"] if allow_encode else []
    for name in sets:
        row = {}
        for pipeline in ("newsrag", "langchain"):
            print(f"== {name}: {pipeline} (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
            row[pipeline] = _sub(["--worker", pipeline, name, *extra])
            print(json.dumps(row[pipeline]), file=sys.stderr)
        print(f"== {name}: latency, alternating (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
        lat = _sub(["--latency-worker", name, "--latency-queries", str(n_latency), *extra])
        print(json.dumps(lat), file=sys.stderr)
        for pipeline in ("newsrag", "langchain"):
            row[pipeline]["latency"] = lat["latency"][pipeline]
        row["latency_load"] = [lat["load_avg_start"], lat["load_avg_end"]]
        n, lc = row["newsrag"], row["langchain"]
        row["ratios"] = {
            "latency_p50_langchain_over_newsrag": round(lc["latency"]["p50_ms"] / n["latency"]["p50_ms"], 2),
            "latency_p95_langchain_over_newsrag": round(lc["latency"]["p95_ms"] / n["latency"]["p95_ms"], 2),
            "build_langchain_over_newsrag": round(lc["build_s"] / max(n["build_s"], 1e-9), 2),
        }
        out[name] = row
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["cmrc", "crud"], choices=["cmrc", "crud"])
    ap.add_argument("--latency-queries", type=int, default=200)
    ap.add_argument("--allow-encode", action="store_true", help="encode chunks missing from the embedding cache (slow)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--append", action="store_true", help="keep the other sets already in --json")
    ap.add_argument("--worker", nargs=2, metavar=("PIPELINE", "SET"), help=argparse.SUPPRESS)
    ap.add_argument("--latency-worker", metavar="SET", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.allow_encode)))
        return 0
    if args.latency_worker:
        print(json.dumps(latency_worker(args.latency_worker, args.latency_queries, args.allow_encode)))
        return 0
    res = run(args.sets, args.latency_queries, args.allow_encode)
    if args.append and args.json and args.json.is_file():  # keep the other sets of an earlier run
        res = {**{k: v for k, v in json.loads(args.json.read_text()).items() if k not in res}, **res}
    print(json.dumps(res, indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
