"""The dense side: FAISS inner product over L2-normalised chunk vectors (the default VectorStore).

Exact search (IndexFlatIP) up to `HNSW_THRESHOLD` chunks, HNSW above it; the threshold and the
HNSW recall against exact search are measured by benchmarks/bench_scale.py (docs/BENCHMARKS.md).
Vectors are kept as a plain `vectors.npy` beside the FAISS file, so filtered queries can be scored
exactly on the allowed subset and incremental builds can reuse unchanged vectors. Row i of the
store is chunk i of the generation.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterable, Sequence

import numpy as np

from rag.index.vectorstore import UNDATED, StoreConfig, VectorRecord, VectorStoreError, day_number, top_rows

if TYPE_CHECKING:
    from rag.index.manifest import DenseInfo
    from rag.retrieve import Filters

log = logging.getLogger(__name__)

# Measured (docs/BENCHMARKS.md, 1 FAISS thread): exact search costs ~6 ms per 100k vectors, HNSW
# 0.3-1 ms but a full graph rebuild per update (108 s at 100k) and +1.7 GB at 1M. Exact wins below
# about 200k; at 1M it costs 61 ms against 0.4 ms.
HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # recall@10 vs exact .909-.997 (128: .823-.976) for +0.3-0.5 ms


def ann_kind(kind: str, rows: int) -> str:
    """The ANN index for `rows` vectors: "auto" picks exact below HNSW_THRESHOLD, HNSW from there
    (every vector store uses this rule).

    Example:
        >>> ann_kind("auto", 1_000), ann_kind("auto", HNSW_THRESHOLD), ann_kind("flat", 10**7)
        ('flat', 'hnsw', 'flat')
    """
    return ("hnsw" if rows >= HNSW_THRESHOLD else "flat") if kind == "auto" else kind


class DenseIndex:
    """The `faiss` VectorStore: chunk vectors (row i = chunk i) plus a FAISS index over them."""

    name: ClassVar[str] = "faiss"
    needs_records: ClassVar[bool] = True  # filters are evaluated over per-row columns kept here
    add_block: ClassVar[int] = 0  # one add: HNSW inserts the whole batch with every core

    def __init__(self, vectors: np.ndarray, faiss_index, kind: str, records: Sequence[VectorRecord] = ()) -> None:
        self.vectors = vectors
        self._faiss = faiss_index  # None: read from _faiss_path, or an exact index filled from `vectors`, when first needed
        self._faiss_path: Path | None = None
        self.kind = kind
        self._deleted: set[int] = set()
        self._set_records(records)

    def _set_records(self, records: Sequence[VectorRecord]) -> None:
        """Keep what filters and deletes need as columns (no per-row objects: 1M rows stay cheap)."""
        self._chunk_ids = [r.chunk_id for r in records]
        self._rows_by_id: dict[str, int] | None = None  # built on the first delete
        self._outlet_names = {o: i for i, o in enumerate(sorted({r.outlet for r in records}))}
        self._outlets = [o for o, _ in sorted(self._outlet_names.items(), key=lambda kv: kv[1])]
        self._outlet_codes = np.fromiter((self._outlet_names[r.outlet] for r in records), dtype=np.int32, count=len(records))
        self._days = np.fromiter((r.day for r in records), dtype=np.int64, count=len(records))
        self._mask.cache_clear()

    def _records(self) -> list[VectorRecord]:
        return [VectorRecord(i, c, "", self._outlets[int(o)], int(d))
                for i, (c, o, d) in enumerate(zip(self._chunk_ids, self._outlet_codes, self._days))]

    def _row_of(self, chunk_id: str) -> int | None:
        if self._rows_by_id is None:
            self._rows_by_id = {c: i for i, c in enumerate(self._chunk_ids)}
        return self._rows_by_id.get(chunk_id)

    @property
    def _index(self):
        """The FAISS index, read or filled on first use: a build that only reuses old rows never pays for it."""
        if self._faiss is None:
            if self._faiss_path is not None:
                import faiss

                index = faiss.read_index(str(self._faiss_path))
                index.hnsw.efSearch = HNSW_EF_SEARCH
                self._faiss = index
            else:
                self._faiss = DenseIndex.build(np.asarray(self.vectors), "flat")._faiss
        return self._faiss

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0]) - len(self._deleted)

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto", records: Sequence[VectorRecord] = ()) -> "DenseIndex":
        """Index `vectors` (float32, L2-normalised); kind is "flat", "hnsw" or "auto"."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        kind = ann_kind(kind, len(vectors))
        if kind == "flat":
            index = faiss.IndexFlatIP(vectors.shape[1])
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            raise ValueError(f"unknown dense index kind {kind!r}; use one of: auto, flat, hnsw")
        if len(vectors):
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is one big batch: use every core
            index.add(vectors)
        return cls(vectors, index, kind, records)

    # -- the VectorStore Protocol --------------------------------------------------------------

    @classmethod
    def create(cls, config: StoreConfig, index_dir: Path, dim: int, expected_rows: int) -> "DenseIndex":
        return cls.build(np.zeros((0, dim), np.float32), ann_kind(config.kind, expected_rows))

    @classmethod
    def open(cls, gen: Path, info: "DenseInfo", index_dir: Path | None = None, records: Sequence[VectorRecord] = ()) -> "DenseIndex":
        store = cls.load(gen, info.kind)
        if records:  # load_index (serving): have the FAISS index ready before the first query;
            store._set_records(records)  # a build reusing old rows passes none and never needs it
            store._index  # noqa: B018 (read or filled here, not on the first search)
        return store

    def add(self, records: Sequence[VectorRecord], vectors: np.ndarray) -> None:
        """Append chunks; their rows must continue the store's (row i = chunk i of the generation)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [r.row for r in records]
        if rows != list(range(int(self.vectors.shape[0]), int(self.vectors.shape[0]) + len(records))) or len(records) != len(vectors):
            raise VectorStoreError("the faiss store appends rows in order (row i = chunk i); build a new generation with `newsrag index CORPUS_DIR`")
        if any(self._row_of(r.chunk_id) is not None for r in records):
            raise VectorStoreError("the faiss store cannot replace a chunk in place; build a new generation with `newsrag index CORPUS_DIR`")
        if len(vectors):
            import faiss

            faiss.omp_set_num_threads(os.cpu_count() or 1)
            self._index.add(vectors)
            self.vectors = np.concatenate([np.asarray(self.vectors, np.float32), vectors]) if self.vectors.shape[0] else vectors
        self._set_records([*self._records(), *records])

    def delete(self, chunk_ids: Iterable[str]) -> int:
        """Hide these chunks from search (tombstones; a new generation drops them for good)."""
        rows = {r for r in map(self._row_of, chunk_ids) if r is not None} - self._deleted
        self._deleted |= rows
        self._mask.cache_clear()
        return len(rows)

    def save(self, directory: Path) -> list[str]:
        """Write vectors.npy (and dense.faiss for HNSW); return the file names written."""
        import faiss

        if self._deleted:
            raise VectorStoreError("this faiss store has deleted rows, which its files (row i = chunk i) cannot hold; build a new generation with `newsrag index CORPUS_DIR`")
        np.save(directory / "vectors.npy", self.vectors, allow_pickle=False)
        if self.kind == "flat":
            return ["vectors.npy"]
        faiss.write_index(self._index, str(directory / "dense.faiss"))
        return ["vectors.npy", "dense.faiss"]

    def info(self) -> "DenseInfo":
        from rag.index.manifest import DenseInfo

        return DenseInfo(kind=self.kind, rows=len(self))

    def publish(self, keep=()) -> None:
        """Nothing to do: the generation's files went live with it."""

    @classmethod
    def load(cls, directory: Path, kind: str) -> "DenseIndex":
        """Map vectors.npy; the FAISS index (dense.faiss for HNSW) is read on the first search."""
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown dense index kind {kind!r}; use one of: flat, hnsw")
        vectors = np.load(directory / "vectors.npy", mmap_mode="r", allow_pickle=False)
        store = cls(vectors, None, kind)
        if kind == "hnsw":
            store._faiss_path = directory / "dense.faiss"
        return store

    @functools.lru_cache(maxsize=64)
    def _mask(self, filters: "Filters | None") -> np.ndarray | None:
        """Rows passing `filters` (and not deleted), or None for all rows."""
        if (filters is None or filters.empty) and not self._deleted:
            return None
        mask = np.ones(int(self.vectors.shape[0]), dtype=bool)
        if filters is not None and not filters.empty:
            if len(self._chunk_ids) != len(mask):
                raise VectorStoreError("this faiss store was opened without chunk records, so it cannot filter; open it through rag.index.store.load_index")
            if filters.outlets:
                codes = [self._outlet_names[o] for o in filters.outlets if o in self._outlet_names]
                mask &= np.isin(self._outlet_codes, codes)
            if filters.since:
                mask &= (self._days != UNDATED) & (self._days >= day_number(filters.since))
            if filters.until:
                mask &= (self._days != UNDATED) & (self._days <= day_number(filters.until))
        if self._deleted:
            mask[list(self._deleted)] = False
        return mask

    def search(self, query: np.ndarray, k: int, filters: "Filters | None" = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) for one query vector, among rows passing `filters`."""
        mask = self._mask(filters)
        if mask is not None:  # exact on the allowed subset: a filtered query still gets k hits
            allowed = np.flatnonzero(mask)
            scores = self.scores_for(query, allowed)
            order = top_rows(scores, k)
            return scores[order], allowed[order]
        import faiss

        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        # One query on one thread: with FAISS's default team, a busy second core made a 10k-vector
        # exact search take 10-60 ms instead of 0.3 ms.
        faiss.omp_set_num_threads(1)
        scores, ids = self._index.search(np.asarray(query, np.float32).reshape(1, -1), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact inner products of the query with the given rows (for filtered search)."""
        return np.asarray(self.vectors[rows] @ np.asarray(query, np.float32).ravel(), dtype=np.float32)

    def vectors_for(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
