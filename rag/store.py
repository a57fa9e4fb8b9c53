"""The index on disk: plain files plus a checked manifest, swapped in atomically.

Layout of an index directory::

    INDEX_DIR/
      CURRENT               name of the live generation (replaced with os.replace: atomic)
      gen-<time>-<id>/      one complete build
        manifest.json       schema, versions, embedder, chunker, tokenizer, counts, checksums
        articles.jsonl      one Article per line (clean text included)
        chunks.jsonl        chunk_id, article_id, start, end (text is article.text[start:end])
        tokens.txt          BM25 tokens of each chunk, space-separated, one line per chunk
        files.json          per source file: size, mtime, sha1, article_id or skip reason
        bm25/               bm25s arrays (.npy) and params/vocab (.json)
        vectors.npy         chunk vectors, row i = chunk i (absent for a lexical-only index)
        dense.faiss         HNSW graph (only above the size where exact search gets slow)

A build writes a new generation directory, then points CURRENT at it. A crash or kill at any
moment leaves CURRENT pointing at the previous, complete generation.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag import __version__
from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from rag.fsutil import file_sha256, fsync_file, fsync_tree
from rag.types import Article, Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_CHECKSUM_LIMIT = 64 * 1024 * 1024  # files above this are checked by size only on load


@dataclass
class LoadedIndex:
    """A generation read back from disk, with per-chunk arrays for filtering."""

    root: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    lexical: Any  # rag.lexical.LexicalIndex
    dense: Any = None  # rag.dense.DenseIndex or None
    chunk_article_ids: list[str] = field(default_factory=list)
    _chunks_by_article: dict[str, list[int]] = field(default_factory=dict)
    _republications: dict[str, list[Article]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.chunk_article_ids = [c.article_id for c in self.chunks]
        for i, c in enumerate(self.chunks):
            self._chunks_by_article.setdefault(c.article_id, []).append(i)
        for a in self.articles.values():
            if a.duplicate_of:
                self._republications.setdefault(a.duplicate_of, []).append(a)

    def article(self, article_id: str) -> Article:
        try:
            return self.articles[article_id]
        except KeyError:
            raise KeyError(f"no article {article_id!r} in the index at {self.root}; `newsrag corpus list` shows the ids") from None

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[i] for i in self._chunks_by_article.get(article_id, [])]

    def republications(self, article_id: str) -> list[Article]:
        return list(self._republications.get(article_id, []))



def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    return gen if gen.is_dir() else None


def new_generation_dir(index_dir: Path) -> Path:
    """A fresh, hidden work directory inside index_dir (same filesystem, so rename is atomic)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f".tmp-gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    path = index_dir / name
    path.mkdir()
    return path


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def commit_generation(index_dir: Path, work: Path, manifest: dict[str, Any]) -> Path:
    """Checksum the files in `work`, write its manifest, and make it the live generation."""
    files = {}
    for p in sorted(work.rglob("*")):
        if p.is_file():
            rel = p.relative_to(work).as_posix()
            size = p.stat().st_size
            files[rel] = {"bytes": size, "sha256": file_sha256(p) if size <= _CHECKSUM_LIMIT else None}
    manifest = {**manifest, "schema_version": SCHEMA_VERSION, "newsrag_version": __version__, "files": files}
    (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    fsync_tree(work)
    final = index_dir / work.name.replace(".tmp-gen-", "gen-")
    os.replace(work, final)
    tmp_pointer = index_dir / f".CURRENT.{uuid.uuid4().hex[:8]}"
    tmp_pointer.write_text(final.name + "\n", encoding="utf-8")
    fsync_file(tmp_pointer)
    os.replace(tmp_pointer, index_dir / "CURRENT")
    _cleanup(index_dir, keep=final.name)
    return final


def _cleanup(index_dir: Path, keep: str) -> None:
    """Remove older generations and leftovers of killed builds."""
    for p in index_dir.iterdir():
        if p.is_dir() and p.name != keep and (p.name.startswith("gen-") or p.name.startswith(".tmp-gen-")):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".CURRENT."):
            p.unlink(missing_ok=True)


def read_manifest(index_dir: Path) -> tuple[Path, dict[str, Any]]:
    """(generation dir, manifest) of the live index, or IndexMissingError saying how to build one."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None or not (gen / "manifest.json").is_file():
        raise IndexMissingError(f"no index at {index_dir}; build one with: newsrag index CORPUS_DIR --index {index_dir}")
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"the manifest of {gen} is unreadable ({exc}); rebuild with: newsrag index CORPUS_DIR --index {index_dir} --rebuild") from exc
    return gen, manifest


def check_manifest(index_dir: Path, gen: Path, manifest: dict[str, Any], verify: bool = True) -> None:
    """Raise IndexMismatchError / IndexCorruptError with the command that fixes it."""
    rebuild = f"newsrag index {manifest.get('corpus', {}).get('root', 'CORPUS_DIR')} --index {index_dir} --rebuild"
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"the index at {index_dir} has schema version {manifest.get('schema_version')}, this newsrag reads {SCHEMA_VERSION}; rebuild it: {rebuild}"
        )
    for rel, meta in manifest.get("files", {}).items():
        p = gen / rel
        if not p.is_file() or p.stat().st_size != meta["bytes"]:
            raise IndexCorruptError(f"index file {p} is missing or has the wrong size; rebuild it: {rebuild}")
        if verify and meta.get("sha256") and file_sha256(p) != meta["sha256"]:
            raise IndexCorruptError(f"index file {p} does not match its checksum (corrupted); rebuild it: {rebuild}")


def load_index(index_dir: Path | str, verify: bool = True) -> LoadedIndex:
    """Load the live generation of `index_dir`, checking the manifest and file checksums."""
    from rag.dense import DenseIndex
    from rag.lexical import LexicalIndex

    index_dir = Path(index_dir)
    gen, manifest = read_manifest(index_dir)
    check_manifest(index_dir, gen, manifest, verify=verify)
    try:
        articles = {row["article_id"]: Article(**row) for row in read_jsonl(gen / "articles.jsonl")}
        chunks = []
        for row in read_jsonl(gen / "chunks.jsonl"):
            a = articles[row["article_id"]]
            chunks.append(Chunk(row["chunk_id"], row["article_id"], row["start"], row["end"], a.text[row["start"] : row["end"]]))
        lexical = LexicalIndex.load(gen / "bm25")
        dense = DenseIndex.load(gen, manifest["dense"]["kind"]) if manifest.get("dense") else None
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"the index at {index_dir} could not be read ({exc}); rebuild it with --rebuild") from exc
    if dense is not None and len(dense) != len(chunks):
        raise IndexCorruptError(f"the index at {index_dir} has {len(dense)} vectors for {len(chunks)} chunks; rebuild it with --rebuild")
    return LoadedIndex(root=index_dir, manifest=manifest, articles=articles, chunks=chunks, lexical=lexical, dense=dense)


def load_previous_state(index_dir: Path) -> dict[str, Any] | None:
    """What an incremental build reuses: files, articles, chunk tokens and vectors by text hash."""
    try:
        gen, manifest = read_manifest(index_dir)
        check_manifest(index_dir, gen, manifest, verify=False)
    except (IndexMissingError, IndexCorruptError, IndexMismatchError) as exc:
        log.info("not reusing the previous index: %s", exc)
        return None
    state: dict[str, Any] = {"manifest": manifest, "gen": gen}
    state["files"] = json.loads((gen / "files.json").read_text(encoding="utf-8"))
    state["articles"] = {row["article_id"]: Article(**row) for row in read_jsonl(gen / "articles.jsonl")}
    state["chunks"] = read_jsonl(gen / "chunks.jsonl")
    with open(gen / "tokens.txt", encoding="utf-8") as f:
        state["tokens"] = [line.rstrip("\n").split(" ") if line.strip() else [] for line in f]
    vec = gen / "vectors.npy"
    state["vectors"] = np.load(vec, mmap_mode="r", allow_pickle=False) if vec.is_file() else None
    return state
