"""Whether the retrieved text supports an answer at all, and the refusal Answer (pure).

Support of a candidate sentence mixes how many of the question's key terms the sentence
covers, how many its passage (chunk + title) covers, and whether the sentence holds the kind
of thing asked (a number for 多少 ...). The answerer refuses when the best candidate's support
is below `RefusalPolicy.threshold`, calibrated on tests/data/devset.jsonl (see
`newsrag eval --calibrate`).

English questions share almost no surface terms with Chinese text, so for them the coverage
part uses only terms that can occur verbatim in Chinese text (numbers, Latin names); with
no such term the support is the answer-type cue alone. This is a known weak spot.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.types import Answer

REFUSAL_TEXT = {
    "zh": "语料库中没有找到能回答这个问题的内容。",
    "en": "The corpus contains nothing that answers this question.",
}


@dataclass(frozen=True)
class RefusalPolicy:
    """Refuse below `threshold` support (0..1)."""

    threshold: float = 0.55
    sentence_weight: float = 0.55
    passage_weight: float = 0.30
    type_weight: float = 0.15


DEFAULT_POLICY = RefusalPolicy()


def support_score(sentence_cov: float, passage_cov: float, type_score: float, asks_type: bool, policy: RefusalPolicy = DEFAULT_POLICY) -> float:
    """Support of one candidate, in [0, 1].

    When the question asks no particular type ("what"), the type weight is spread over the
    two coverage parts so an open question is not penalised for it.
    """
    if asks_type:
        return policy.sentence_weight * sentence_cov + policy.passage_weight * passage_cov + policy.type_weight * type_score
    scale = 1.0 / (policy.sentence_weight + policy.passage_weight)
    return scale * (policy.sentence_weight * sentence_cov + policy.passage_weight * passage_cov)


def refusal_answer(question: str, lang: str, mode: str = "extractive", notice: str = "") -> Answer:
    """The Answer for "nothing retrieved supports an answer": refused, no citations."""
    return Answer(question=question, text=REFUSAL_TEXT.get(lang, REFUSAL_TEXT["zh"]), refused=True, mode=mode, citations=(), notice=notice)
