"""The offline extractive answerer: pick source sentences that answer the question and quote them.

Every statement of the answer is a verbatim (minimally trimmed) source sentence, framed with
its outlet and date and followed by its citation marker:

    据美国之音（2019-08-12）报道，香港警方周一表示，他们已经拘捕了……逾 700 人……[1]。

Steps: (1) candidates = sentences of the retrieved chunks; (2) score each by key-term
coverage (sentence and passage), answer-type cue (a figure for 多少, a date for 何时 ...) and
retrieval rank; (3) refuse when the best candidate's support is under the threshold;
(4) keep the best sentence plus the best of other outlets that score nearly as well (one per
outlet; side by side for "how do outlets differ" questions); (5) if two outlets give different
figures for the asked quantity, say so and cite both; (6) compose, number the citations.
Pure: question, hits and history in, Answer out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.text.crosslingual import expand
from rag.answer.candidates import Candidate, candidates_from_hits
from rag.answer.citations import make_citation, renumber
from rag.answer.compare import asked_unit_class, concepts_of, extract_quantities, group_by_outlet, quote_disagreement
from rag.answer.followup import rewrite_query
from rag.answer.question import QuestionInfo, analyze_question, key_terms
from rag.answer.refusal import DEFAULT_POLICY, RefusalPolicy, refusal_answer, support_score
from rag.answer.slots import SLOT_TYPES, answer_slots
from rag.answer.scoring import coverage, source_cue, term_class, term_present, term_weight, type_match
from rag.text.fold import fold
from rag.types import Answer, Citation, Hit, History

log = logging.getLogger(__name__)

_TERMINAL = "。；;"
# Support is multiplied by these for each key term that no retrieved passage contains: an absent
# *thing* (金牌, 年龄, 辩护律师) means the corpus does not cover the question; an absent verb is
# often a paraphrase (涨到 / 提高到); an absent non-word is a tokenizer fragment (新年后曼吉斯套州 → 后曼).
MISSING_TERM_PENALTY = {"noun": 0.7, "word": 0.9, "fragment": 1.0}
FOCUS_MISSING_PENALTY = 0.5  # the passage never names the asked-about thing (QuestionInfo.focus)
# A term counts as present in the passages from this much credit (a synonym, 0.8), as absent below it.
PRESENT_FROM = 0.75
SLOT_MISSING_PENALTY = 0.8  # the sentence holds no span of the asked kind (rag.answer.slots)
SLOT_MISSING_SCORE = 0.05
SLOT_CHECKED = 6
_CLOSERS = "！？!?”’\"'」』）)】》…"


@dataclass(frozen=True)
class ExtractiveConfig:
    """Knobs of the extractive answerer (defaults are what the dev set was evaluated with)."""

    max_hits: int = 8
    max_sentences: int = 3  # outside comparisons
    max_compare_outlets: int = 4
    keep_ratio: float = 0.8  # an extra sentence must score at least this share of the best
    compare_ratio: float = 0.55  # looser for side-by-side comparisons and disagreement checks
    policy: RefusalPolicy = field(default_factory=lambda: DEFAULT_POLICY)


DEFAULT_CONFIG = ExtractiveConfig()


@dataclass(frozen=True)
class Scored:
    """A candidate with its scores (kept for explanations and calibration)."""

    cand: Candidate
    score: float
    support: float
    sentence_cov: float
    passage_cov: float
    type_score: float

    @property
    def outlet(self) -> str:
        return self.cand.hit.article.outlet


def _matchable_terms(q: QuestionInfo) -> tuple[str, ...]:
    # English words cannot occur in Chinese text; digits and Chinese terms (borrowed from an
    # earlier question by a follow-up) can.
    if q.lang == "zh":
        if q.qtype == "stance" and "对" in q.text:
            # "X对Y的定性/看法": the answer is what X said, which need not repeat Y (李明称这是
            # 一场“有组织的暴动”), so sentences are matched on the speaker X.
            speaker = tuple(t for t in key_terms(q.text.split("对", 1)[0]) if t in q.terms)
            return speaker or q.terms
        return q.terms
    own = tuple(t for t in q.terms if any(ch.isdigit() or "\u3400" <= ch <= "\u9fff" for ch in t))
    # The dictionary translation retrieval used (rag.text.crosslingual): one "a|b|c" term per English term.
    translated = tuple("|".join(g) for g in expand(q.text) if not (len(g) == 1 and g[0] in own))
    return own + translated


def score_candidates(q: QuestionInfo, candidates: Sequence[Candidate], policy: RefusalPolicy = DEFAULT_POLICY) -> list[Scored]:
    """Score every candidate for question `q`; best first."""
    terms = _matchable_terms(q)
    # A follow-up's sentence may repeat the borrowed context or only what the question itself asks.
    own = tuple(t for t in terms if t not in q.context) or terms
    asks_type = q.qtype != "what" or q.attribution
    passage_cov: dict[str, float] = {}
    asked = concepts_of(q.text) if q.qtype == "number" else frozenset()
    unit = asked_unit_class(q.text) if q.qtype == "number" else None
    out: list[Scored] = []
    for c in candidates:
        hit = c.hit
        if hit.chunk.chunk_id not in passage_cov:
            # The outlet's name counts as passage text: "观察者网怎么说" is matched by its articles.
            passage_cov[hit.chunk.chunk_id] = coverage(terms, fold(hit.article.outlet + "\n" + hit.article.title + "\n" + hit.chunk.text)) if terms else 0.0
        p_cov = passage_cov[hit.chunk.chunk_id]
        outlet = fold(hit.article.outlet) + "\n"
        s_cov = _followup_coverage(terms, own, outlet + c.folded) if terms else 0.0
        n_cov = _followup_coverage(terms, own, outlet + c.context) if terms else 0.0
        t = (source_cue(c.folded) if q.attribution else type_match(q.qtype, c.folded)) if asks_type else 0.0
        if q.qtype == "number" and t > 0.5:
            figures = extract_quantities(c.text)
            if unit:
                if not any(x.counts_in(unit) for x in figures):
                    t = 0.5  # a figure, but counted in other units (人 when 多少项 is asked)
            elif asked and not any(x.concepts & asked for x in figures):
                t = 0.5  # a figure, but not of what is asked (deaths when arrests are asked)
        rank_prior = 1.0 / (1.0 + 0.25 * (hit.rank - 1))
        if terms:
            score = 0.35 * s_cov + 0.15 * n_cov + 0.15 * p_cov + 0.15 * rank_prior + (0.2 * t if asks_type else 0.0)
            # A sentence that holds the asked kind of thing may leave the rest of the question to its
            # neighbours ("…被捕人数已超过5000人。…125项审前调查已经开始。"): half credit for them.
            s_support = max(s_cov, 0.5 * (s_cov + n_cov)) if asks_type and t >= 1.0 else s_cov
            support = support_score(s_support, p_cov, t, asks_type, policy)
        else:  # nothing lexical to go on: retrieval order and the answer-type cue decide
            score = 0.6 * rank_prior + 0.4 * t - 0.02 * c.position
            support = 0.5 + 0.5 * t if asks_type else 0.6
        if len(c.text) > 150:
            score -= 0.03
        if q.focus and not _mentions_all(q.focus, hit, c):
            support *= FOCUS_MISSING_PENALTY
        out.append(Scored(c, score, support, s_cov, p_cov, t))
    if terms and out:
        factor = 1.0
        for term in missing_terms([t for t in terms if t not in q.answer_type_terms], candidates):
            factor *= MISSING_TERM_PENALTY[term_class(term)]
        if factor < 1.0:
            out = [dataclasses.replace(s, support=s.support * factor) for s in out]
    out.sort(key=lambda s: (-s.score, s.cand.hit.rank, s.cand.start))
    if q.qtype in SLOT_TYPES and not q.attribution and not q.compare and q.lang == "zh":
        # The best few must hold what is asked (a figure, a date, a name, a place) that the
        # question does not already say; part-of-speech tagging is kept to these few.
        head = [s if answer_slots(q, s.cand.text) else dataclasses.replace(s, score=s.score - SLOT_MISSING_SCORE, support=s.support * SLOT_MISSING_PENALTY) for s in out[:SLOT_CHECKED]]
        out = head + out[SLOT_CHECKED:]
        out.sort(key=lambda s: (-s.score, s.cand.hit.rank, s.cand.start))
    return out


def _followup_coverage(terms: Sequence[str], own: Sequence[str], folded_text: str) -> float:
    """Coverage of all terms, or (better, when it is) the mean of that and the coverage of the
    follow-up's own terms: "他在电话里还提议召开什么会议" is answered by a sentence about the 会议
    that need not name 张伟 and 李明 again, but "那天然气呢" still needs the 可采储量 it borrowed."""
    whole = coverage(terms, folded_text)
    if own == terms:
        return whole
    return max(whole, 0.5 * (whole + coverage(own, folded_text)))


def _mentions_all(terms: Sequence[str], hit: Hit, cand: Candidate) -> bool:
    """Whether the candidate sentence (or its article's title) names every term.

    Neighbouring sentences do not count: in "…张伟后来改了名。李明…第一任妻子…" the 妻子
    belongs to someone else.
    """
    text = fold(hit.article.title) + "\n" + cand.folded
    return all(term_present(t, text) >= 1.0 for t in terms)


def missing_terms(terms: Sequence[str], candidates: Sequence[Candidate]) -> list[str]:
    """Multi-character key terms that no retrieved passage (chunk or title) contains.

    Such a term names a part of the question the retrieved text does not speak to
    (张伟的**妻子** ...), so each one lowers the support.
    """
    passages = {c.hit.chunk.chunk_id: fold(c.hit.article.outlet + "\n" + c.hit.article.title + "\n" + c.hit.chunk.text) for c in candidates}
    blob = "\n".join(passages.values())
    return [t for t in terms if term_weight(t) >= 1.0 and term_present(t, blob) < PRESENT_FROM]


def _select(q: QuestionInfo, scored: list[Scored], config: ExtractiveConfig) -> tuple[list[Scored], bool]:
    """The sentences to quote, in answer order, and whether outlets disagree on a figure."""
    best = scored[0]
    threshold = config.policy.threshold
    eligible = [s for s in scored if s.support >= threshold]
    if q.compare:
        pool = [s for s in eligible if s.score >= config.compare_ratio * best.score]
        if q.qtype != "what":  # side by side only sentences that hold what is asked
            pool = [s for s in pool if s.type_score > 0] or pool
        chosen: list[Scored] = []
        for s in pool:
            if s.outlet not in {c.outlet for c in chosen}:
                chosen.append(s)
            if len(chosen) >= config.max_compare_outlets:
                break
    else:
        pool = [s for s in eligible if s.score >= config.keep_ratio * best.score and s.sentence_cov >= 0.6 * best.sentence_cov]
        chosen = [best]
        for s in pool:  # first, other outlets
            if len(chosen) >= config.max_sentences:
                break
            if s.outlet not in {c.outlet for c in chosen}:
                chosen.append(s)
        for s in pool:  # then other articles
            if len(chosen) >= config.max_sentences:
                break
            if s not in chosen and s.cand.hit.article.article_id not in {c.cand.hit.article.article_id for c in chosen}:
                chosen.append(s)
        for s in pool:  # then anything else that scores as well
            if len(chosen) >= config.max_sentences:
                break
            if s not in chosen:
                chosen.append(s)

    disagreement = False
    if q.qtype == "number" or q.compare:
        pool = [s for s in scored if s.score >= config.compare_ratio * best.score]
        disagreement = quote_disagreement(chosen, pool, q.text, best.cand.text, lambda s: s.cand.text, lambda s: s.outlet)
    # A sentence inside a chosen joined span (why-questions) would only repeat it.
    chosen = [s for s in chosen if not any(o is not s and _inside(s.cand, o.cand) for o in chosen)]
    # Group by outlet, outlets in order of their best sentence.
    order = {outlet: i for i, (outlet, _) in enumerate(group_by_outlet([s.outlet for s in chosen]))}
    chosen.sort(key=lambda s: order[s.outlet])
    return chosen, disagreement


def _inside(a: Candidate, b: Candidate) -> bool:
    """a's span lies within b's (same article), and they differ."""
    return a.hit.article.article_id == b.hit.article.article_id and b.start <= a.start and a.end <= b.end and (a.start, a.end) != (b.start, b.end)


def _display(quote: str, marker: str) -> str:
    """The quote with its marker: 报道……人[1]。 (a final 。 moves after the marker)."""
    body = quote.rstrip()
    if body and body[-1] in _TERMINAL:
        return f"{body[:-1]}{marker}。"
    if body and body[-1] in _CLOSERS:
        return f"{body}{marker}"
    return f"{body}{marker}。"


def _frame(c: Citation, lang: str) -> str:
    if lang == "en":
        who = c.outlet or f"“{c.title}”"
        when = f" ({c.published})" if c.published else ""
        return f"According to {who}{when}: 「{c.quote.strip()}」[{c.n}]"
    who = c.outlet or (f"《{c.title}》" if c.title else "一篇报道")
    when = f"（{c.published}）" if c.published else ""
    return f"据{who}{when}报道，" + _display(c.quote, f"[{c.n}]")


def _heading(q: QuestionInfo, outlets: list[str], disagreement: bool) -> str:
    if disagreement:
        return "The outlets give different figures:" if q.lang == "en" else "各媒体给出的数字不一致："
    if q.compare:
        if len(outlets) >= 2:
            return "How each outlet reported it:" if q.lang == "en" else "各媒体的相关报道如下："
        return f"Only {outlets[0]} was found reporting on this:" if q.lang == "en" else f"检索到的相关报道只来自{outlets[0]}："
    return ""


def compose(q: QuestionInfo, chosen: Sequence[Candidate], disagreement: bool, mode: str = "extractive") -> Answer:
    """Build the Answer text, citations and outlet groups from the chosen sentences (in answer order)."""
    citations = [make_citation(i, c.hit.article, c.start, c.end) for i, c in enumerate(chosen, start=1)]
    lines = [_frame(c, q.lang) for c in citations]
    outlets = [outlet for outlet, _ in group_by_outlet([c.hit.article.outlet for c in chosen])]
    head = _heading(q, outlets, disagreement)
    sep = "\n"
    text = (head + "\n" if head else "") + sep.join(lines)
    text, cites = renumber(text, citations)
    groups = tuple((outlet, tuple(c.n for c in cites if c.outlet == outlet)) for outlet in outlets)
    return Answer(question=q.text, text=text, refused=False, mode=mode, citations=cites, groups=groups, disagreement=disagreement)


def analyze(question: str, history: History = (), rewritten: str | None = None) -> QuestionInfo:
    """The question's analysis, with key terms taken from its follow-up rewrite.

    Language, answer type and comparison flags come from the question as asked; the terms
    also include the entities a follow-up borrows from earlier questions.
    """
    q = analyze_question(question)
    if rewritten is None:  # a QueryPlan passes its own (rag.answer.plan), so the rewrite runs once
        rewritten = rewrite_query(question, history) if history else question
    if rewritten == question:
        return q
    extra = tuple(t for t in analyze_question(rewritten).terms if t not in q.terms)
    return dataclasses.replace(q, terms=extra + q.terms, context=extra)


_JOINABLE = frozenset({"why", "where", "who"})


def _candidates(q: QuestionInfo, hits: Sequence[Hit], config: ExtractiveConfig) -> list[Candidate]:
    # The asked thing often sits in the sentence next to the one that matches the question (a
    # reason after a claim, "在那次圣彼得堡之行中" after "最后一次公开露面是在12月底"): such
    # questions may quote both sentences as one span. Not numbers or dates: most sentences have one.
    wants = (lambda folded: type_match(q.qtype, folded) > 0.5) if q.qtype in _JOINABLE and not q.attribution else None
    return candidates_from_hits(hits, q.terms, config.max_hits, wants)


def answer_extractive(
    question: str,
    hits: Sequence[Hit],
    history: History = (),
    config: ExtractiveConfig = DEFAULT_CONFIG,
) -> Answer:
    """Answer `question` by quoting the retrieved passages (no LLM).

    Args:
        question: the user's question (zh or en; traditional characters are fine).
        hits: retrieval results for the (rewritten) question, best first.
        history: earlier questions (or (question, answer) pairs), oldest first; used to
            complete an elliptical follow-up before matching.
        config: selection knobs and the refusal policy.

    Returns:
        An Answer whose every [n] marker has a citation quoting article.text[start:end], or a
        refusal (refused=True, no citations) when nothing retrieved supports an answer.
    """
    q = analyze(question, history)
    scored = score_candidates(q, _candidates(q, hits, config), config.policy)
    if not scored or scored[0].support < config.policy.threshold:
        log.info("refusing %r: best support %.3f < %.3f", question, scored[0].support if scored else 0.0, config.policy.threshold)
        return refusal_answer(question, q.lang)
    chosen, disagreement = _select(q, scored, config)
    return compose(q, [s.cand for s in chosen], disagreement)


def best_support(question: str, hits: Sequence[Hit], history: History = (), config: ExtractiveConfig = DEFAULT_CONFIG) -> float:
    """The support of the best candidate (what the refusal threshold is compared with); for calibration."""
    q = analyze(question, history)
    scored = score_candidates(q, _candidates(q, hits, config), config.policy)
    return scored[0].support if scored else 0.0
