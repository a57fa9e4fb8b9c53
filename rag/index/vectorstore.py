"""The vector-store seam: one small Protocol, a registry, and the per-chunk record a store keeps.

A store holds one generation's chunk vectors. Results are keyed by **row**: the chunk's position
in that generation's `chunks.jsonl` (`LoadedIndex.chunks[row]`), which every store records beside
the vector, so the retriever, lookup and the build never translate ids on the hot path. Adding and
deleting go by chunk id. Filters (outlets, date range) are pushed down into the store: FAISS
evaluates them as a mask over its own columns, Milvus as a boolean expression inside the engine.

Stores: `faiss` (rag.index.dense, the default: files in the generation directory) and `milvus`
(rag.index.milvus: a collection in milvus-lite or a Milvus server, one per generation).

Example:
    >>> store_class("faiss").name
    'faiss'
    >>> day_number("1970-01-02"), day_number(None) == UNDATED
    (1, True)
    >>> store_class("annoy")
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: unknown vector store 'annoy'; use one of: faiss, milvus
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from rag.errors import ConfigError, NewsragError

if TYPE_CHECKING:
    from rag.index.manifest import DenseInfo
    from rag.retrieve import Filters
    from rag.types import Article, Chunk

UNDATED = -(2**31)  # `day` of an article without a publication date: below every real day
_EPOCH = datetime.date(1970, 1, 1)


class VectorStoreError(NewsragError):
    """The vector store cannot be reached or refuses an operation; the message says how to fix it."""


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first, ties broken by index for stable output (pure).

    Example:
        >>> top_rows(np.array([0.2, 0.9, 0.2, 0.5]), 3).tolist()
        [1, 3, 0]
    """
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.lexsort((part, -scores[part]))]


def day_number(published: str | None) -> int:
    """Days since 1970-01-01 of a YYYY-MM-DD date (pure); UNDATED for None or ""."""
    if not published:
        return UNDATED
    return (datetime.date.fromisoformat(published) - _EPOCH).days


@dataclass(frozen=True)
class VectorRecord:
    """What a store keeps beside one chunk's vector: its row, ids, and the fields filters read."""

    row: int
    chunk_id: str
    article_id: str
    outlet: str
    day: int  # day_number(article.published)


def records_for(chunks: Sequence["Chunk"], articles) -> list[VectorRecord]:
    """One VectorRecord per chunk, row = position in `chunks` (pure)."""
    out = []
    for row, c in enumerate(chunks):
        a: Article = articles[c.article_id]
        out.append(VectorRecord(row, c.chunk_id, c.article_id, a.outlet, day_number(a.published)))
    return out


@dataclass(frozen=True)
class StoreConfig:
    """Which store a build writes to: its registry name and, for a server, where it is."""

    name: str = "faiss"
    uri: str = ""  # milvus: a local path ending in .db (milvus-lite) or http(s)://HOST:PORT
    kind: str = "auto"  # the ANN index: auto, flat or hnsw


def is_local_uri(uri: str) -> bool:
    """A path on this machine (an embedded engine's data), not scheme://host (pure)."""
    return bool(uri) and "://" not in uri


def uri_for_manifest(uri: str, index_dir: Path) -> str:
    """A local path inside the index directory is recorded relative to it, so the folder can move.

    Example:
        >>> uri_for_manifest("/data/idx/milvus.db", Path("/data/idx")), uri_for_manifest("http://h:19530", Path("/x"))
        ('milvus.db', 'http://h:19530')
    """
    if not is_local_uri(uri):
        return uri
    path, root = Path(uri).absolute(), Path(index_dir).absolute()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


DEFAULT_URIS = {"milvus": "milvus.db"}  # inside the index directory: an embedded milvus-lite


def resolve_config(config: StoreConfig, index_dir: Path) -> StoreConfig:
    """Absolute local paths, and the store's default location when none was given (pure path ops).

    Example:
        >>> resolve_config(StoreConfig("milvus"), Path("/data/idx")).uri
        '/data/idx/milvus.db'
    """
    uri = config.uri or DEFAULT_URIS.get(config.name, "")
    if is_local_uri(uri) and not Path(uri).is_absolute():
        uri = str(Path(index_dir).absolute() / uri) if not config.uri else str(Path(uri).absolute())
    return StoreConfig(config.name, uri, config.kind)


def config_of(info: "DenseInfo", index_dir: Path) -> StoreConfig:
    """The StoreConfig that reaches the store a manifest recorded (relative local paths joined)."""
    uri = info.uri
    if is_local_uri(uri) and not Path(uri).is_absolute():
        uri = str(Path(index_dir).absolute() / uri)
    return StoreConfig(info.store, uri, info.kind)


@runtime_checkable
class VectorStore(Protocol):
    """One generation's chunk vectors (float32, L2-normalised; inner product = cosine)."""

    name: ClassVar[str]  # its registry name, recorded in the manifest
    needs_records: ClassVar[bool]  # `open` wants every chunk's VectorRecord (to filter in-process)
    add_block: ClassVar[int]  # rows per `add` call a build makes (0: all at once)
    kind: str

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    @classmethod
    def create(cls, config: StoreConfig, index_dir: Path, dim: int, expected_rows: int) -> "VectorStore":
        """A new, empty store for the generation being built (nothing live changes)."""
        ...

    @classmethod
    def open(cls, gen: Path, info: "DenseInfo", index_dir: Path, records: Sequence[VectorRecord] = ()) -> "VectorStore":
        """The store a written generation recorded in its manifest (`info`)."""
        ...

    def add(self, records: Sequence[VectorRecord], vectors: np.ndarray) -> None:
        """Add (or replace, by chunk id) these chunks' vectors."""
        ...

    def delete(self, chunk_ids: Iterable[str]) -> int:
        """Remove these chunks; returns how many were there."""
        ...

    def search(self, query: np.ndarray, k: int, filters: "Filters | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) by inner product, best first, among chunks passing `filters`."""
        ...

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with the given rows."""
        ...

    def vectors_for(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of these rows (an incremental build reuses them)."""
        ...

    def save(self, gen: Path) -> list[str]:
        """Make the store durable for the generation in `gen`; returns files written there."""
        ...

    def info(self) -> "DenseInfo":
        """What the manifest records so `open` finds this store again."""
        ...

    def publish(self, keep: Sequence["DenseInfo"] = ()) -> None:
        """Called once the generation recording this store is live, and again by up-to-date builds
        (so it must be idempotent): point aliases, drop stale data (never what `keep` names: the
        previous generation, which running servers may still read)."""
        ...


def store_class(name: str) -> type[VectorStore]:
    """The store registered under `name`.

    Raises:
        ConfigError: no such store (the message lists them).
    """
    if name == "faiss":
        from rag.index.dense import DenseIndex

        return DenseIndex
    if name == "milvus":
        from rag.index.milvus import MilvusStore  # pymilvus itself is imported only when used

        return MilvusStore
    raise ConfigError(f"unknown vector store {name!r}; use one of: {', '.join(STORES)}")


STORES = ("faiss", "milvus")
