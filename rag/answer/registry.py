"""The answerer seam: a small Protocol and the registry the CLI's `--mode` and the web app's modes come from.

    answerer = make_answerer("extractive")        # or "rules", "llm"
    answer = answerer.answer(plan, hits)          # plan: rag.answer.plan.QueryPlan

To add an answerer: write a class with `name`, `label` and `answer(plan, hits) -> Answer` (and
`stream` if it can show text as it is produced), then add it to `ANSWERERS`. Every answerer must
return citations that quote `article.text[start:end]` verbatim (rag.answer.citations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from rag.answer.plan import QueryPlan
from rag.errors import NewsragError
from rag.types import Answer, Hit

DEFAULT_MODE = "extractive"


@runtime_checkable
class Answerer(Protocol):
    name: str
    label: str

    def answer(self, plan: QueryPlan, hits: Sequence[Hit]) -> Answer: ...


def stream(answerer: Answerer, plan: QueryPlan, hits: Sequence[Hit]) -> Iterator[str | Answer]:
    """Text deltas (where the answerer streams) and finally the Answer."""
    if hasattr(answerer, "stream"):
        yield from answerer.stream(plan, hits)
    else:
        yield answerer.answer(plan, hits)


class RulesAnswerer:
    """The hand-written lexical rules of sessions 1-3 (rag.answer.extractive), kept for comparison."""

    name = "rules"
    label = "Extractive, lexical rules (older)"

    def answer(self, plan: QueryPlan, hits: Sequence[Hit]) -> Answer:
        from rag.answer.extractive import answer_extractive

        return answer_extractive(plan.question, hits, list(plan.history))

    def best_score(self, plan: QueryPlan, hits: Sequence[Hit]) -> float:
        from rag.answer.extractive import best_support

        return best_support(plan.question, hits, list(plan.history))


class LLMAnswerer:
    """An OpenAI-compatible LLM writes the answer; every sentence is verified (rag.answer.llm).

    Falls back, with a notice, to `fallback` when no endpoint is configured or it fails.
    """

    name = "llm"
    label = "LLM"

    def __init__(self, fallback: Answerer, embedder: Any = None) -> None:
        self.fallback, self.embedder = fallback, embedder

    def answer(self, plan: QueryPlan, hits: Sequence[Hit]) -> Answer:
        *_, last = self.stream(plan, hits)
        return last

    def stream(self, plan: QueryPlan, hits: Sequence[Hit]) -> Iterator[str | Answer]:
        from rag.answer.llm import LLMConfig, stream_llm

        config = LLMConfig.from_env()
        fallback = lambda: self.fallback.answer(plan, hits)  # noqa: E731
        if config is None:
            yield fallback()
            return
        yield from stream_llm(plan.question, hits, list(plan.history), config, fallback, embedder=self.embedder)


def _learned(embedder: Any = None) -> Answerer:
    from rag.answer.learned import LearnedAnswerer

    return LearnedAnswerer()


ANSWERERS: dict[str, Callable[..., Answerer]] = {
    "extractive": _learned,
    "rules": lambda embedder=None: RulesAnswerer(),
    "llm": lambda embedder=None: LLMAnswerer(_learned(), embedder),
}


def modes() -> tuple[str, ...]:
    return tuple(ANSWERERS)


def make_answerer(mode: str, embedder: Any = None) -> Answerer:
    """The answerer registered as `mode`.

    Raises:
        NewsragError: no such mode (the message lists the valid ones).
    """
    try:
        factory = ANSWERERS[mode]
    except KeyError:
        raise NewsragError(f"unknown answer mode {mode!r}; use one of: {', '.join(ANSWERERS)}") from None
    return factory(embedder=embedder)
