"""One long-lived object that owns the loaded index and model: the CLI and the web app use it.

Everything heavy (index files, the embedding model, jieba's dictionary) is loaded once in
`Newsrag.open`; each request then only tokenises, encodes one query and scores.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Iterator, Sequence

from rag.config import default_index_dir
from rag.errors import IndexMismatchError
from rag.retrieve import Filters, Retriever, diversify
from rag.types import Answer, Hit

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
        from rag.store import load_index

        index = load_index(self.index_dir)
        embedder = None
        meta = index.manifest.get("embedder")
        if meta and not self._lexical_only:
            from rag.embed import load_embedder

            spec = meta.get("spec") or meta["model_id"]
            if self._embedder_spec and self._embedder_spec not in (spec, meta["model_id"]):
                raise IndexMismatchError(
                    f"the index at {self.index_dir} was built with embedder {spec!r}, not {self._embedder_spec!r}; "
                    f"rebuild it: newsrag index {index.manifest['corpus']['root']} --index {self.index_dir} --embedder {self._embedder_spec}"
                )
            embedder = load_embedder(spec)
            if getattr(embedder, "dim", meta["dim"]) != meta["dim"]:
                raise IndexMismatchError(f"embedder {spec!r} gives {embedder.dim}-d vectors but the index holds {meta['dim']}-d; rebuild with --rebuild")
        retriever = Retriever(index, embedder)
        from rag.answer.question import warm_up

        warm_up()  # jieba's dictionary and word classes: about 2 s, now rather than on the first question
        with self._lock:
            self.index, self.retriever = index, retriever
            self._outlets_in_index = frozenset(a.outlet for a in index.articles.values() if a.outlet)
            self._registry = None

    @property
    def mode(self) -> str:
        return self.retriever.mode

    def search(self, query: str, k: int = 10, filters: Filters = Filters()) -> list[Hit]:
        return self.retriever.search(query, k, filters)

    def retrieval_query(self, question: str, history: Sequence[str] = ()) -> str:
        """The question with an elliptical follow-up completed from the conversation."""
        from rag.answer import rewrite_query

        return rewrite_query(question, list(history)) if history else question

    def named_outlets(self, question: str) -> tuple[tuple[str, ...], str]:
        """Outlets of this index that the question names, and the question without their names.

        "观察者网和半岛电视台的说法有何不同" is about those two outlets: retrieval is restricted to
        them (each gets its best passage) and their names are not searched for as words.
        """
        if self._registry is None:
            from rag.ingest.outlets import load_registry

            root = (self.index.manifest.get("corpus") or {}).get("root")
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

    def ask(self, question: str, history: Sequence[str] = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Answer:
        """Answer `question` from the corpus; `history` is the user's earlier questions, oldest first."""
        *_, last = self.ask_stream(question, history, filters, k, mode)
        return last

    def answer_hits(self, question: str, history: Sequence[str] = (), filters: Filters = Filters(), k: int = DEFAULT_K) -> list[Hit]:
        """The passages an answer to `question` is drawn from (what `ask` retrieves)."""
        from rag.answer.question import analyze_question, retrieval_text

        query = self.retrieval_query(question, history)
        info = analyze_question(question)
        named, rest = self.named_outlets(query) if not info.attribution and not filters.outlets else ((), query)
        hits: list[Hit] = []
        if named:
            # "观察者网和半岛电视台怎么说": only those outlets, each with its best passage.
            only = Filters(outlets=named, since=filters.since, until=filters.until)
            hits = diversify(self.search(retrieval_text(rest), 4 * k, only), k)
        if not hits and info.compare:
            # "各媒体…一致吗": search for the subject, and let every outlet that covers it speak.
            hits = diversify(self.search(retrieval_text(query), 4 * k, filters), k)
        elif not hits:
            hits = self.search(retrieval_text(query), k, filters)
        return hits

    def ask_stream(self, question: str, history: Sequence[str] = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Iterator[str | Answer]:
        """Yield text deltas (LLM mode) and finally the verified Answer."""
        from rag.answer import answer_extractive

        hits = self.answer_hits(question, history, filters, k)
        fallback = lambda: answer_extractive(question, hits, list(history))  # noqa: E731
        if mode == "llm":
            from rag.answer.llm import LLMConfig, stream_llm

            config = LLMConfig.from_env()
            if config is not None:
                yield from stream_llm(question, hits, list(history), config, fallback, embedder=self.retriever.embedder)
                return
        yield fallback()

    def lookup(self, quote: str, k: int = 10):
        from rag.lookup import lookup

        return lookup(quote, self.index, self.retriever, k=k)
