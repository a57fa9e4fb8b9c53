"""Answer slots: the span of a sentence that could be the answer to what is asked.

A sentence answers 多少 only if it holds a figure (of the asked unit), 何时 only if it holds a
date, 谁 only if it names a person or organisation, 哪里 only if it names a place, and in each
case one the question does not already contain: "张伟最后一次公开露面是在12月底" repeats
the question but has no city in it, so it does not answer "是在哪座城市". The extractive
answerer lowers the score and the support of the best few sentences that have no slot
(rag.answer.extractive.score_candidates).

Names and places come from jieba's part-of-speech tags (nr person, ns place, nt organisation,
nz other proper noun) over the project's tokenizer, plus transliterated full names
(安娜·彼得罗娃) and Latin names (rag.text.tokens.pos_tag). Pure; jieba is loaded lazily.
"""

from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from rag.answer.compare import asked_unit_class, extract_quantities
from rag.answer.question import QuestionInfo
from rag.answer.scoring import BARE_MAGNITUDE_RE, DATE_RE, FRACTION_RE, NAME_RE, WHERE_RE
from rag.text.tokens import pos_tag
from rag.text.fold import fold

# The question types whose answer is a span of its own kind; reasons and stances are judged by
# their cue words instead (rag.answer.scoring.type_match).
SLOT_TYPES = frozenset({"number", "date", "who", "where"})
_LATIN_NAME_RE = re.compile(r"\b[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)*\b")
_NAME_TAGS = ("nr", "nt", "nz")
_PLACE_TAGS = ("ns",)


@functools.lru_cache(maxsize=1)
def too_general() -> frozenset[str]:
    """Proper nouns too general to be an answer (rag/data/general_names.txt: country names)."""
    from importlib import resources

    text = resources.files("rag").joinpath("data/general_names.txt").read_text(encoding="utf-8")
    return frozenset(fold(w) for line in text.splitlines() if not line.startswith("#") for w in line.split())


@dataclass(frozen=True)
class Slot:
    """One span of a sentence of the kind the question asks for."""

    kind: str  # number, date, name, place
    text: str
    start: int
    end: int


def _proper_nouns(kind: str, tags: tuple[str, ...], folded: str) -> list[Slot]:
    return [Slot(kind, w, s, s + len(w)) for w, flag, s in pos_tag(folded) if len(w) >= 2 and flag.startswith(tags)]


def _regex(kind: str, pattern: re.Pattern[str], folded: str) -> list[Slot]:
    return [Slot(kind, m.group(0), m.start(), m.end()) for m in pattern.finditer(folded)]


def _is_new(slot: Slot, folded_question: str) -> bool:
    # Already said by the question (the 5000 of "被捕人数超过5000人时"), or too general a name (too_general()).
    text = fold(slot.text)
    return text not in folded_question and text not in too_general()


def answer_slots(q: QuestionInfo, sentence: str) -> tuple[Slot, ...]:
    """The spans of `sentence` that could answer `q` and that `q` does not already contain.

    Only number, date, who and where questions have slots (reasons and stances are judged by
    their cue words, rag.answer.scoring.type_match); for the others this returns ().

    Example:
        >>> from rag.answer.question import analyze_question
        >>> q = analyze_question("张伟最后一次公开露面是在哪座城市？")
        >>> "圣彼得堡" in [s.text for s in answer_slots(q, "在那次圣彼得堡之行中，他会见了普京。")]
        True
        >>> answer_slots(q, "张伟最后一次公开露面是在12月底。")
        ()
    """
    folded = fold(sentence)
    if q.qtype == "number":
        unit = asked_unit_class(q.text)
        found = [Slot("number", x.surface, x.start, x.end) for x in extract_quantities(folded) if x.counts_in(unit)]
        if unit in (None, "%"):
            found += _regex("number", FRACTION_RE, folded)
        if unit in (None, "person"):
            found += _regex("number", BARE_MAGNITUDE_RE, folded)
    elif q.qtype == "date":
        found = _regex("date", DATE_RE, folded)
    elif q.qtype == "who":
        found = _proper_nouns("name", _NAME_TAGS, folded) + _regex("name", NAME_RE, folded)
        found += [Slot("name", m.group(0), m.start(), m.end()) for m in _LATIN_NAME_RE.finditer(sentence)]
    elif q.qtype == "where":
        found = _proper_nouns("place", _PLACE_TAGS, folded) + _regex("place", WHERE_RE, folded)
    else:
        return ()
    fq = fold(q.text)
    return tuple(s for s in found if _is_new(s, fq))
