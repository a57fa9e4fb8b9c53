"""Answer quality and latency of each answer mode, on the bundled corpus's question sets and public QA sets.

    # (the scorer's combiner and refusal threshold come from scripts/calibrate_scorer.py, on held-out sets 1-7)
    # measure: dev set + blind sets on the hybrid index of corpus/, both modes in one run
    .venv/bin/python benchmarks/bench_answers.py --sets devset heldout8 heldout9
    # public sets (BM25 retrieval; --limit for a seeded sample)
    .venv/bin/python benchmarks/bench_answers.py --public cmrc2018 crud-quest1doc --limit 500

Held-out sets 1-7 were development data for the rule-based answerer and are the calibration data
of the learned one, so their figures are not results. Sets 8 and 9 were written blind (by helpers
that never ran the system) and are measured once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"


def _index(lexical: bool) -> Path:
    from rag.index.build import build_index

    out = ROOT / "index"
    build_index(ROOT / "corpus", out, "none" if lexical else None)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=[], help="question sets under tests/data (without .jsonl)")
    ap.add_argument("--public", nargs="*", default=[], help="cmrc2018 and/or crud-quest1doc")
    ap.add_argument("--modes", nargs="+", default=["extractive", "rules"])
    ap.add_argument("--limit", type=int, default=0, help="public sets: seeded sample size (0 = all)")
    ap.add_argument("--lexical", action="store_true", help="bundled corpus: BM25 only (default: hybrid)")
    ap.add_argument("--json", type=Path, help="also write all figures here")
    args = ap.parse_args()

    from rag.evaluate import evaluate, load_devset
    from rag.service import Newsrag

    out: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.sets:
        service = Newsrag.open(_index(args.lexical))
        print(f"bundled corpus index: {service.mode}", flush=True)
    for name in args.sets:
        qs = load_devset(DATA / f"{name}.jsonl")
        for mode in args.modes:
            rep = evaluate(service, qs, mode=mode)
            out.setdefault("sets", {}).setdefault(name, {})[mode] = rep.to_dict(with_results=True)
            wrong = [r.id for r in rep.results if r.answerable and r.facts_found < r.facts_total]
            print(f"\n== {name} · {mode} ==\n{rep.summary()}\n  answerable with a key fact missing: {', '.join(wrong) or 'none'}", flush=True)
    for name in args.public:
        from rag.evaluate_public import run_public

        reps = run_public(name, args.modes, args.limit)
        out.setdefault("public", {})[name] = [vars(r) for r in reps]
        print(f"\n== {name} ({reps[0].questions} questions, BM25 retrieval) ==")
        print("mode        gold answer in answer  false refusals  gold doc cited  verbatim  p50 / p95 ms")
        for r in reps:
            print(f"{r.mode:<11} {r.answer_in_answer:>21.3f}  {r.false_refusals:>14.3f}  {r.gold_cited:>14.3f}  {r.verbatim:>8.3f}  {r.latency_p50_ms:.0f} / {r.latency_p95_ms:.0f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
