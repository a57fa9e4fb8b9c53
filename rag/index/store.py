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
moment leaves CURRENT pointing at the previous, complete generation. With the `milvus` vector
store (rag.index.milvus) the vectors live in one collection per generation instead of the two
vector files, named in the manifest; it is written before CURRENT moves, so the same holds.
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
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from rag import __version__
from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, NewsragError
from rag.fsutil import file_sha256, fsync_file, fsync_tree
from rag.index.manifest import SCHEMA_VERSION, FileEntry, Manifest
from rag.types import Article, Chunk

if TYPE_CHECKING:
    from rag.index.lexical import LexicalIndex
    from rag.index.vectorstore import VectorStore

log = logging.getLogger(__name__)

_CHECKSUM_LIMIT = 64 * 1024 * 1024  # files above this are checked by size only on load


@dataclass(frozen=True, eq=False)
class LoadedIndex:
    """A generation read back from disk, with per-chunk lookups for filtering and citing."""

    root: Path
    manifest: Manifest
    articles: Mapping[str, Article]
    chunks: Sequence[Chunk]
    lexical: "LexicalIndex"
    dense: "VectorStore | None" = None
    chunk_article_ids: tuple[str, ...] = field(init=False)
    _chunks_by_article: dict[str, list[int]] = field(init=False, repr=False)
    _republications: dict[str, list[Article]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_article: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            by_article.setdefault(c.article_id, []).append(i)
        repubs: dict[str, list[Article]] = {}
        for a in self.articles.values():
            if a.duplicate_of:
                repubs.setdefault(a.duplicate_of, []).append(a)
        object.__setattr__(self, "chunk_article_ids", tuple(c.article_id for c in self.chunks))
        object.__setattr__(self, "_chunks_by_article", by_article)
        object.__setattr__(self, "_republications", repubs)

    def article(self, article_id: str) -> Article:
        try:
            return self.articles[article_id]
        except KeyError:
            raise KeyError(f"no article {article_id!r} in the index at {self.root}; `newsrag corpus list` shows the ids") from None

    def chunks_of(self, article_id: str) -> list[Chunk]:
        return [self.chunks[i] for i in self._chunks_by_article.get(article_id, [])]

    def republications(self, article_id: str) -> list[Article]:
        return list(self._republications.get(article_id, []))


@dataclass(frozen=True, eq=False)
class PreviousBuild:
    """What an incremental build reuses from the live generation."""

    gen: Path
    manifest: Manifest
    files: Mapping[str, dict[str, Any]]  # per source file: bytes, mtime_ns, sha1, article_id or skipped
    articles: Mapping[str, Article]
    chunk_rows: Sequence[dict[str, Any]]  # chunk_id, article_id, start, end
    tokens: Sequence[list[str]]
    store: "VectorStore | None"  # its vectors: row i = chunk_rows[i]


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


def write_generation(
    index_dir: Path,
    *,
    manifest: Manifest,
    articles: Iterable[Article],
    chunks: Sequence[Chunk],
    tokens: Sequence[Sequence[str]],
    files: Mapping[str, dict[str, Any]],
    lexical: "LexicalIndex",
    dense: "VectorStore | None",
) -> Path:
    """Write one complete generation beside the live one, then make it live (atomic; crash-safe).

    `dense` is already filled; its `save` makes it durable before CURRENT moves, its `publish`
    runs after (a vector store's alias, cleanup of older generations' data).
    """
    try:
        previous = read_manifest(index_dir)[1].dense
    except NewsragError:
        previous = None
    work = new_generation_dir(index_dir)
    write_jsonl(work / "articles.jsonl", (a.to_dict() for a in articles))
    write_jsonl(work / "chunks.jsonl", ({"chunk_id": c.chunk_id, "article_id": c.article_id, "start": c.start, "end": c.end} for c in chunks))
    with open(work / "tokens.txt", "w", encoding="utf-8") as f:
        f.writelines(" ".join(t) + "\n" for t in tokens)
    (work / "files.json").write_text(json.dumps(dict(files), ensure_ascii=False, sort_keys=True), encoding="utf-8")
    (work / "bm25").mkdir()
    lexical.save(work / "bm25")
    if dense is not None:
        dense.save(work)
    final = commit_generation(index_dir, work, manifest)
    if dense is not None:
        try:
            dense.publish(keep=(previous,) if previous is not None else ())
        except NewsragError as exc:  # the new generation is live and complete; only the tidy-up failed
            log.warning("the new index generation is live, but its vector store could not be tidied up: %s", exc)
    return final


def commit_generation(index_dir: Path, work: Path, manifest: Manifest) -> Path:
    """Checksum the files in `work`, write its manifest, and make it the live generation."""
    files = {}
    for p in sorted(work.rglob("*")):
        if p.is_file():
            size = p.stat().st_size
            files[p.relative_to(work).as_posix()] = FileEntry(bytes=size, sha256=file_sha256(p) if size <= _CHECKSUM_LIMIT else None)
    manifest = manifest.with_files(files, __version__)
    (work / "manifest.json").write_text(json.dumps(manifest.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
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


def read_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """(generation dir, manifest) of the live index, or IndexMissingError saying how to build one."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None or not (gen / "manifest.json").is_file():
        raise IndexMissingError(f"no index at {index_dir}; build one with: newsrag index CORPUS_DIR --index {index_dir}")
    try:
        data = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"the manifest of {gen} is unreadable ({exc}); rebuild with: newsrag index CORPUS_DIR --index {index_dir} --rebuild") from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(f"the manifest of {gen} is not a JSON object; rebuild with: newsrag index CORPUS_DIR --index {index_dir} --rebuild")
    if data.get("schema_version") != SCHEMA_VERSION:
        root = (data.get("corpus") or {}).get("root", "CORPUS_DIR") if isinstance(data.get("corpus"), dict) else "CORPUS_DIR"
        raise IndexMismatchError(
            f"the index at {index_dir} has schema version {data.get('schema_version')}, this newsrag reads {SCHEMA_VERSION}; "
            f"rebuild it: newsrag index {root} --index {index_dir} --rebuild"
        )
    return gen, Manifest.from_json(data, where=str(gen))


def check_files(index_dir: Path, gen: Path, manifest: Manifest, verify: bool = True) -> None:
    """Raise IndexCorruptError (with the command that fixes it) when a file is missing, resized or altered."""
    rebuild = f"newsrag index {manifest.corpus_root or 'CORPUS_DIR'} --index {index_dir} --rebuild"
    for rel, meta in manifest.files.items():
        p = gen / rel
        if not p.is_file() or p.stat().st_size != meta.bytes:
            raise IndexCorruptError(f"index file {p} is missing or has the wrong size; rebuild it: {rebuild}")
        if verify and meta.sha256 and file_sha256(p) != meta.sha256:
            raise IndexCorruptError(f"index file {p} does not match its checksum (corrupted); rebuild it: {rebuild}")


def _read_articles(gen: Path) -> dict[str, Article]:
    return {row["article_id"]: Article(**row) for row in read_jsonl(gen / "articles.jsonl")}


def load_index(index_dir: Path | str, verify: bool = True) -> LoadedIndex:
    """Load the live generation of `index_dir`, checking the manifest and file checksums."""
    from rag.index.lexical import LexicalIndex
    from rag.index.vectorstore import records_for, store_class

    index_dir = Path(index_dir)
    gen, manifest = read_manifest(index_dir)
    check_files(index_dir, gen, manifest, verify=verify)
    try:
        articles = _read_articles(gen)
        chunks = []
        for row in read_jsonl(gen / "chunks.jsonl"):
            a = articles[row["article_id"]]
            chunks.append(Chunk(row["chunk_id"], row["article_id"], row["start"], row["end"], a.text[row["start"] : row["end"]]))
        lexical = LexicalIndex.load(gen / "bm25")
        dense = None
        if manifest.dense:
            cls = store_class(manifest.dense.store)
            records = records_for(chunks, articles) if cls.needs_records else ()
            dense = cls.open(gen, manifest.dense, index_dir, records)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"the index at {index_dir} could not be read ({exc}); rebuild it with --rebuild") from exc
    if dense is not None and len(dense) != len(chunks):
        raise IndexCorruptError(f"the index at {index_dir} has {len(dense)} vectors for {len(chunks)} chunks; rebuild it with --rebuild")
    return LoadedIndex(root=index_dir, manifest=manifest, articles=articles, chunks=chunks, lexical=lexical, dense=dense)


def read_previous(index_dir: Path) -> PreviousBuild | None:
    """The live generation's reusable parts, or None (logged) when there is none or it is unusable."""
    try:
        gen, manifest = read_manifest(index_dir)
        check_files(index_dir, gen, manifest, verify=False)
        with open(gen / "tokens.txt", encoding="utf-8") as f:
            tokens = [line.rstrip("\n").split(" ") if line.strip() else [] for line in f]
        store = None
        if manifest.dense is not None:
            from rag.index.vectorstore import store_class

            store = store_class(manifest.dense.store).open(gen, manifest.dense, index_dir)
        return PreviousBuild(
            gen=gen,
            manifest=manifest,
            files=json.loads((gen / "files.json").read_text(encoding="utf-8")),
            articles=_read_articles(gen),
            chunk_rows=read_jsonl(gen / "chunks.jsonl"),
            tokens=tokens,
            store=store,
        )
    except (IndexMissingError, IndexCorruptError, IndexMismatchError, OSError, ValueError, TypeError) as exc:
        log.info("not reusing the previous index: %s", exc)
        return None
