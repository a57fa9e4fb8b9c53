"""The `milvus` VectorStore: chunk vectors in a Milvus collection (embedded milvus-lite or a server).

The same pymilvus calls reach milvus-lite (a URI that is a local path ending in `.db`: the engine
runs inside this process and keeps its data in that folder) and a Milvus standalone or cluster
(`http(s)://HOST:19530`, token from $NEWSRAG_MILVUS_TOKEN).

One collection per index generation, fields::

    row         INT64 primary key   the chunk's position in the generation's chunks.jsonl
    chunk_id    VARCHAR             "<article_id>:<n>"; add and delete go by it
    article_id  VARCHAR
    outlet      VARCHAR             filters: outlet in [...]
    day         INT64               filters: days since 1970-01-01 (UNDATED when the article has none)
    vector      FLOAT_VECTOR        inner product (vectors are L2-normalised), FLAT or HNSW

A build fills a new collection while the previous generation keeps serving from its own; the new
one becomes live with the generation's CURRENT pointer (its manifest names the collection), then
collections older than the previous generation (and those of killed builds) are dropped and the
index's alias is pointed at it for other clients. pymilvus is imported only here, on first use.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

import numpy as np

from rag.index.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, ann_kind  # the FAISS store's measured settings
from rag.index.vectorstore import UNDATED, StoreConfig, VectorRecord, VectorStoreError, day_number, is_local_uri, uri_for_manifest

if TYPE_CHECKING:
    from rag.index.manifest import DenseInfo
    from rag.retrieve import Filters

log = logging.getLogger(__name__)

TOKEN_ENV = "NEWSRAG_MILVUS_TOKEN"
_ID_CHARS = 1024  # VARCHAR limit of chunk_id / article_id / outlet
_GET_BATCH = 1000  # primary keys per get() (one gRPC message)

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def filter_expression(filters: "Filters | None") -> str:
    """The Milvus boolean expression for outlet / date filters ("" for none) (pure).

    Example:
        >>> from rag.retrieve import Filters
        >>> filter_expression(Filters(("甲报", 'a "b"'), "2022-01-05", None))
        'outlet in ["甲报", "a \\\\"b\\\\""] and day >= 18997'
        >>> filter_expression(Filters(until="1970-01-02"))
        'day > -2147483648 and day <= 1'
    """
    if filters is None or filters.empty:
        return ""
    parts = []
    if filters.outlets:
        parts.append("outlet in [" + ", ".join(_string(o) for o in filters.outlets) + "]")
    if filters.since:
        parts.append(f"day >= {day_number(filters.since)}")
    if filters.until:
        parts.append(f"day > {UNDATED} and day <= {day_number(filters.until)}")
    return " and ".join(parts)


def _string(value: str) -> str:
    """A Milvus string literal: double-quoted, backslash and quote escaped (pure)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prefix_for(index_dir: Path) -> str:
    """Collection-name prefix of one index directory, so indexes can share a Milvus (pure)."""
    return "newsrag_" + hashlib.sha1(str(Path(index_dir).absolute()).encode("utf-8")).hexdigest()[:10]


def _fix_hint(uri: str) -> str:
    if is_local_uri(uri):
        return "check that the path is writable and ends in .db (milvus-lite), or pass --milvus-uri http://HOST:19530 for a Milvus server"
    return f"start Milvus there or fix --milvus-uri; a server with authentication needs ${TOKEN_ENV} (user:password or an API key)"


def _lock_holder(uri: str) -> bool:
    """True when another process holds milvus-lite's data-directory lock (one process at a time)."""
    lock = Path(uri) / "LOCK"
    if not lock.exists():
        return False
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def connect(uri: str):
    """A MilvusClient for `uri` (one per URI and token in this process).

    Raises:
        VectorStoreError: pymilvus missing, milvus-lite data held by another process, server unreachable.
    """
    token = os.environ.get(TOKEN_ENV, "")
    key = (uri, token)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        from rag.quiet import quiet_engine_logs

        quiet_engine_logs()
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:
            raise VectorStoreError(f"the milvus vector store needs pymilvus and milvus-lite ({exc}); install newsrag's dependencies: pip install -e .") from exc
        if is_local_uri(uri):
            if not uri.endswith(".db"):
                raise VectorStoreError(f"--milvus-uri {uri}: a local milvus-lite path must end in .db (e.g. INDEX_DIR/milvus.db); a server is http://HOST:19530")
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            client = MilvusClient(uri=uri, token=token)
        except Exception as exc:  # pymilvus raises MilvusException, ConnectionError, ValueError, ...
            if is_local_uri(uri) and _lock_holder(uri):
                raise VectorStoreError(
                    f"the milvus-lite data at {uri} is open in another process (milvus-lite allows one process at a time): "
                    "stop `newsrag serve` (or the other build) for this index and retry, or use a Milvus server: --milvus-uri http://HOST:19530"
                ) from exc
            raise VectorStoreError(f"cannot open Milvus at {uri} ({type(exc).__name__}: {exc}); {_fix_hint(uri)}") from exc
        _clients[key] = client
        return client


def disconnect(uri: str) -> None:
    """Close this process's clients of `uri`; for milvus-lite also stop its engine and free the data
    directory's lock, so another process (a build, a server) can open it."""
    with _clients_lock:
        for key in [k for k in _clients if k[0] == uri]:
            try:
                _clients.pop(key).close()
            except Exception as exc:  # closing is best effort
                log.debug("closing the Milvus client of %s: %s", uri, exc)
    if is_local_uri(uri):
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:
            return
        server_manager_instance.release_server(uri)


class MilvusStore:
    """One generation's vectors in one Milvus collection (see the module docstring for the fields)."""

    name: ClassVar[str] = "milvus"
    needs_records: ClassVar[bool] = False  # the engine keeps outlet and day itself
    add_block: ClassVar[int] = 2000  # rows per insert call

    def __init__(self, client, uri: str, index_dir: Path, collection: str, alias: str, dim: int, kind: str, rows: int | None = None) -> None:
        self._client = client
        self.uri = uri
        self.index_dir = Path(index_dir)
        self.collection = collection
        self.alias = alias
        self._dim = dim
        self.kind = kind
        self._rows = rows  # cached count; None: ask the engine
        self._fresh_ids: set[str] | None = None  # chunk ids inserted into a collection this process created

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def create(cls, config: StoreConfig, index_dir: Path, dim: int, expected_rows: int) -> "MilvusStore":
        """A new, empty collection for the generation being built; the live one is not touched."""
        from rag.index.vectorstore import resolve_config

        uri = resolve_config(config, index_dir).uri
        kind = ann_kind(config.kind, expected_rows)
        if kind not in ("flat", "hnsw"):
            raise VectorStoreError(f"unknown dense index kind {kind!r} for milvus; use one of: auto, flat, hnsw")
        client = connect(uri)  # first: says how to install pymilvus when it is missing
        from pymilvus import DataType, MilvusClient

        prefix = prefix_for(index_dir)
        collection = f"{prefix}_g{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:8]}"
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("chunk_id", DataType.VARCHAR, max_length=_ID_CHARS)
        schema.add_field("article_id", DataType.VARCHAR, max_length=_ID_CHARS)
        schema.add_field("outlet", DataType.VARCHAR, max_length=_ID_CHARS)
        schema.add_field("day", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        if kind == "hnsw":
            params.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
        else:
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        try:
            client.create_collection(collection, schema=schema, consistency_level="Strong")
            # sync=False: waiting for an index on an empty collection needs AllocTimestamp, which
            # milvus-lite does not implement (the server logs an error); loading waits anyway.
            client.create_index(collection, params, sync=False)
            client.load_collection(collection)
        except Exception as exc:
            raise VectorStoreError(f"Milvus at {uri} refused to create collection {collection} ({type(exc).__name__}: {exc}); {_fix_hint(uri)}") from exc
        store = cls(client, uri, index_dir, collection, prefix, dim, kind, rows=0)
        store._fresh_ids = set()
        return store

    @classmethod
    def open(cls, gen: Path, info: "DenseInfo", index_dir: Path, records: Sequence[VectorRecord] = ()) -> "MilvusStore":
        """The collection a generation's manifest names."""
        from rag.index.vectorstore import config_of

        uri = config_of(info, index_dir).uri
        client = connect(uri)
        rebuild = f"newsrag index CORPUS_DIR --index {index_dir} --rebuild"
        try:
            exists = client.has_collection(info.collection)
        except Exception as exc:
            raise VectorStoreError(f"cannot reach Milvus at {uri} ({type(exc).__name__}: {exc}); {_fix_hint(uri)}") from exc
        if not exists:
            raise VectorStoreError(f"the Milvus collection {info.collection} of the index at {index_dir} is missing from {uri} (dropped, or another Milvus); rebuild it: {rebuild}")
        client.load_collection(info.collection)
        dim = next((int(f["params"]["dim"]) for f in client.describe_collection(info.collection)["fields"] if f["name"] == "vector"), 0)
        return cls(client, uri, index_dir, info.collection, info.alias, dim, info.kind)  # len() counts in the engine

    # -- the VectorStore Protocol ---------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        if self._rows is None:
            res = self._client.query(self.collection, filter="", output_fields=["count(*)"])
            self._rows = int(res[0]["count(*)"])
        return self._rows

    def add(self, records: Sequence[VectorRecord], vectors: np.ndarray) -> None:
        """Insert these chunks; a chunk id already in the collection is replaced."""
        if len(records) != len(vectors):
            raise ValueError(f"{len(records)} records for {len(vectors)} vectors; pass one vector per record")
        if not len(records):
            return
        ids = [r.chunk_id for r in records]
        if self._fresh_ids is None or not self._fresh_ids.isdisjoint(ids):
            self.delete(ids)
        vectors = np.asarray(vectors, dtype=np.float32)
        rows = [{"row": r.row, "chunk_id": r.chunk_id, "article_id": r.article_id, "outlet": r.outlet, "day": r.day, "vector": v}
                for r, v in zip(records, vectors.tolist())]
        try:
            self._client.insert(self.collection, rows)
        except Exception as exc:
            raise VectorStoreError(f"inserting into Milvus collection {self.collection} at {self.uri} failed ({type(exc).__name__}: {exc}); {_fix_hint(self.uri)}") from exc
        if self._fresh_ids is not None:
            self._fresh_ids.update(ids)
        self._rows = None

    def delete(self, chunk_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return 0
        before = len(self)
        for b in range(0, len(ids), _GET_BATCH):
            self._client.delete(self.collection, filter="chunk_id in [" + ", ".join(_string(c) for c in ids[b : b + _GET_BATCH]) + "]")
        if self._fresh_ids is not None:
            self._fresh_ids.difference_update(ids)
        self._rows = None
        return before - len(self)

    def search(self, query: np.ndarray, k: int, filters: "Filters | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows), the filter evaluated inside the engine."""
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "hnsw":
            params["params"] = {"ef": max(HNSW_EF_SEARCH, k)}
        res = self._client.search(self.collection, data=[np.asarray(query, np.float32).ravel().tolist()], limit=k,
                                  filter=filter_expression(filters), search_params=params, anns_field="vector", output_fields=[])
        hits = res[0] if res else []
        scores = np.array([h["distance"] for h in hits], dtype=np.float32)
        rows = np.array([h["row"] for h in hits], dtype=np.int64)  # the primary key
        return scores, rows

    def vectors_for(self, rows: np.ndarray) -> np.ndarray:
        rows = [int(r) for r in np.asarray(rows).ravel()]
        found: dict[int, list[float]] = {}
        for b in range(0, len(rows), _GET_BATCH):
            for ent in self._client.get(self.collection, ids=rows[b : b + _GET_BATCH], output_fields=["vector"]):
                found[int(ent["row"])] = ent["vector"]
        missing = [r for r in rows if r not in found]
        if missing:
            raise VectorStoreError(f"Milvus collection {self.collection} has no rows {missing[:5]}; rebuild the index: newsrag index CORPUS_DIR --index {self.index_dir} --rebuild")
        return np.array([found[r] for r in rows], dtype=np.float32).reshape(len(rows), self._dim)

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products with the stored vectors of `rows` (fetched by primary key)."""
        if not len(rows):
            return np.zeros(0, np.float32)
        return np.asarray(self.vectors_for(rows) @ np.asarray(query, np.float32).ravel(), dtype=np.float32)

    def save(self, gen: Path) -> list[str]:
        """Flush the collection (sealed and durable before the generation goes live); no files in `gen`."""
        self._client.flush(self.collection)
        return []

    def info(self) -> "DenseInfo":
        from rag.index.manifest import DenseInfo

        return DenseInfo(kind=self.kind, rows=len(self), store=self.name, uri=uri_for_manifest(self.uri, self.index_dir),
                         collection=self.collection, alias=self.alias)

    def publish(self, keep: Sequence["DenseInfo"] = ()) -> None:
        """Drop this index's stale collections, then point the index's alias at this one.

        Kept: this collection, the one the alias named until now and those in `keep` (the previous
        generation: running servers may still read it). Dropping comes first, so a build killed
        half-way through is finished by the next `newsrag index`, even one with nothing else to do
        (this method is idempotent). Once the alias names this collection, only collections
        created after it (killed builds; names carry their creation time) are dropped.
        """
        client = self._client
        prefix = prefix_for(self.index_dir) + "_g"
        try:
            aliases = client.list_aliases().get("aliases") or []
            target = client.describe_alias(self.alias).get("collection_name") if self.alias in aliases else None
            kept = {self.collection, target, *(k.collection for k in keep if k is not None and k.store == self.name)}
            for name in client.list_collections():
                stale = name not in kept and (target != self.collection or name > self.collection)
                if name.startswith(prefix) and stale:
                    log.info("dropping Milvus collection %s (an older generation or a killed build)", name)
                    client.drop_collection(name)
            if target is None:  # the first generation
                client.create_alias(self.collection, self.alias)
            elif target != self.collection:
                client.alter_alias(self.collection, self.alias)
        except Exception as exc:
            raise VectorStoreError(f"Milvus at {self.uri}: alias {self.alias} or cleanup failed ({type(exc).__name__}: {exc}); the next `newsrag index` retries it") from exc

    def __repr__(self) -> str:
        return f"MilvusStore({json.dumps(self.uri)}, collection={self.collection}, kind={self.kind})"
