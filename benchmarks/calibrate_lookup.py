"""The floor for semantic ("paraphrase") matches of `newsrag lookup`, measured on labelled quotes.

    .venv/bin/python benchmarks/calibrate_lookup.py            # hybrid index of corpus/ (built if needed)

tests/data/lookup_paraphrases.jsonl (written by a helper who never ran the system): 30 paraphrases of
real sentences (with their source article) and 30 same-topic quotes no article says (10 of them
near misses of a real sentence). For each quote this script takes lookup's best semantic candidate
with the floor switched off and records its features; then, for each candidate floor, counts the
right decisions: a paraphrase is right when its source article is matched, an unrelated quote when
nothing is. The features are the cosine (e5 "query:" on both sides) and the share of the quote's
character bigrams found in the matched sentence; the chosen rule is printed for rag/lookup.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "lookup_paraphrases.jsonl"


def bigram_overlap(quote: str, passage: str) -> float:
    """Share of the quote's character bigrams (folded, punctuation stripped) found in the passage."""
    from rag.text.fold import fold, strip_punct

    q, p = strip_punct(fold(quote))[0], strip_punct(fold(passage))[0]
    grams = {q[i : i + 2] for i in range(len(q) - 1)}
    return sum(1 for g in grams if g in p) / len(grams) if grams else 0.0


def main() -> int:
    import rag.lookup as lk
    from rag.index.build import build_index
    from rag.service import Newsrag

    build_index(ROOT / "corpus", ROOT / "index", None)
    service = Newsrag.open(ROOT / "index")
    items = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]
    lk.SEMANTIC_MIN = -1.0  # every candidate, scored; the floor is what we are choosing
    rows = []
    for it in items:
        matches = [m for m in service.lookup(it["quote"], k=10) if m.match == "semantic"]
        best = max(matches, key=lambda m: m.score, default=None)
        src = it["source_sentence"]
        at = best.article.text.find(src) if best and src else -1
        right_article = at != -1 and best.start < at + len(src) and at < best.end  # the matched span overlaps the source sentence
        rows.append({
            "id": it["id"], "kind": it["kind"], "cos": best.score if best else 0.0,
            "overlap": bigram_overlap(it["quote"], best.passage) if best else 0.0,
            "right": right_article,
        })
    para = [r for r in rows if r["kind"] == "paraphrase"]
    unrel = [r for r in rows if r["kind"] == "unrelated"]
    print(f"{len(para)} paraphrases (source found among candidates: {sum(r['right'] for r in para)}), {len(unrel)} unrelated")
    print("paraphrase cos: " + " ".join(f"{r['cos']:.3f}" for r in sorted(para, key=lambda r: r["cos"])))
    print("unrelated  cos: " + " ".join(f"{r['cos']:.3f}" for r in sorted(unrel, key=lambda r: r["cos"])))

    def decisions(accept) -> tuple[int, int, int]:
        tp = sum(1 for r in para if r["right"] and accept(r))
        fp = sum(1 for r in unrel if accept(r)) + sum(1 for r in para if not r["right"] and accept(r))
        tn = sum(1 for r in unrel if not accept(r))
        return tp, fp, tn

    print("\nfloor  paraphrases found  unrelated matched  right decisions")
    best_rule = None
    for floor in [x / 1000 for x in range(880, 981, 5)]:
        for w in (0.0, 0.05, 0.1):  # cosine + w * bigram overlap
            tp, fp, tn = decisions(lambda r: r["cos"] + w * r["overlap"] >= floor + w * 0.5)
            score = tp + tn
            if best_rule is None or score > best_rule[0]:
                best_rule = (score, floor, w, tp, fp, tn)
            if w == 0.0:
                print(f"{floor:.3f}  {tp:>17}  {fp:>17}  {score:>15}")
    score, floor, w, tp, fp, tn = best_rule
    print(f"\nbest: cos + {w} * (bigram overlap - 0.5) >= {floor:.3f}: {tp}/{len(para)} paraphrases found, "
          f"{fp} wrong matches, {tn}/{len(unrel)} unrelated rejected ({score}/{len(rows)} right decisions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
