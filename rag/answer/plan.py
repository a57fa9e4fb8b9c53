"""The QueryPlan: what a request asks, worked out once and used by retrieval, answering and eval.

    plan = make_plan(question, history, filters, named_outlets)
    hits = service.retrieve(plan)            # rag.service
    answer = get_answerer(mode).answer(plan, hits)

Before this, the follow-up rewrite and the question analysis ran in each stage that needed them.
Pure: the only input besides the question is `named_outlets`, the service's function that finds
the outlets of its index a question names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answer.followup import rewrite_query
from rag.answer.question import QuestionInfo, analyze_question, retrieval_text
from rag.retrieve import Filters
from rag.types import History


@dataclass(frozen=True)
class QueryPlan:
    """One request, analysed.

    Attributes:
        question: as the user asked it.
        history: the user's earlier questions, oldest first.
        query: the question with an elliptical follow-up completed from the history.
        info: kind of question (number, date, who, ...), language, comparison and attribution flags.
        outlets: outlets of the index that the question names ("观察者网和半岛电视台说的一样吗").
        search: the text retrieval searches (outlet names and question words taken out).
        filters: outlet and date filters, from the user's controls.
        seen: (article_id, start, end) of every quote already given in this conversation; a
            follow-up quotes something new unless nothing else answers.
    """

    question: str
    history: tuple[str, ...]
    query: str
    info: QuestionInfo
    outlets: tuple[str, ...] = ()
    search: str = ""
    filters: Filters = field(default_factory=Filters)
    seen: tuple[tuple[str, int, int], ...] = ()

    @property
    def lang(self) -> str:
        return self.info.lang

    @property
    def kind(self) -> str:
        return self.info.qtype

    @property
    def compare(self) -> bool:
        """Outlets are to be shown side by side: the question compares, or names two or more."""
        return self.info.compare or len(self.outlets) >= 2


NamedOutlets = Callable[[str], tuple[tuple[str, ...], str]]


def make_plan(question: str, history: History = (), filters: Filters = Filters(),
              named_outlets: NamedOutlets | None = None) -> QueryPlan:
    """Analyse a request once.

    Args:
        question: the user's question.
        history: earlier questions, oldest first, or (question, answer) pairs; an Answer's
            citations become `seen`.
        filters: outlet/date filters chosen by the user; when they name outlets, the question's
            own outlet names are not used to restrict retrieval again.
        named_outlets: (text) -> (outlets named in it, the text without their names).
    """
    seen = tuple(dict.fromkeys(
        (c.article_id, c.start, c.end) for item in history if not isinstance(item, str) and len(item) > 1
        for c in getattr(item[1], "citations", ())
    ))
    history = tuple(item if isinstance(item, str) else str(item[0]) for item in history if item)
    query = rewrite_query(question, list(history)) if history else question
    info = analyze_question(question)
    outlets, rest = (), query
    if named_outlets is not None and not info.attribution and not filters.outlets:
        outlets, rest = named_outlets(query)
    return QueryPlan(question=question, history=history, query=query, info=info, outlets=outlets,
                     search=retrieval_text(rest), filters=filters, seen=seen)
