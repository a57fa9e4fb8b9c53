"""Complete an elliptical follow-up question from the previous ones, without an LLM.

"他们会待多久？" after "救援队派了多少人？" becomes "救援队会待多久？": a pronoun
(他们, 它, 该国, they, it ...) is replaced by the previous question's main entities, and a
question that is merely short and has at most one key term gets them prepended. A question
that stands on its own is returned unchanged.
"""

from __future__ import annotations

import re

from rag.answer.question import EN_ANAPHORA_RE, ZH_ANAPHORA_RE, key_terms
from rag.text.lang import detect_lang
from rag.types import History, HistoryItem


_ZH_CONTINUATION_RE = re.compile(r"^(那|那么|那他们|还有|另外|然后|此外|其中)")
_EN_CONTINUATION_RE = re.compile(r"^(and|what about|how about|then|also)\b", re.I)
MAX_ENTITIES = 4


def _question_of(item: HistoryItem) -> str:
    """History items may be plain questions or (question, answer) pairs."""
    if isinstance(item, str):
        return item
    return str(item[0]) if item else ""


def _entities(question: str) -> list[str]:
    """The previous question's main entities: its multi-character key terms, first ones first."""
    return [t for t in key_terms(question) if len(t) >= 2 and not t.isdigit()][:MAX_ENTITIES]


def is_followup(question: str) -> bool:
    """Whether a question leans on an earlier one (pronoun, continuation word, or too short)."""
    lang = detect_lang(question)
    if lang == "zh":
        if ZH_ANAPHORA_RE.search(question) or _ZH_CONTINUATION_RE.search(question.strip()):
            return True
        return len(key_terms(question)) <= 1 and len(question.strip()) <= 12
    if EN_ANAPHORA_RE.search(question) or _EN_CONTINUATION_RE.search(question.strip()):
        return True
    return len(key_terms(question)) <= 1 and len(question.split()) <= 6


def rewrite_query(question: str, history: History = ()) -> str:
    """The question made self-contained using the conversation so far (oldest first).

    Args:
        question: the new question.
        history: earlier questions, or (question, answer) pairs; only questions are used.

    Returns:
        The rewritten retrieval query, or `question` unchanged when it stands on its own.

    Example:
        >>> rewrite_query("他们会待多久？", ["救援队派了多少人？"])
        '救援队会待多久？'
    """
    questions = [q for q in (_question_of(h) for h in history) if q and q.strip()]
    if not questions or not is_followup(question):
        return question
    previous = rewrite_query(questions[-1], questions[:-1])  # a chain of follow-ups
    own = set(key_terms(question))
    entities = [e for e in _entities(previous) if e not in own]
    if not entities:
        return question
    if detect_lang(question) == "zh":
        filler = "".join(entities)
        m = ZH_ANAPHORA_RE.search(question)
        if m:
            return question[: m.start()] + filler + question[m.end() :]
        return filler + question
    filler = " ".join(entities)
    m = EN_ANAPHORA_RE.search(question)
    if m:
        return question[: m.start()] + filler + question[m.end() :]
    return f"{filler} {question}"
