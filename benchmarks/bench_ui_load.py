"""The web app under load: N concurrent gradio_client conversations against one `newsrag serve`.

Usage:
    .venv/bin/python benchmarks/bench_ui_load.py [--conversations 50] [--turns 3] [--url URL]

Without --url it starts `newsrag serve` on a free 127.0.0.1 port over a private copy of the
bundled corpus with a lexical-only index (as tests/test_ui_load.py does). Each conversation is one
gradio_client Client that asks `--turns` questions through /ask, sending its earlier questions as
`history`; all conversations start together. Every answer is checked (fields, [n] markers, each
quote equal to its article's text). Prints p50/p95/max latency per request, errors, invalid
answers, throughput and the machine's load (os.getloadavg) before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ui_server import UIServer, make_corpus, run_conversations


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def load_line() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--turns", type=int, default=3, help="questions per conversation (1-3)")
    ap.add_argument("--url", help="a running newsrag serve (answers are then checked without the quote check)")
    ap.add_argument("--k", type=int, default=8)
    args = ap.parse_args(argv)
    if not 1 <= args.turns <= 3 or args.conversations < 1:
        ap.error("--turns must be 1-3 and --conversations at least 1")

    from rag.ui.app import QUEUE_CONCURRENCY

    print(f"machine: {platform.machine()} {platform.processor() or ''} nproc {os.cpu_count()}, Python {platform.python_version()}, load average {load_line()} (before)")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        server = None
        if args.url:
            url, articles = args.url, None
        else:
            server = UIServer(make_corpus(Path(tmp) / "corpus", hostile=False), Path(tmp) / "index").__enter__()
            url = server.url
            from rag.index.store import load_index

            articles = load_index(server.index_dir, verify=False).articles
            print(f"server: newsrag serve (lexical index of the bundled corpus) up in {server.ready_seconds:.1f} s at {url}; queue default_concurrency_limit={QUEUE_CONCURRENCY}")
        try:
            warm = run_conversations(url, 1, 1, articles, k=args.k)  # loads the answer scorer before timing
            if warm.errors:
                print(f"warm-up failed: {warm.errors}", file=sys.stderr)
                return 1
            print(f"warm-up: one request {warm.latencies[0] * 1000:.0f} ms")
            t0 = time.perf_counter()
            res = run_conversations(url, args.conversations, args.turns, articles, k=args.k)
            total = time.perf_counter() - t0
        finally:
            if server is not None:
                server.__exit__(None, None, None)
    print(f"{args.conversations} conversations x {args.turns} turns through /ask (history sent), k={args.k}: {res.requests} requests in {res.wall:.1f} s "
          f"(+{total - res.wall:.1f} s connecting {args.conversations} clients)")
    if res.latencies:
        print(f"latency per request: p50 {ms(res.percentile(50))}, p95 {ms(res.percentile(95))}, max {ms(max(res.latencies))}, min {ms(min(res.latencies))}")
        print(f"throughput: {res.requests / res.wall:.2f} requests/s; refused {res.refused}/{res.requests}")
    print(f"errors: {len(res.errors)}; invalid answers: {len(res.invalid)}")
    for line in (res.errors + res.invalid)[:10]:
        print("  " + line)
    print(f"load average {load_line()} (after)")
    return 0 if not res.errors and not res.invalid else 1


if __name__ == "__main__":
    sys.exit(main())
