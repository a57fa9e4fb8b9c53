"""milvus-lite beside FAISS (flat / HNSW) behind the VectorStore seam: build, dense search, serving RSS.

Synthetic data, so no model or corpus is needed: N unit vectors (dim 384, like e5-small) drawn
around 2,000 random centres (news chunks cluster by topic; uniform random vectors would be the
worst case for HNSW), each with an outlet (one of 12) and a day. Every store is exercised through
`rag.index.vectorstore` exactly as a build and the retriever use it:

Step 1 (a child process per store): create, add in the build's blocks, save (FAISS files /
        Milvus flush) -> build seconds.
Step 2 (a fresh child process per store): open it as `load_index` does, then top-100 dense search
        (the retriever's pool) for Q queries unfiltered and with an outlet + date filter pushed
        down -> p50 / p95 ms, recall@10 against exact search, RSS of that serving process.

Step 3 (--corpus DIR): the real pipeline on a real corpus, FAISS vs milvus-lite: build, hybrid
        Retriever.search p50 / p95 over the dev-set questions, identical top-10 or not.

Usage:
    python benchmarks/bench_milvus.py --n 100000 --queries 200 --out /tmp/bench-milvus
    python benchmarks/bench_milvus.py --n 100000 --markdown   # prints the BENCHMARKS.md table
    python benchmarks/bench_milvus.py --corpus corpus --out /tmp/bench-milvus
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIM = 384
OUTLETS = 12
STORES = ("faiss-flat", "faiss-hnsw", "milvus-flat", "milvus-hnsw")


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, list]:
    """(unit vectors, VectorRecords): clustered vectors, 12 outlets, days over two years (pure)."""
    from rag.index.vectorstore import VectorRecord

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, DIM)).astype(np.float32)
    vecs = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    outlets = rng.integers(0, OUTLETS, n)
    days = 18993 + rng.integers(0, 730, n)
    recs = [VectorRecord(i, f"art{i // 8}:{i % 8}", f"art{i // 8}", f"outlet-{outlets[i]}", int(days[i])) for i in range(n)]
    return vecs, recs


def queries(n: int, q: int) -> np.ndarray:
    """Held-out queries near the data: perturbed copies of random stored vectors (pure)."""
    vecs, _ = synthetic(n)
    rng = np.random.default_rng(1)
    out = vecs[rng.integers(0, n, q)] + 0.3 * rng.standard_normal((q, DIM)).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _config(store: str, out: Path):
    from rag.index.vectorstore import StoreConfig

    name, kind = store.split("-")
    return StoreConfig(name, str(out / "milvus.db") if name == "milvus" else "", kind)


def child_build(store: str, n: int, out: Path) -> dict:
    """Step 1: fill a new store the way rag.index.build does; the generation folder is `out/gen`."""
    from rag.index.vectorstore import store_class

    vecs, recs = synthetic(n)
    gen = out / "gen"
    gen.mkdir(parents=True, exist_ok=True)
    config = _config(store, out)
    cls = store_class(config.name)
    t0 = time.perf_counter()
    dense = cls.create(config, out, DIM, n)
    block = dense.add_block or n
    for b in range(0, n, block):
        dense.add(recs[b : b + block], vecs[b : b + block])
    files = dense.save(gen)
    seconds = time.perf_counter() - t0
    (out / "info.json").write_text(json.dumps(dense.info().to_json()))
    return {"store": store, "n": n, "build_s": round(seconds, 1), "files": files, "build_rss_mb": round(_rss_mb())}


def child_serve(store: str, n: int, q: int, out: Path) -> dict:
    """Step 2: open as load_index does, then time top-100 searches, unfiltered and filtered."""
    from rag.index.manifest import DenseInfo
    from rag.index.vectorstore import store_class
    from rag.retrieve import Filters

    qs = queries(n, q)
    rss_start = _rss_mb()
    info = DenseInfo.from_json(json.loads((out / "info.json").read_text()))
    if store.startswith("faiss"):
        info = DenseInfo(kind=store.split("-")[1], rows=n)
    cls = store_class(info.store)
    recs = synthetic(n)[1] if cls.needs_records else ()
    t0 = time.perf_counter()
    dense = cls.open(out / "gen", info, out, recs)
    dense.search(qs[0], 100)  # the first search fills a lazily built index
    open_s = time.perf_counter() - t0
    filt = Filters(("outlet-3", "outlet-7"), "2022-06-01", "2023-05-31")

    def timed(filters) -> tuple[list[float], list[np.ndarray]]:
        lat, rows = [], []
        for v in qs:
            t = time.perf_counter()
            _, r = dense.search(v, 100, filters)
            lat.append((time.perf_counter() - t) * 1000)
            rows.append(r)
        return lat, rows

    lat, rows = timed(None)
    flat_lat, frows = timed(filt)
    rss_serving = _rss_mb()  # before the oracle below allocates its own copy of the vectors
    # exact top-10 for recall (brute force over the same vectors)
    vecs = synthetic(n)[0]
    exact = np.argsort(-(qs @ vecs.T), axis=1)[:, :10]
    recall = float(np.mean([len(set(r[:10]) & set(e)) / 10 for r, e in zip(rows, exact)]))
    pct = lambda xs, p: round(float(np.percentile(xs, p)), 2)  # noqa: E731
    return {"store": store, "n": n, "open_s": round(open_s, 1), "search_p50_ms": pct(lat, 50), "search_p95_ms": pct(lat, 95),
            "filtered_p50_ms": pct(flat_lat, 50), "filtered_p95_ms": pct(flat_lat, 95), "recall@10": round(recall, 3),
            "filtered_hits": int(np.mean([len(r) for r in frows])), "rss_before_open_mb": round(rss_start), "rss_serving_mb": round(rss_serving)}


def child_hybrid(store: str, corpus: Path, out: Path) -> dict:
    """Step 3: the real pipeline on a real corpus: build with the default embedder (the embedding
    cache makes a second build cheap), then Retriever.search (hybrid, k 10) over the dev-set
    questions in a fresh process; query encoding included, as a user sees it."""
    from rag.embed import load_embedder
    from rag.index.build import build_index
    from rag.index.store import load_index
    from rag.index.vectorstore import StoreConfig
    from rag.retrieve import Filters, Retriever

    t0 = time.perf_counter()
    rep = build_index(corpus, out, None, rebuild=True, store=StoreConfig(store.split("-")[0]))
    build_s = time.perf_counter() - t0
    if store.startswith("milvus"):
        from rag.index.milvus import disconnect

        disconnect(str(out / "milvus.db"))
    idx = load_index(out)
    r = Retriever(idx, load_embedder(rep.manifest.embedder.load_spec))
    qs = [json.loads(line)["question"] for line in (ROOT / "tests" / "data" / "devset.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    r.search(qs[0], 10)
    lat, top = [], []
    for q in qs:
        t = time.perf_counter()
        hits = r.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
        top.append([h.chunk.chunk_id for h in hits])
    outlet = idx.articles[idx.chunks[0].article_id].outlet
    flat = []
    for q in qs:
        t = time.perf_counter()
        r.search(q, 10, Filters((outlet,), "2022-01-05"))
        flat.append((time.perf_counter() - t) * 1000)
    pct = lambda xs, p: round(float(np.percentile(xs, p)), 1)  # noqa: E731
    (out / "top.json").write_text(json.dumps(top))
    # (no RSS here: this process also built the index; step 2 measures a serving process alone)
    return {"store": store, "chunks": len(idx.chunks), "queries": len(qs), "build_s": round(build_s, 1),
            "hybrid_p50_ms": pct(lat, 50), "hybrid_p95_ms": pct(lat, 95), "filtered_p50_ms": pct(flat, 50), "filtered_p95_ms": pct(flat, 95)}


def run_hybrid(corpus: Path, out: Path) -> list[dict]:
    results = []
    for store in ("faiss-flat", "milvus-flat"):
        d = out / f"hybrid-{store}"
        cmd = [sys.executable, __file__, "--child", "hybrid", "--store", store, "--corpus", str(corpus), "--out", str(d)]
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "NEWSRAG_NO_SERVER": "1"})
        if res.returncode != 0:
            raise SystemExit(f"{store} hybrid failed:\n{res.stderr[-3000:]}")
        results.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    a, b = (json.loads((out / f"hybrid-{s}" / "top.json").read_text()) for s in ("faiss-flat", "milvus-flat"))
    same = sum(x == y for x, y in zip(a, b))
    results.append({"same_top10": f"{same}/{len(a)}"})
    return results


def run(n: int, q: int, out: Path, stores) -> list[dict]:
    results = []
    for store in stores:
        d = out / store
        if d.exists():
            import shutil

            shutil.rmtree(d)
        row = {}
        for step in ("build", "serve"):
            cmd = [sys.executable, __file__, "--child", step, "--store", store, "--n", str(n), "--queries", str(q), "--out", str(d)]
            res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            if res.returncode != 0:
                raise SystemExit(f"{store} {step} failed:\n{res.stderr[-3000:]}")
            row.update(json.loads(res.stdout.strip().splitlines()[-1]))
        print(json.dumps(row), file=sys.stderr, flush=True)
        results.append(row)
    return results


def markdown(results: list[dict]) -> str:
    lines = ["| store | chunks | build s | open s | dense top-100 p50 / p95 ms | filtered p50 / p95 ms | recall@10 | serving RSS MB (before open) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['store']} | {r['n']:,} | {r['build_s']} | {r['open_s']} | {r['search_p50_ms']} / {r['search_p95_ms']} | "
                     f"{r['filtered_p50_ms']} / {r['filtered_p95_ms']} | {r['recall@10']} | {r['rss_serving_mb']} ({r['rss_before_open_mb']}) |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-milvus"))
    ap.add_argument("--stores", default=",".join(STORES))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--corpus", type=Path, help="instead: the real pipeline (hybrid search, dev-set questions) on this corpus, FAISS vs milvus-lite")
    ap.add_argument("--child", choices=("build", "serve", "hybrid"), help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "build":
        print(json.dumps(child_build(args.store, args.n, args.out)))
        return
    if args.child == "serve":
        print(json.dumps(child_serve(args.store, args.n, args.queries, args.out)))
        return
    if args.child == "hybrid":
        print(json.dumps(child_hybrid(args.store, args.corpus, args.out)))
        return
    if args.corpus:
        print(json.dumps(run_hybrid(args.corpus.resolve(), args.out), indent=1))
        return
    results = run(args.n, args.queries, args.out, args.stores.split(","))
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(markdown(results) if args.markdown else json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
