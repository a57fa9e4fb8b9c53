"""Embedding cache, so re-indexing never re-embeds an unchanged chunk.

Layout: `<cache>/embeddings/<model namespace>/` holds `meta.json` and shards; a shard is a pair
`<name>.keys` (one sha1 hex key per line) + `<name>.npy` (float32, one row per key), each written
to a temporary file and renamed. Shards are only ever added. A shard whose pair is incomplete or
whose row counts disagree (a crash mid-write) is ignored.

Keys are sha1 of the exact text the model sees: prompt + passage text.

Example:
    cache = EmbeddingCache.for_embedder(embedder)
    vectors = embed_passages_cached(embedder, ["第一段", "第二段"], cache)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag import config
from rag.errors import IndexCorruptError

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
_SHARD_RE = re.compile(r"^(\d{20}-\d+)\.keys$")


def passage_key(text: str, prompt: str) -> str:
    """sha1 hex of exactly what gets embedded (prompt + text)."""
    return hashlib.sha1((prompt + text).encode("utf-8")).hexdigest()


def namespace_for(embedder) -> str:
    """Directory name for an embedder's vectors: readable model id + hash of everything that shapes them."""
    ident = json.dumps([embedder.model_id, getattr(embedder, "revision", ""), int(embedder.dim),
                        getattr(embedder, "max_seq_length", None)])
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.model_id)[-60:]
    return f"{readable}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class EmbeddingCache:
    """Append-only store of vectors for one model, keyed by `passage_key`."""

    def __init__(self, directory: Path, dim: int) -> None:
        self.directory = Path(directory)
        self.dim = int(dim)
        self.directory.mkdir(parents=True, exist_ok=True)
        meta_path = self.directory / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text("utf-8"))
            if meta.get("format") != CACHE_FORMAT or meta.get("dim") != self.dim:
                raise IndexCorruptError(
                    f"embedding cache {self.directory} holds format {meta.get('format')} dim {meta.get('dim')}, "
                    f"expected format {CACHE_FORMAT} dim {self.dim}; delete that directory to rebuild it")
        else:
            _write_atomic(meta_path, lambda fh: fh.write(json.dumps({"format": CACHE_FORMAT, "dim": self.dim}).encode()))
        self._where: dict[str, tuple[str, int]] = {}  # key -> (shard name, row)
        self._arrays: dict[str, np.ndarray] = {}
        self._seen: set[str] = set()
        self.refresh()

    @classmethod
    def for_embedder(cls, embedder, root: Path | None = None) -> EmbeddingCache:
        """The cache for this embedder under `root` (default `<cache_dir>/embeddings`)."""
        root = root or config.cache_dir() / "embeddings"
        return cls(root / namespace_for(embedder), embedder.dim)

    def __len__(self) -> int:
        return len(self._where)

    def refresh(self) -> None:
        """Pick up shards written since opening (by this or another process)."""
        for path in sorted(self.directory.glob("*.keys")):
            match = _SHARD_RE.match(path.name)
            if not match or match.group(1) in self._seen:
                continue
            name = match.group(1)
            vec_path = self.directory / f"{name}.npy"
            try:
                keys = path.read_text("ascii").split()
                vectors = np.load(vec_path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                logger.warning("ignoring incomplete embedding cache shard %s (%s)", name, exc)
                continue
            if vectors.ndim != 2 or vectors.shape != (len(keys), self.dim) or vectors.dtype != np.float32:
                logger.warning("ignoring embedding cache shard %s: %s vectors for %d keys", name, vectors.shape,
                               len(keys))
                continue
            self._seen.add(name)
            self._arrays[name] = vectors
            for row, key in enumerate(keys):
                self._where.setdefault(key, (name, row))

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors for the keys present (missing keys are simply absent from the result)."""
        found = {}
        for key in keys:
            hit = self._where.get(key)
            if hit is not None:
                found[key] = np.array(self._arrays[hit[0]][hit[1]], dtype=np.float32)
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> int:
        """Store vectors for keys not yet present, as one new shard; returns how many were added."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"put_many got {len(keys)} keys and vectors of shape {vectors.shape}; "
                             f"expected ({len(keys)}, {self.dim})")
        fresh: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key not in self._where and key not in fresh:
                fresh[key] = i
        if not fresh:
            return 0
        name = f"{time.time_ns():020d}-{os.getpid()}"
        rows = np.ascontiguousarray(vectors[list(fresh.values())])
        # Vectors first, keys last: a shard only counts once its keys file exists.
        _write_atomic(self.directory / f"{name}.npy", lambda fh: np.save(fh, rows, allow_pickle=False))
        _write_atomic(self.directory / f"{name}.keys", lambda fh: fh.write("\n".join(fresh).encode("ascii") + b"\n"))
        self._seen.add(name)
        self._arrays[name] = rows
        for row, key in enumerate(fresh):
            self._where[key] = (name, row)
        return len(fresh)


def embed_passages_cached(embedder, texts: Sequence[str], cache: EmbeddingCache, progress: bool = False,
                          batch_size: int = 32, flush_every: int = 1024) -> np.ndarray:
    """Passage vectors (n, dim) float32, encoding only texts the cache lacks.

    Misses are encoded and stored in blocks of `flush_every`, so an interrupted run keeps its work.
    """
    if isinstance(texts, str):
        raise TypeError("embed_passages_cached takes a list of strings; wrap one text as [text]")
    if cache.dim != embedder.dim:
        raise ValueError(f"cache dim {cache.dim} does not match embedder dim {embedder.dim}; "
                         "use EmbeddingCache.for_embedder(embedder)")
    texts = list(texts)
    keys = [passage_key(t, embedder.passage_prompt) for t in texts]
    found = cache.get_many(keys)
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts):
        if key not in found:
            missing.setdefault(key, text)
    logger.info("embedding cache: %d of %d passages cached, %d to encode", len(texts) - len(missing), len(texts),
                len(missing))
    miss_keys = list(missing)
    for start in range(0, len(miss_keys), flush_every):
        block = miss_keys[start : start + flush_every]
        vectors = embedder.encode_passages([missing[k] for k in block], batch_size=batch_size, progress=progress)
        cache.put_many(block, vectors)
        found.update(zip(block, np.asarray(vectors, dtype=np.float32)))
    out = np.empty((len(texts), embedder.dim), np.float32)
    for i, key in enumerate(keys):
        out[i] = found[key]
    return out
