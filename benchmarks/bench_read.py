"""Reading speed of the ingest stage: files/s and MB/s over the shared news sample, one process.

Usage:
    .venv/bin/python benchmarks/bench_read.py [CORPUS_DIR] [--repeat N] [--no-dedup]

Reports files/s and MB/s for reading + decoding + parsing + cleaning (read_file over every file),
the time of duplicate marking separately, and peak RSS (resource.getrusage).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.ingest import SkipFile, list_corpus_files, load_registry, mark_duplicates, read_file  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "corpus" / "news-sample"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=1, help="read the corpus N times, report the best run")
    ap.add_argument("--no-dedup", action="store_true", help="skip timing mark_duplicates")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"bench_read: {args.corpus} not found; pass the corpus directory (default ../shared/corpus/news-sample)", file=sys.stderr)
        return 2

    files = list_corpus_files(args.corpus)
    total_bytes = sum((args.corpus / f).stat().st_size for f in files)
    registry = load_registry(args.corpus)
    best = best_cpu = None
    for _ in range(max(1, args.repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        articles, skipped = [], 0
        for rel in files:
            try:
                articles.append(read_file(args.corpus, rel, registry))
            except SkipFile:
                skipped += 1
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or elapsed < best:
            best, best_cpu = elapsed, cpu
    dedup_s = None
    if not args.no_dedup:
        t0 = time.perf_counter()
        marked = mark_duplicates(articles)
        dedup_s = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "corpus": str(args.corpus),
        "files": len(files),
        "articles": len(articles),
        "skipped": skipped,
        "mb": round(total_bytes / 1e6, 2),
        "read_seconds": round(best, 2),
        "files_per_s": round(len(files) / best, 1),
        "mb_per_s": round(total_bytes / 1e6 / best, 2),
        "read_cpu_seconds": round(best_cpu, 2),  # wall time suffers when the machine is shared; CPU time does not
        "files_per_cpu_s": round(len(files) / best_cpu, 1),
        "dedup_seconds": None if dedup_s is None else round(dedup_s, 2),
        "duplicates": None if dedup_s is None else sum(1 for a in marked if a.duplicate_of),
        "end_to_end_files_per_s": round(len(files) / (best + (dedup_s or 0)), 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "python": sys.version.split()[0],
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
