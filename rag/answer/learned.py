"""The default offline answerer: the learned scorer picks the sentences to quote and decides refusal.

Steps, for a QueryPlan and its retrieved hits:
1. candidates = the sentences of the retrieved chunks (rag.answer.candidates), as verbatim spans;
2. keep the `max_scored` most promising (retrieval rank and character overlap with the question,
   at least two per outlet the question names), so the scorer's cost is bounded;
3. score each with the cross-encoder (rag.answer.scorer); a logistic combiner, fitted on held-out
   questions (scripts/calibrate_scorer.py), turns its logit, two lexical features (key-term
   support and score of rag.answer.extractive), the retrieval rank and whether the asked kind of
   span is there (`slot`) into P(this sentence answers the question); a number or date
   question's candidate that holds no figure / date gets `type_miss` of that;
4. refuse when the best probability is under the calibrated threshold;
5. quote the best sentence, plus near-equals (other outlets first, then other articles, then the
   same article's other sentences); for a comparison, the best sentence of each outlet, or of
   each article when the compared sources are not outlets of the index; if two outlets give
   different figures for the asked quantity, say so and quote both (rag.answer.compare);
6. compose with outlet framing and citation markers (rag.answer.extractive.compose).

Pure apart from the scorer, which is loaded once per process.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.candidates import Candidate, candidates_from_hits, sentence_spans
from rag.answer.compare import group_by_outlet, quote_disagreement
from rag.answer.extractive import compose
from rag.answer.plan import QueryPlan
from rag.answer.refusal import refusal_answer
from rag.answer.scorer import AnswerScorer, load_scorer, pair_text
from rag.answer.scoring import type_match
from rag.answer.slots import SLOT_TYPES, answer_slots
from rag.text.fold import fold
from rag.types import Answer, Hit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnedConfig:
    """Knobs of the learned answerer."""

    max_hits: int = 8
    max_scored: int = 12  # candidates the cross-encoder reads per question (its cost is linear in this)
    per_named_outlet: int = 2
    max_sentences: int = 3
    max_compare_outlets: int = 4
    keep_ratio: float = 0.6  # another sentence is quoted when it scores this share of the best
    compare_floor: float = 0.5  # an outlet's sentence joins a comparison from this share of the threshold
    type_miss: float = 0.5  # a number/date question's candidate without a figure/date keeps this share


@dataclass(frozen=True)
class Scored:
    cand: Candidate
    p: float

    @property
    def outlet(self) -> str:
        return self.cand.hit.article.outlet


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def shortlist(plan: QueryPlan, cands: Sequence[Candidate], config: LearnedConfig) -> list[Candidate]:
    """The candidates worth the cross-encoder's time: best by rank prior + question-bigram overlap."""
    grams = _bigrams(fold(plan.query))

    def cheap(c: Candidate) -> float:
        overlap = len(grams & _bigrams(c.context or c.folded)) / max(1, len(grams))
        return overlap + 1.0 / (1.0 + 0.5 * (c.hit.rank - 1))

    ranked = sorted(cands, key=cheap, reverse=True)
    keep: list[Candidate] = []
    for outlet in plan.outlets:  # each named outlet gets a voice
        keep += [c for c in ranked if c.hit.article.outlet == outlet][: config.per_named_outlet]
    for c in ranked:
        if len(keep) >= config.max_scored:
            break
        if c not in keep:
            keep.append(c)
    return keep


def neighbours(c: Candidate) -> tuple[str, str]:
    """The sentences before and after a candidate (80 characters at most each), for the scorer's context."""
    text = c.hit.article.text
    spans = sentence_spans(text)
    before = after = ""
    for k, (s, e) in enumerate(spans):
        if s <= c.start < e or (k + 1 < len(spans) and c.start < spans[k + 1][0]):
            before = text[spans[k - 1][0] : spans[k - 1][1]] if k > 0 else ""
            nxt = next((j for j in range(k, len(spans)) if spans[j][0] >= c.end), None)
            after = text[spans[nxt][0] : spans[nxt][1]] if nxt is not None else ""
            break
    return before[-80:], after[:80]


FEATURES = ("logit", "lexical_support", "lexical_score", "rank_prior", "slot")


def features(plan: QueryPlan, cands: Sequence[Candidate], logits: Sequence[float]) -> list[tuple[float, ...]]:
    """Per candidate: the cross-encoder's logit, the lexical support/score of rag.answer.extractive
    (key-term coverage, answer-type cue), which see exact names and figures the encoder may miss,
    the retrieval rank prior, and `slot`: 0 when a number / date / who / where question's
    candidate holds no figure / date / name / place that the question does not already contain
    (rag.answer.slots), else 1. A scorer card's combiner uses the ones it names."""
    from rag.answer.extractive import analyze, score_candidates

    q = analyze(plan.question, plan.history, rewritten=plan.query)
    lexical = {(s.cand.hit.article.article_id, s.cand.start): s for s in score_candidates(q, cands)}
    asks_slot = plan.kind in SLOT_TYPES and not plan.info.attribution
    out = []
    for c, x in zip(cands, logits):
        lx = lexical.get((c.hit.article.article_id, c.start))
        slot = 0.0 if asks_slot and not answer_slots(plan.info, c.text) else 1.0
        out.append((x, lx.support if lx else 0.0, lx.score if lx else 0.0, 1.0 / (1.0 + 0.25 * (c.hit.rank - 1)), slot))
    return out


@functools.lru_cache(maxsize=8)
def feature_columns(names: tuple[str, ...]) -> tuple[int, ...]:
    """Positions in FEATURES of the features a scorer card's combiner names (checked once per card).

    Raises:
        ModelError: the card names a feature this newsrag does not compute.
    """
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        from rag.errors import ModelError

        raise ModelError(f"the scorer card's combiner uses {unknown}, this newsrag computes {list(FEATURES)}; "
                         "re-run scripts/calibrate_scorer.py or reinstall newsrag")
    return tuple(FEATURES.index(name) for name in names)


def type_factor(plan: QueryPlan, c: Candidate, config: LearnedConfig) -> float:
    """`type_miss` for a number/date question's candidate that holds no figure/date, else 1."""
    if plan.kind in ("number", "date") and not plan.info.attribution and type_match(plan.kind, c.folded) == 0:
        return config.type_miss
    return 1.0


def candidate_features(plan: QueryPlan, cands: Sequence[Candidate], scorer: AnswerScorer) -> list[tuple[float, ...]]:
    """FEATURES of each candidate: the cross-encoder reads them all in one batch."""
    logits = scorer.logits([pair_text(plan.query, c.text, c.hit.article.title, *neighbours(c)) for c in cands])
    return features(plan, cands, logits)


def score(plan: QueryPlan, cands: Sequence[Candidate], scorer: AnswerScorer, config: LearnedConfig) -> list[Scored]:
    """Answer probabilities of `cands` (the combiner's, or the Platt-scaled logit without one), best first."""
    if not cands:
        return []
    feats = candidate_features(plan, cands, scorer)
    combine = scorer.card.combiner
    if combine:
        pick = feature_columns(combine.features)
        probs = [combine.probability([f[i] for i in pick]) for f in feats]
    else:
        probs = [scorer.card.probability(f[0]) for f in feats]
    out = [Scored(c, p * type_factor(plan, c, config)) for c, p in zip(cands, probs)]
    out.sort(key=lambda s: (-s.p, s.cand.hit.rank, s.cand.start))
    return out


def _repeats(s: Scored, chosen: Sequence[Scored]) -> bool:
    """Whether `s` is already quoted: an overlapping span of the same article, or the same sentence
    in a republication."""
    return any((c.cand.hit.article.article_id == s.cand.hit.article.article_id and s.cand.start < c.cand.end and c.cand.start < s.cand.end)
               or c.cand.folded == s.cand.folded for c in chosen)


def select(plan: QueryPlan, scored: Sequence[Scored], threshold: float, config: LearnedConfig) -> tuple[list[Scored], bool]:
    """The sentences to quote, grouped by outlet, and whether outlets disagree on a figure."""
    best = scored[0]
    chosen = [best]
    if plan.compare:
        floor = config.compare_floor * threshold
        wanted = plan.outlets or tuple(dict.fromkeys(s.outlet for s in scored))
        for outlet in wanted[: config.max_compare_outlets]:
            top = next((s for s in scored if s.outlet == outlet), None)
            if top is not None and top.p >= floor and top.outlet not in {c.outlet for c in chosen}:
                chosen.append(top)
        if len(plan.outlets) < 2:  # the compared sources may be articles of one outlet (reposts of two agencies)
            for s in scored:
                if len(chosen) >= config.max_compare_outlets or s.p < floor:
                    break
                if not _repeats(s, chosen) and s.cand.hit.article.article_id not in {c.cand.hit.article.article_id for c in chosen}:
                    chosen.append(s)
    else:
        # Near-equals are quoted too, other outlets first, then other articles, then the same
        # article's other sentences (the fact is often the sentence after the one that matches).
        bar = max(threshold, config.keep_ratio * best.p)
        pool = [s for s in scored[1:] if s.p >= bar]
        for prefer in ("outlet", "article", None):
            for s in pool:
                if len(chosen) >= config.max_sentences or s in chosen or _repeats(s, chosen):
                    continue
                if prefer == "outlet" and s.outlet in {c.outlet for c in chosen}:
                    continue
                if prefer == "article" and s.cand.hit.article.article_id in {c.cand.hit.article.article_id for c in chosen}:
                    continue
                chosen.append(s)

    disagreement = False
    if plan.kind == "number" or plan.compare:
        pool = [s for s in scored if s.p >= config.compare_floor * threshold]
        disagreement = quote_disagreement(chosen, pool, plan.query, best.cand.text, lambda s: s.cand.text, lambda s: s.outlet)
    order = {outlet: i for i, (outlet, _) in enumerate(group_by_outlet([s.outlet for s in chosen]))}
    chosen.sort(key=lambda s: order[s.outlet])
    return chosen, disagreement


def _overlaps(c: Candidate, seen: Sequence[tuple[str, int, int]]) -> bool:
    aid = c.hit.article.article_id
    return any(a == aid and c.start < e and s < c.end for a, s, e in seen)


def unseen_first(plan: QueryPlan, scored: Sequence[Scored], threshold: float) -> list[Scored]:
    """In a follow-up, drop sentences already quoted in the conversation, unless nothing else clears
    the threshold (then the earlier quote is still the answer, and is repeated)."""
    if not plan.seen:
        return list(scored)
    fresh = [s for s in scored if not _overlaps(s.cand, plan.seen)]
    return fresh if fresh and fresh[0].p >= threshold else list(scored)


class LearnedAnswerer:
    """Answerer protocol (rag.answer.registry): quotes what the learned scorer ranks best."""

    name = "extractive"
    label = "Extractive (quotes only)"

    def __init__(self, scorer: AnswerScorer | None = None, config: LearnedConfig = LearnedConfig()) -> None:
        self._scorer = scorer
        self.config = config

    @property
    def scorer(self) -> AnswerScorer:
        if self._scorer is None:
            self._scorer = load_scorer()
        return self._scorer

    def warm_up(self) -> None:
        self.scorer.score([pair_text("预热", "预热。")])

    def shortlisted(self, plan: QueryPlan, hits: Sequence[Hit]) -> list[Candidate]:
        """The candidate sentences of `hits` that the scorer will read."""
        return shortlist(plan, candidates_from_hits(hits, plan.info.terms, self.config.max_hits), self.config)

    def scored(self, plan: QueryPlan, hits: Sequence[Hit]) -> list[Scored]:
        """Every shortlisted candidate with its probability, best first (for answers and calibration)."""
        return score(plan, self.shortlisted(plan, hits), self.scorer, self.config)

    def best_score(self, plan: QueryPlan, hits: Sequence[Hit]) -> float:
        s = self.scored(plan, hits)
        return s[0].p if s else 0.0

    def answer(self, plan: QueryPlan, hits: Sequence[Hit]) -> Answer:
        scored = self.scored(plan, hits)
        threshold = self.scorer.threshold
        scored = unseen_first(plan, scored, threshold)
        if not scored or scored[0].p < threshold:
            log.info("refusing %r: best p %.3f < %.3f", plan.question, scored[0].p if scored else 0.0, threshold)
            return refusal_answer(plan.question, plan.lang)
        chosen, disagreement = select(plan, scored, threshold, self.config)
        return compose(plan.info, [s.cand for s in chosen], disagreement)
