"""One long-lived object that owns the loaded index and model: the CLI and the web app use it.

Everything heavy (index files, the embedding model, jieba's dictionary) is loaded once in
`Newsrag.open`; each request then only tokenises, encodes one query and scores.
"""

from __future__ import annotations

import logging
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
        with self._lock:
            self.index, self.retriever = index, retriever

    @property
    def mode(self) -> str:
        return self.retriever.mode

    def search(self, query: str, k: int = 10, filters: Filters = Filters()) -> list[Hit]:
        return self.retriever.search(query, k, filters)

    def retrieval_query(self, question: str, history: Sequence[str] = ()) -> str:
        """The question with an elliptical follow-up completed from the conversation."""
        from rag.answer import rewrite_query

        return rewrite_query(question, list(history)) if history else question

    def ask(self, question: str, history: Sequence[str] = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Answer:
        """Answer `question` from the corpus; `history` is the user's earlier questions, oldest first."""
        *_, last = self.ask_stream(question, history, filters, k, mode)
        return last

    def ask_stream(self, question: str, history: Sequence[str] = (), filters: Filters = Filters(), k: int = DEFAULT_K, mode: str = "extractive") -> Iterator[str | Answer]:
        """Yield text deltas (LLM mode) and finally the verified Answer."""
        from rag.answer import answer_extractive
        from rag.answer.question import analyze_question, retrieval_text

        query = self.retrieval_query(question, history)
        if analyze_question(question).compare:
            # "各媒体…一致吗": search for the subject, and let every outlet that covers it speak.
            hits = diversify(self.search(retrieval_text(query), 4 * k, filters), k)
        else:
            hits = self.search(retrieval_text(query), k, filters)
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
