"""Build or update an index from a corpus directory, touching only what changed.

Step 1: list the corpus files and compare them with the previous build (size + mtime, then sha1).
Step 2: read new or changed files; reuse the Article of every unchanged one.
Step 3: mark republications across the whole corpus (cheap; hashes and shingles).
Step 4: chunk and tokenise articles whose text changed; reuse spans and tokens of the rest.
Step 5: embed only chunks whose text has no vector yet (previous index, then embedding cache).
Step 6: fill a new vector store (rag.index.vectorstore: FAISS files, or a new Milvus collection).
Step 7: write a new generation and swap it in (rag.index.store).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from rag.chunk import ChunkSettings, chunk_article
from rag.index.manifest import Counts, EmbedderInfo, Manifest
from rag.index.store import PreviousBuild, read_previous, write_generation
from rag.index.vectorstore import StoreConfig, VectorStore, config_of, records_for, resolve_config, store_class
from rag.types import Article, Chunk

log = logging.getLogger(__name__)

# progress(stage, done, total): lets the web app show a bar; the CLI uses tqdm instead.
ProgressFn = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class BuildReport:
    manifest: Manifest
    added: tuple[str, ...]
    changed: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: int
    skipped: tuple[tuple[str, str], ...]  # (source_path, reason)
    embedded: int  # chunks that had to be encoded in this build
    seconds: float


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _bar(iterable: Iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="file" if desc == "reading" else "chunk", dynamic_ncols=True)


def _scan_files(root: Path, prev_files: dict[str, dict]) -> tuple[dict[str, dict], list[str]]:
    """Stat every corpus file; return (stat records, paths that need reading)."""
    from rag.ingest import list_corpus_files

    records, to_read = {}, []
    for rel in list_corpus_files(root):
        st = (root / rel).stat()
        rec = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
        old = prev_files.get(rel)
        if old and old["bytes"] == rec["bytes"] and old["mtime_ns"] == rec["mtime_ns"]:
            records[rel] = old
            continue
        rec["sha1"] = hashlib.sha1((root / rel).read_bytes()).hexdigest()
        if old and old.get("sha1") == rec["sha1"]:
            records[rel] = {**old, **rec}
            continue
        records[rel] = rec
        to_read.append(rel)
    return records, to_read


def build_index(
    corpus_dir: Path | str,
    index_dir: Path | str,
    embedder_spec: str | None = None,
    *,
    rebuild: bool = False,
    progress: bool = False,
    on_progress: ProgressFn | None = None,
    dense_kind: str = "auto",
    settings: ChunkSettings = ChunkSettings(),
    store: StoreConfig | None = None,
) -> BuildReport:
    """Build or incrementally update the index of `corpus_dir` in `index_dir`.

    Args:
        embedder_spec: sentence-transformers model id/path, the offline default (None), or "none"
            for a lexical-only index (seconds to build; dense retrieval off).
        rebuild: ignore the previous build entirely.
        store: where the vectors go (rag.index.vectorstore); None keeps the previous build's
            store, else FAISS files in the generation.
    """
    from rag.index.lexical import LexicalIndex
    from rag.ingest import mark_duplicates
    from rag.text.tokens import TOKENIZER_NAME, userdict_fingerprint

    t0 = time.perf_counter()
    root, index_dir = Path(corpus_dir).resolve(), Path(index_dir)
    if not root.is_dir():
        from rag.errors import NewsragError

        raise NewsragError(f"corpus directory {root} does not exist; pass a folder of article files")
    report = on_progress or (lambda stage, done, total: None)
    tokenizer_meta = {"name": TOKENIZER_NAME, "userdict": userdict_fingerprint()}

    with _build_lock(index_dir):
        prev = None if rebuild else read_previous(index_dir)
        records, to_read = _scan_files(root, prev.files if prev else {})
        if store is not None:
            store_class(store.name)  # an unknown name fails before any work
            store = resolve_config(store, index_dir)
        if _up_to_date(prev, records, to_read, embedder_spec, settings, tokenizer_meta) and _same_store(prev, store, index_dir):
            log.info("index %s is up to date with %s; nothing rebuilt", index_dir, root)
            _finish_publishing(prev)
            return BuildReport(prev.manifest, (), (), (), len(records), prev.manifest.skipped, 0, time.perf_counter() - t0)
        articles, skipped, to_read = _read_articles(root, records, to_read, prev, progress, report)
        prev_files = prev.files if prev else {}
        added = tuple(r for r in to_read if r not in prev_files)
        changed = tuple(r for r in to_read if r in prev_files)
        deleted = tuple(sorted(set(prev_files) - set(records)))

        ordered = mark_duplicates(sorted(articles.values(), key=lambda a: a.source_path))
        canonical = [a for a in ordered if not a.duplicate_of]
        same_text_pipeline = prev is not None and prev.manifest.chunker == settings.to_dict() and prev.manifest.tokenizer == tokenizer_meta
        chunks, tokens = _chunk_and_tokenize(canonical, prev if same_text_pipeline else None, settings, progress, report)

        embedder_info, vectors, embedded = None, None, 0
        if embedder_spec != "none":
            vectors, embedder_info, embedded = _embed_chunks(chunks, embedder_spec, prev, progress, report)

        dense = None
        if vectors is not None:
            config = store or _previous_store(prev, index_dir) or StoreConfig()
            config = StoreConfig(config.name, config.uri, dense_kind)
            dense = _fill_store(config, index_dir, records_for(chunks, {a.article_id: a for a in ordered}), vectors, report)
        report("writing", 0, 1)
        fingerprint = hashlib.sha1(json.dumps({k: v.get("sha1") or [v["bytes"], v["mtime_ns"]] for k, v in records.items()}, sort_keys=True).encode()).hexdigest()
        manifest = Manifest(
            corpus_root=str(root),
            corpus_fingerprint=fingerprint,
            counts=Counts(
                files=len(records),
                articles=len(ordered),
                canonical_articles=len(canonical),
                republications=len(ordered) - len(canonical),
                chunks=len(chunks),
                skipped=len(skipped),
            ),
            embedder=embedder_info,
            dense=dense.info() if dense is not None else None,
            chunker=settings.to_dict(),
            tokenizer=tokenizer_meta,
            skipped=tuple(sorted(skipped)),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            build_seconds=round(time.perf_counter() - t0, 2),
        )
        write_generation(index_dir, manifest=manifest, articles=ordered, chunks=chunks, tokens=tokens, files=records,
                         lexical=LexicalIndex.build(tokens), dense=dense)
        report("writing", 1, 1)
    return BuildReport(manifest, added, changed, deleted, len(records) - len(to_read), tuple(sorted(skipped)), embedded, time.perf_counter() - t0)


def _finish_publishing(prev: PreviousBuild) -> None:
    """A build killed after its generation went live may not have tidied its vector store (alias,
    old collections); `publish` is idempotent, so an up-to-date run completes it."""
    from rag.errors import NewsragError

    if prev.store is None:
        return
    try:
        prev.store.publish()
    except NewsragError as exc:
        log.warning("the index is up to date, but its vector store could not be tidied up: %s", exc)


def _previous_store(prev: PreviousBuild | None, index_dir: Path) -> StoreConfig | None:
    if prev is None or prev.manifest.dense is None:
        return None
    return config_of(prev.manifest.dense, index_dir)


def _same_store(prev: PreviousBuild | None, wanted: StoreConfig | None, index_dir: Path) -> bool:
    """True when `wanted` (None: keep whatever the live generation uses) is where its vectors are."""
    have = _previous_store(prev, index_dir)
    return wanted is None or have is None or (have.name, have.uri) == (wanted.name, wanted.uri)


def _fill_store(config: StoreConfig, index_dir: Path, recs, vectors: np.ndarray, report: ProgressFn) -> VectorStore:
    """Step 6: a new store for this generation, filled with every chunk's vector."""
    dense = store_class(config.name).create(config, index_dir, int(vectors.shape[1]), len(vectors))
    block = dense.add_block or max(1, len(vectors))
    report("storing vectors", 0, len(vectors))
    for b in range(0, len(vectors), block):
        dense.add(recs[b : b + block], vectors[b : b + block])
        report("storing vectors", min(b + block, len(vectors)), len(vectors))
    return dense


def _up_to_date(prev: PreviousBuild | None, records: dict[str, dict], to_read: list[str], spec: str | None,
                settings: ChunkSettings, tokenizer_meta: dict) -> bool:
    """True when the live generation already is what this build would write: no file added,
    changed or deleted, the same chunker, tokenizer and embedder. Then nothing is loaded or written."""
    if prev is None or to_read or records != dict(prev.files):
        return False
    if prev.manifest.chunker != settings.to_dict() or prev.manifest.tokenizer != tokenizer_meta:
        return False
    if spec == "none":
        return prev.manifest.embedder is None
    from rag.config import embedder_spec

    return prev.manifest.embedder is not None and prev.manifest.embedder.load_spec == (spec or embedder_spec())


def _read_articles(root: Path, records: dict[str, dict], to_read: list[str], prev: PreviousBuild | None, progress: bool, report: ProgressFn):
    """Step 2: the Article of every file — reused when the file is unchanged, read (or skipped) otherwise.

    Returns (articles by id, [(source_path, reason)] skipped, the paths that were read).
    """
    from rag.ingest import SkippedFile, load_registry, read_or_skip

    prev_articles = prev.articles if prev else {}
    articles: dict[str, Article] = {}
    skipped: list[tuple[str, str]] = []
    to_read = list(to_read)
    for rel, rec in records.items():
        if rel in to_read:
            continue
        if rec.get("skipped"):
            skipped.append((rel, rec["skipped"]))
        elif rec.get("article_id") in prev_articles:
            articles[rec["article_id"]] = dataclasses.replace(prev_articles[rec["article_id"]], duplicate_of=None)
        else:
            to_read.append(rel)
    registry = load_registry(root)
    for i, rel in enumerate(_bar(to_read, len(to_read), "reading", progress)):
        report("reading", i, len(to_read))
        rec = records[rel]
        rec.pop("skipped", None)
        rec.pop("article_id", None)
        got = read_or_skip(root, rel, registry)
        if isinstance(got, SkippedFile):
            rec["skipped"] = got.reason
            skipped.append((rel, got.reason))
        else:
            rec["article_id"] = got.article_id
            articles[got.article_id] = got
    report("reading", len(to_read), len(to_read))
    return articles, skipped, to_read


def _chunk_and_tokenize(canonical: list[Article], prev: PreviousBuild | None, settings: ChunkSettings, progress: bool, report: ProgressFn):
    """Step 4: chunks and BM25 tokens; reused from `prev` for every article whose text is unchanged."""
    from rag.text.tokens import tokenize

    reuse: dict[str, list[tuple[dict, list[str]]]] = {}
    if prev is not None:
        for row, toks in zip(prev.chunk_rows, prev.tokens):
            reuse.setdefault(row["article_id"], []).append((row, toks))
    prev_articles = prev.articles if prev else {}
    chunks: list[Chunk] = []
    tokens: list[list[str]] = []
    for i, art in enumerate(_bar(canonical, len(canonical), "chunking", progress)):
        report("chunking", i, len(canonical))
        old = prev_articles.get(art.article_id)
        if old is not None and old.text == art.text and art.article_id in reuse:
            for row, toks in reuse[art.article_id]:
                chunks.append(Chunk(row["chunk_id"], art.article_id, row["start"], row["end"], art.text[row["start"] : row["end"]]))
                tokens.append(toks)
            continue
        for c in chunk_article(art, settings):
            chunks.append(c)
            tokens.append(tokenize(art.title + "\n" + c.text) if c.start == 0 else tokenize(c.text))
    return chunks, tokens


def _embed_chunks(chunks: list[Chunk], spec: str | None, prev: PreviousBuild | None, progress: bool, report: ProgressFn):
    """Step 5: vectors for all chunks: reuse the previous index's rows and the cache; encode the rest."""
    from rag.config import embedder_spec
    from rag.embed import describe, load_embedder
    from rag.embed.cache import EmbeddingCache, embed_passages_cached

    spec = spec or embedder_spec()
    keys = [_text_key(c.text) for c in chunks]
    # Rows of the previous generation are reused by text before the model loads, so the bar below
    # counts the chunks that really need the model from its first moment.
    reused: dict[int, int] = {}
    old = prev.manifest.embedder if prev is not None and prev.store is not None else None
    if old is not None and old.load_spec == spec:
        old_rows = {_text_key(prev.articles[r["article_id"]].text[r["start"] : r["end"]]): i for i, r in enumerate(prev.chunk_rows) if r["article_id"] in prev.articles}
        reused = {i: old_rows[k] for i, k in enumerate(keys) if k in old_rows}
    todo = len(chunks) - len(reused)
    report("loading the embedding model", 0, todo)
    log.info("loading the embedding model %s (%d chunks to embed)", spec, todo)
    embedder = load_embedder(spec)
    info = EmbedderInfo(**describe(embedder), spec=spec)
    if old is not None and old.model_id != info.model_id:
        reused = {}
    vectors = np.zeros((len(chunks), info.dim), dtype=np.float32)
    have = np.zeros(len(chunks), dtype=bool)
    if reused:
        new_rows = np.fromiter(reused.keys(), dtype=np.int64, count=len(reused))
        vectors[new_rows] = prev.store.vectors_for(np.fromiter(reused.values(), dtype=np.int64, count=len(reused)))
        have[new_rows] = True
    missing = [i for i in range(len(chunks)) if not have[i]]
    cache = EmbeddingCache.for_embedder(embedder)
    cached_before = len(cache)  # every text this build encodes is added to the cache exactly once
    report("embedding", 0, len(missing))
    bar = _bar(None, len(missing), "embedding", True) if progress and missing else None
    block = 256  # small blocks: the cache keeps finished work if the build is killed, and progress moves
    for b in range(0, len(missing), block):
        rows = missing[b : b + block]
        vectors[rows] = embed_passages_cached(embedder, [chunks[i].text for i in rows], cache)
        report("embedding", b + len(rows), len(missing))
        if bar is not None:
            bar.update(len(rows))
    if bar is not None:
        bar.close()
    return vectors, info, len(cache) - cached_before
