"""One long-lived object that owns the loaded index and model: the CLI and the web app use it.

Everything heavy (index files, the embedding model, jieba's dictionary) is loaded once in
`Newsrag.open`; each request then only tokenises, encodes one query and scores.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from rag.config import default_index_dir
from rag.errors import BadQuestionError, IndexMismatchError
from rag.retrieve import Filters, Retriever, diversify, interleave
from rag.types import Answer, Hit, History

if TYPE_CHECKING:
    from rag.answer.plan import QueryPlan

log = logging.getLogger(__name__)

DEFAULT_K = 8


class Newsrag:
    """The loaded index plus retriever; `reload()` swaps in a newer build without a restart."""

    def __init__(self, index_dir: Path, embedder_spec: str | None = None, lexical_only: bool = False) -> None:
        self.index_dir = Path(index_dir)
        self._embedder_spec = embedder_spec
        self._lexical_only = lexical_only
        self._lock = threading.Lock()
        self.index = None
        self.retriever: Retriever | None = None
        self.reload()

    @classmethod
    def open(cls, index_dir: Path | str | None = None, embedder_spec: str | None = None, lexical_only: bool = False) -> "Newsrag":
        """Load the index at `index_dir` (default ./index) and, if it has vectors, its embedder."""
        return cls(Path(index_dir) if index_dir else default_index_dir(), embedder_spec, lexical_only)

    def reload(self) -> None:
        """(Re)load the live index generation and the embedder it was built with."""
        from rag.index.store import load_index

        index = load_index(self.index_dir)
        embedder = None
        meta = index.manifest.embedder
        if meta and not self._lexical_only:
            from rag.embed import load_embedder

            spec = meta.load_spec
            if self._embedder_spec and self._embedder_spec not in (spec, meta.model_id):
                raise IndexMismatchError(
                    f"the index at {self.index_dir} was built with embedder {spec!r}, not {self._embedder_spec!r}; "
                    f"rebuild it: newsrag index {index.manifest.corpus_root} --index {self.index_dir} --embedder {self._embedder_spec}"
                )
            embedder = load_embedder(spec)
            if getattr(embedder, "dim", meta.dim) != meta.dim:
                raise IndexMismatchError(f"embedder {spec!r} gives {embedder.dim}-d vectors but the index holds {meta.dim}-d; rebuild with --rebuild")
        retriever = Retriever(index, embedder)
        from rag.answer.question import warm_up

        warm_up()  # jieba's dictionary and word classes: about 2 s, now rather than on the first question
        with self._lock:
            self.index, self.retriever = index, retriever
            self._outlets_in_index = frozenset(a.outlet for a in index.articles.values() if a.outlet)
            self._registry = None
            self._answerers: dict = {}

    @property
    def mode(self) -> str:
        return self.retriever.mode

    def search(self, query: str, k: int = 10, filters: Filters = Filters()) -> list[Hit]:
        return self.retriever.search(query, k, filters)

    def named_outlets(self, question: str) -> tuple[tuple[str, ...], str]:
        """Outlets of this index that the question names, and the question without their names.

        "观察者网和半岛电视台的说法有何不同" is about those two outlets: retrieval is restricted to
        them (each gets its best passage) and their names are not searched for as words.
        """
        if self._registry is None:
            from rag.ingest.outlets import load_registry

            root = self.index.manifest.corpus_root
            try:
                self._registry = load_registry(Path(root) if root else None)
            except Exception as exc:  # noqa: BLE001 - a broken outlets.yaml must not break answering
                log.warning("outlet registry unavailable (%s); outlet names in questions are not recognised", exc)
                from rag.ingest.outlets import OutletRegistry

                self._registry = OutletRegistry.build([])
        named = [o for _, o in self._registry.mentioned(question) if o.name in self._outlets_in_index]
        if not named:
            return (), question
        rest = question
        for o in named:
            for alias in sorted({o.name, o.en, *o.aliases} - {""}, key=len, reverse=True):
                rest = re.sub(re.escape(alias), " ", rest, flags=re.I)
        rest = re.sub(r"^[\s，,、和与及跟]+|[\s，,、和与及跟]+(?=[的说报])", "", rest).strip()
        return tuple(o.name for o in named), rest or question

    def plan(self, question: str, history: History = (), filters: Filters = Filters()) -> "QueryPlan":
        """The request analysed once (follow-up rewrite, named outlets, kind, language)."""
        from rag.answer.plan import make_plan
        from rag.validate import check_question

        if filters.outlets and self._outlets_in_index and not set(filters.outlets) <= self._outlets_in_index:
            unknown = ", ".join(sorted(set(filters.outlets) - self._outlets_in_index))
            raise BadQuestionError(f"no articles from {unknown} in this index; outlets it knows: {', '.join(sorted(self._outlets_in_index))}")
        return make_plan(check_question(question), history, filters, self.named_outlets)

    def answerer(self, mode: str = "extractive"):
        """The answerer registered as `mode` (rag.answer.registry), made once per service."""
        from rag.answer.registry import make_answerer

        if mode not in self._answerers:
            self._answerers[mode] = make_answerer(mode, embedder=self.retriever.embedder)
        return self._answerers[mode]

    def warm_up(self, mode: str = "extractive") -> None:
        """Load what the `mode` answerer needs (the scorer model) now, not on the first question."""
        answerer = self.answerer(mode)
        if hasattr(answerer, "warm_up"):
            answerer.warm_up()

    def ask(self, question: str, history: History = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Answer:
        """Answer `question` from the corpus; `history` is the user's earlier questions, oldest first."""
        *_, last = self.ask_stream(question, history, filters, k, mode)
        return last

    def retrieve(self, plan: "QueryPlan", k: int = DEFAULT_K) -> list[Hit]:
        """The passages an answer to `plan` is drawn from."""
        hits: list[Hit] = []
        if plan.outlets:
            # "观察者网和半岛电视台怎么说": only those outlets, each with its best passage.
            only = Filters(outlets=plan.outlets, since=plan.filters.since, until=plan.filters.until)
            hits = diversify(self.search(plan.search, 4 * k, only), k)
            if len(plan.outlets) == 1 and plan.info.compare and hits:
                # "观察者网说的和美联社的一样吗": the other side is a source the index knows only as
                # quoted by some outlet, so the named outlet's best passages share the list with all.
                others = diversify(self.search(plan.search, 4 * k, plan.filters), k)
                hits = interleave(hits[: max(1, k // 2)], others, k)
        if not hits and plan.info.compare:
            # "各媒体…一致吗": search for the subject, and let every outlet that covers it speak.
            hits = diversify(self.search(plan.search, 4 * k, plan.filters), k)
        elif not hits:
            hits = self.search(plan.search, k, plan.filters)
        return hits

    def answer_hits(self, question: str, history: History = (), filters: Filters = Filters(), k: int = DEFAULT_K) -> list[Hit]:
        """The passages an answer to `question` is drawn from (what `ask` retrieves)."""
        return self.retrieve(self.plan(question, history, filters), k)

    def ask_stream(self, question: str, history: History = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Iterator[str | Answer]:
        """Yield text deltas (LLM mode) and finally the verified Answer."""
        from rag.answer.registry import stream

        answerer = self.answerer(mode)  # an unknown mode fails before any retrieval
        plan = self.plan(question, history, filters)
        yield from stream(answerer, plan, self.retrieve(plan, k))

    def lookup(self, quote: str, k: int = 10):
        from rag.lookup import lookup

        return lookup(quote, self.index, self.retriever, k=k)
