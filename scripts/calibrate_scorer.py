"""Fit the answer scorer's combiner and refusal threshold on held-out sets (written into rag/data/scorer/scorer.json).

For every question of the calibration sets (tests/data/heldout*.jsonl over the bundled corpus:
sets 1-7 for scorer v1, 164 questions, 54 unanswerable; sets 1-12 for v2 at first; since session 6
sets 1-14, 374 questions, 100 unanswerable), the learned answerer's shortlisted candidates are
scored by the cross-encoder; a candidate is positive when the question is answerable and the
candidate holds one of its key facts. A logistic regression over rag.answer.learned.FEATURES (the
cross-encoder logit, two lexical features, the rank prior and the answer slot) is fitted on those
rows. The refusal threshold is then the highest that refuses at most `--max-false-refusals` of the
answerable questions, choosing among those the one that answers the fewest unanswerables:
- v1 minimised the *balanced* error and chose 0.90, which refused 38 of 110 answerable calibration
  questions and 20 of the 22 answerable questions of blind set 9; then "fewest wrong decisions" (0.75);
- v2 first took at most 5 % (issue 12's goal): 0.30, which also answered an off-topic question
  (哈萨克斯坦足球联赛的冠军是哪支球队, 0.38); now at most 10 %: 0.45 on sets 1-14 (25/274 false
  refusals, 79/100 unanswerables answered). The scores hardly separate the plausible unanswerables
  of these sets from answerable questions (docs/BENCHMARKS.md, "Session 6"), so any threshold
  trades one error for the other.
These sets are calibration data from then on: their figures are not results. Blind sets (15, 16, and
any later one) and the public sets are what quality is reported on.

    .venv/bin/python scripts/calibrate_scorer.py          # a few minutes on 2 cores (needs ./index of corpus/)
    # --compare prints the question-level refusal AUC and top-1 of other feature subsets
    .venv/bin/python scripts/calibrate_scorer.py --compare --cache /tmp/cands.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SETS = ("heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7")
# Sets 8-12 were measured blind once (on scorer v1, docs/BENCHMARKS.md); scorer v2 is calibrated on 1-12.
SETS_V2 = SETS + ("heldout8", "heldout9", "heldout10", "heldout11", "heldout12")
# Sets 13 and 14 were measured blind once on scorer v2; v3 is calibrated on 1-14. Set 15 is blind.
SETS_V3 = SETS_V2 + ("heldout13", "heldout14")


def fit_logistic(rows: list[tuple[float, ...]], labels: list[int], l2: float = 1e-3, steps: int = 3000, lr: float = 0.5):
    """Weights and bias of a logistic regression (features standardised while fitting, folded back after)."""
    import numpy as np

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(z.shape[1]), 0.0
    pos = y.mean()
    sample_w = np.where(y > 0, 0.5 / pos, 0.5 / (1 - pos))  # balance the few positives
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * sample_w
        w -= lr * (z.T @ g / len(y) + l2 * w)
        b -= lr * g.mean()
    return tuple(float(v) for v in w / sd), float(b - (w * mu / sd).sum())


def collect(args) -> list[tuple[bool, list[tuple[tuple[float, ...], float, int]]]]:
    """Per question of the calibration sets: (answerable, [(FEATURES, type factor, holds a key fact)]),
    read from --cache when it exists (the slow part is retrieval + the cross-encoder)."""
    if args.cache and args.cache.exists():
        return [(a, [(tuple(f), k, y) for f, k, y in cs]) for a, cs in json.loads(args.cache.read_text())]
    from rag.answer.learned import candidate_features, type_factor
    from rag.evaluate import fact_found, load_devset
    from rag.service import Newsrag

    service = Newsrag.open(ROOT / "index")
    answerer = service.answerer("extractive")
    scorer, config = answerer.scorer, answerer.config
    out = []
    for name in args.sets:
        for q in load_devset(ROOT / "tests" / "data" / f"{name}.jsonl"):
            plan = service.plan(q.question, q.history)
            cands = answerer.shortlisted(plan, service.retrieve(plan))
            feats = candidate_features(plan, cands, scorer) if cands else []
            out.append((q.answerable, [(f, type_factor(plan, c, config), int(q.answerable and any(fact_found(k, c.text) for k in q.key_facts)))
                                       for f, c in zip(feats, cands)]))
    if args.cache:
        args.cache.write_text(json.dumps(out))
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    """P(an answerable question's best p > an unanswerable one's), ties half."""
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def fit(questions, names: tuple[str, ...]):
    """The combiner over `names`, its per-question best probabilities and the share of answerable
    questions whose best candidate holds a key fact."""
    from rag.answer.learned import FEATURES
    from rag.answer.scorer import Combiner

    pick = [FEATURES.index(n) for n in names]
    rows = [tuple(f[i] for i in pick) for _, cs in questions for f, _, _ in cs]
    labels = [y for _, cs in questions for _, _, y in cs]
    weights, bias = fit_logistic(rows, labels)
    comb = Combiner(names, weights, bias)
    best, top_ok = [], 0
    for a, cs in questions:
        scored = sorted(((comb.probability([f[i] for i in pick]) * k, y) for f, k, y in cs), reverse=True)
        best.append((a, scored[0][0] if scored else 0.0))
        top_ok += bool(a and scored and scored[0][1])
    n_a = sum(a for a, _ in questions)
    return comb, best, top_ok / max(1, n_a), len(rows), sum(labels)


def main() -> int:
    import argparse

    from rag.answer.learned import FEATURES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true", help="print the fit and the curve, leave scorer.json alone")
    ap.add_argument("--scorer", type=Path, default=None, help="scorer folder to calibrate (default: the shipped one)")
    ap.add_argument("--sets", nargs="+", default=list(SETS_V3), help="calibration sets under tests/data (default: heldout 1-14)")
    ap.add_argument("--features", nargs="+", default=list(FEATURES), help="combiner features, a subset of rag.answer.learned.FEATURES")
    ap.add_argument("--compare", action="store_true", help="also print AUC and top-1 for other feature subsets")
    ap.add_argument("--cache", type=Path, default=None, help="keep the scored candidates in this JSON file (re-fits skip the model)")
    ap.add_argument("--max-false-refusals", type=float, default=0.10,
                    help="choose the threshold that refuses the most unanswerables while refusing at most this share of "
                         "answerable questions (issue 12's goal); a negative value: fewest wrong decisions instead")
    args = ap.parse_args()
    if args.max_false_refusals is not None and args.max_false_refusals < 0:
        args.max_false_refusals = None
    import os

    if args.scorer:
        os.environ["NEWSRAG_SCORER"] = str(args.scorer.resolve())
    from rag.answer.scorer import CARD_FILE, SCORER_DIR

    questions = collect(args)
    if args.compare:
        print("features                                   refusal AUC   best candidate holds a key fact")
        for names in (FEATURES, FEATURES[:4], ("logit", "lexical_score", "rank_prior", "slot"), ("logit", "lexical_score", "rank_prior"),
                      ("logit", "rank_prior", "slot"), ("logit", "rank_prior"), ("logit",), ("lexical_score",)):
            _, best, top1, _, _ = fit(questions, tuple(names))
            a = auc([p for ok, p in best if ok], [p for ok, p in best if not ok])
            print(f"  {' + '.join(names):<40} {a:.3f}         {top1:.3f}")
    names = tuple(args.features)
    comb, best, top1, n_rows, n_pos = fit(questions, names)
    n_a = sum(a for a, _ in best)
    n_u = len(best) - n_a
    print(f"{len(best)} questions ({n_a} answerable), {n_rows} candidates ({n_pos} hold a key fact)")
    print("combiner:", dict(zip(names, (round(w, 4) for w in comb.weights))), "bias", round(comb.bias, 4))
    print(f"refusal AUC {auc([p for a, p in best if a], [p for a, p in best if not a]):.3f}; best candidate holds a key fact for {top1:.3f} of answerable")
    print("threshold  false refusals  unanswerables answered")
    curve = []
    for i in range(1, 20):
        t = round(0.05 * i, 2)
        fr = sum(1 for a, p in best if a and p < t)
        ua = sum(1 for a, p in best if not a and p >= t)
        curve.append((fr + ua, -t, t, fr, ua))
        print(f"  {t:.2f}       {fr:>3}/{n_a}          {ua:>3}/{n_u}")
    if args.max_false_refusals is None:
        _, _, threshold, fr, ua = min(curve)
        rule = "fewest wrong refusal decisions"
    else:  # the highest threshold that keeps false refusals within the goal: refuse all the unanswerables that allows
        ok = [c for c in curve if c[3] <= args.max_false_refusals * n_a] or curve[:1]
        _, _, threshold, fr, ua = min(ok, key=lambda c: (c[4], -c[2]))
        rule = f"false refusals at most {args.max_false_refusals:.0%}, then fewest unanswerables answered"
    print(f"chosen threshold ({rule}): {threshold:.2f} ({fr}/{n_a} false refusals, {ua}/{n_u} unanswerables answered)")
    if args.no_write:
        return 0
    card_path = (args.scorer or SCORER_DIR) / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["combiner"] = {"features": list(names), "weights": [round(w, 6) for w in comb.weights], "bias": round(comb.bias, 6),
                        "fitted_on": ", ".join(f"tests/data/{n}.jsonl" for n in args.sets) + " (scripts/calibrate_scorer.py)"}
    card["threshold"] = threshold
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {card_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
