"""The dense side: FAISS inner product over L2-normalised chunk vectors.

Exact search (IndexFlatIP) up to `HNSW_THRESHOLD` chunks, HNSW above it; the threshold and the
HNSW recall against exact search are measured by benchmarks/bench_scale.py (docs/BENCHMARKS.md).
Vectors are kept as a plain `vectors.npy` beside the FAISS file, so filtered queries can be scored
exactly on the allowed subset and incremental builds can reuse unchanged vectors.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Measured (docs/BENCHMARKS.md, 1 FAISS thread): exact search costs ~6 ms per 100k vectors, HNSW
# 0.3-1 ms but a full graph rebuild per update (108 s at 100k) and +1.7 GB at 1M. Exact wins below
# about 200k; at 1M it costs 61 ms against 0.4 ms.
HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # recall@10 vs exact .909-.997 (128: .823-.976) for +0.3-0.5 ms


class DenseIndex:
    """Chunk vectors (row i = chunk i) plus a FAISS index over them."""

    def __init__(self, vectors: np.ndarray, faiss_index, kind: str) -> None:
        self.vectors = vectors
        self._index = faiss_index
        self.kind = kind

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto") -> "DenseIndex":
        """Index `vectors` (float32, L2-normalised); kind is "flat", "hnsw" or "auto"."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if kind == "auto":
            kind = "hnsw" if len(vectors) >= HNSW_THRESHOLD else "flat"
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
        return cls(vectors, index, kind)

    def save(self, directory: Path) -> list[str]:
        """Write vectors.npy (and dense.faiss for HNSW); return the file names written."""
        import faiss

        np.save(directory / "vectors.npy", self.vectors, allow_pickle=False)
        if self.kind == "flat":
            return ["vectors.npy"]
        faiss.write_index(self._index, str(directory / "dense.faiss"))
        return ["vectors.npy", "dense.faiss"]

    @classmethod
    def load(cls, directory: Path, kind: str) -> "DenseIndex":
        import faiss

        vectors = np.load(directory / "vectors.npy", mmap_mode="r", allow_pickle=False)
        if kind == "flat":
            return cls.build(np.asarray(vectors), "flat")
        index = faiss.read_index(str(directory / "dense.faiss"))
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(vectors, index, kind)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, row ids) for one query vector; ids are -1 past the end."""
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
