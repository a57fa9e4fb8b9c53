"""The answer scorer alone: sentence top-1 and time per question, float32 vs int8, by input length.

Data: the CMRC-2018 trial validation paragraphs that scripts/train_scorer.py holds out (ids ending
in 0 or 1): for each question, its answer sentence among up to 5 other candidates, scored as one
batch (what the answerer does per question, with up to 16 candidates).

    .venv/bin/python benchmarks/bench_scorer.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> int:
    import torch

    import train_scorer as ts
    from rag.answer.scorer import load_scorer, quantized

    _, val, _, _ = ts.cmrc_rows(random.Random(13), 3)
    groups = [g for g in val if g]
    base = load_scorer()
    variants = [("float32", base)]
    variants.append(("int8", quantized(base)))
    print(f"{len(groups)} questions, {statistics.mean(len(g) for g in groups):.1f} candidates each; torch threads {torch.get_num_threads()}")
    print("variant   max_len  top-1   ms/question p50 / p95   ms per 16 candidates")
    for name, scorer in variants:
        for max_len in (96, 128):
            scorer = scorer.with_max_length(max_len)
            hits, lat = 0, []
            for g in groups:
                t0 = time.perf_counter()
                logits = scorer.logits([(a, b) for a, b, _ in g])
                lat.append((time.perf_counter() - t0) * 1000)
                hits += int(logits[0] > max(logits[1:], default=-1e9))
            pairs16 = [(a, b) for g in groups[:4] for a, b, _ in g][:16]
            t0 = time.perf_counter()
            for _ in range(5):
                scorer.logits(pairs16)
            per16 = (time.perf_counter() - t0) / 5 * 1000
            lat.sort()
            print(f"{name:<9} {max_len:>7}  {hits / len(groups):.3f}   {lat[len(lat) // 2]:.0f} / {lat[int(0.95 * (len(lat) - 1))]:.0f}              {per16:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
