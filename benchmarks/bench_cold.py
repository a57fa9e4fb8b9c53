"""What a command-line user waits for: `newsrag` commands from a fresh process, with and without a server.

    .venv/bin/python benchmarks/bench_cold.py --index index     # an index of corpus/ (hybrid or lexical)

Each command runs as a new process (`python -m rag ...`), --repeat times, with the models already
converted/exported in the cache (a user's second day, not the first install). Then a real
`newsrag serve` of the same index is started and the same `ask` is timed through it (the CLI finds
it by INDEX/serve.json). Wall-clock seconds; the load average is printed beside every figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "集体安全条约组织向哈萨克斯坦派了多少兵？"


def timed(args: list[str], env: dict | None = None) -> tuple[float, int]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag", *args], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    return time.perf_counter() - t, out.returncode


def row(name: str, args: list[str], repeat: int, env: dict | None = None) -> None:
    runs = [timed(args, env) for _ in range(repeat)]
    secs = [s for s, _ in runs]
    print(f"{name:<44} median {statistics.median(secs):6.2f} s  (min {min(secs):.2f}, max {max(secs):.2f}; exit {runs[0][1]}; "
          f"load {os.getloadavg()[0]:.2f})", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=REPO / "index")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    idx = str(args.index)
    local = {"NEWSRAG_NO_SERVER": "1"}
    print(f"machine: {os.cpu_count()} cores; index {idx}", flush=True)
    row("ask, empty question (rejected)", ["ask", "", "--index", idx], args.repeat, local)
    row("ask, 5,000 characters (rejected)", ["ask", "长" * 5000, "--index", idx], args.repeat, local)
    row("ask --since 2022-13-01 (rejected)", ["ask", QUESTION, "--since", "2022-13-01", "--index", idx], args.repeat, local)
    row("index, nothing changed", ["index", "corpus", "--index", idx], args.repeat, local)
    row("search, cold", ["search", QUESTION, "--index", idx], args.repeat, local)
    row("ask, cold", ["ask", QUESTION, "--index", idx], args.repeat, local)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--index", idx, "--corpus", "corpus", "--port", str(port),
                               "--no-background-embed"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (args.index / "serve.json").exists():
            if time.monotonic() > deadline or server.poll() is not None:
                print("newsrag serve did not start")
                return 1
            time.sleep(0.5)
        timed(["ask", QUESTION, "--index", idx])  # the server's first answer loads its scorer
        row("ask, through a running newsrag serve", ["ask", QUESTION, "--index", idx], args.repeat)
        row("search, through a running newsrag serve", ["search", QUESTION, "--index", idx], args.repeat)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
