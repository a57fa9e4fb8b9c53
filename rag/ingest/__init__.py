"""Ingest: turn a directory of real-world news files into clean, attributed `Article` records.

Example:
    >>> report = read_corpus(Path("corpus"))
    >>> summary = summarize(report)
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import NewsragError
from rag.ingest.decode import decode_bytes
from rag.ingest.dedup import mark_duplicates
from rag.ingest.errors import SkipFile
from rag.ingest.formats import FORMATS, detect_format, parse
from rag.ingest.outlets import Outlet, OutletRegistry, load_registry
from rag.ingest.sidecar import manifest_date
from rag.types import Article

__all__ = [
    "FORMATS",
    "CorpusError",
    "CorpusReport",
    "Outlet",
    "OutletRegistry",
    "SkipFile",
    "SkippedFile",
    "article_id_for",
    "detect_format",
    "list_corpus_files",
    "load_registry",
    "mark_duplicates",
    "read_corpus",
    "read_file",
    "summarize",
]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # a "news article" bigger than this is a misplaced dump
_IGNORED_ANYWHERE = frozenset({"MANIFEST.tsv"})
_IGNORED_AT_ROOT = frozenset({"README.md", "outlets.yaml", "examples.txt"})


class CorpusError(NewsragError):
    pass


@dataclass(frozen=True)
class SkippedFile:
    source_path: str
    reason: str


@dataclass(frozen=True)
class CorpusReport:
    root: str
    articles: tuple[Article, ...]
    skipped: tuple[SkippedFile, ...]


def article_id_for(source_path: str) -> str:
    """Stable id: first 16 hex digits of sha1 of the posix path relative to the corpus root."""
    return hashlib.sha1(source_path.encode("utf-8")).hexdigest()[:16]


def list_corpus_files(root: Path) -> list[str]:
    """Every article candidate under `root` as sorted posix paths relative to it.

    Skips dotfiles and dot-directories, MANIFEST.tsv, and README.md / outlets.yaml / examples.txt directly in
    the root (deeper README.md files, such as GNews slot files, are articles).
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus directory {root} does not exist or is not a directory; pass the folder holding the news files")
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        at_root = rel_dir == Path(".")
        for name in filenames:
            if name.startswith(".") or name in _IGNORED_ANYWHERE or (at_root and name in _IGNORED_AT_ROOT):
                continue
            out.append((rel_dir / name).as_posix())
    return sorted(out)


def read_file(root: Path, source_path: str, registry: OutletRegistry | None = None) -> Article:
    """Read, decode, recognise and clean one file into an Article.

    Raises:
        SkipFile: the file cannot become an article; the message says why.
    """
    path = Path(root) / source_path
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SkipFile(f"too large for a news article ({size} bytes > {MAX_FILE_BYTES}); remove it from the corpus")
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None
    text, _encoding = decode_bytes(data)
    registry = registry if registry is not None else load_registry(Path(root))
    try:
        parsed = parse(text, source_path, registry)
    except ValueError as exc:
        raise SkipFile(f"truncated file: {exc}") from None
    text = parsed.text
    if len(text) < 10 or text in parsed.byline:
        if not parsed.title:
            raise SkipFile(
                f"no article text after cleaning ({len(text)} characters left; format {parsed.format}) and no title; "
                "nothing to cite"
            )
        # A video-only post: its title is all the text there is, and still worth finding and citing.
        log.info("%s has no body text; its title stands in for it", source_path)
        text = parsed.title
    published, date_source = parsed.published, parsed.date_source
    if not published:
        found = manifest_date(Path(root), source_path)
        if found:
            published, date_source = found
    return Article(
        article_id=article_id_for(source_path),
        title=parsed.title,
        outlet=parsed.outlet,
        text=text,
        source_path=source_path,
        format=parsed.format,
        byline=parsed.byline,
        original_source=parsed.original_source,
        published=published,
        date_source=date_source,
        url=parsed.url,
    )


def read_or_skip(root: Path, source_path: str, registry: OutletRegistry | None = None) -> Article | SkippedFile:
    """read_file, with any failure logged and returned as a SkippedFile: one bad file is never fatal."""
    try:
        return read_file(root, source_path, registry)
    except SkipFile as exc:
        log.warning("skipped %s: %s", source_path, exc)
        return SkippedFile(source_path, str(exc))
    except Exception as exc:  # a parser bug on one hostile file must not stop the corpus
        log.warning("skipped %s: unexpected %s: %s", source_path, type(exc).__name__, exc)
        return SkippedFile(source_path, f"internal error ({type(exc).__name__}: {exc}); please report this file")


def read_corpus(root: Path, paths: Iterable[str] | None = None, progress: bool = False) -> CorpusReport:
    """Read every file (or `paths`) under `root`; one bad file is logged and skipped, never fatal.

    Duplicates (republications) are marked with duplicate_of.
    """
    root = Path(root)
    files = list(paths) if paths is not None else list_corpus_files(root)
    registry = load_registry(root)
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    iterator: Iterable[str] = files
    if progress:
        from tqdm import tqdm  # lazy: only the CLI asks for a progress bar

        iterator = tqdm(files, desc="reading", unit="file")
    for rel in iterator:
        got = read_or_skip(root, rel, registry)
        (skipped if isinstance(got, SkippedFile) else articles).append(got)
    return CorpusReport(str(root), tuple(mark_duplicates(articles)), tuple(skipped))


def summarize(report: CorpusReport) -> dict:
    """Counts per outlet and format, skipped files with reasons, and the share missing a date or URL."""
    arts = report.articles
    n = len(arts)
    return {
        "root": report.root,
        "articles": n,
        "unique_articles": sum(1 for a in arts if not a.duplicate_of),
        "duplicates": sum(1 for a in arts if a.duplicate_of),
        "per_outlet": dict(Counter(a.outlet or "(unknown)" for a in arts).most_common()),
        "per_format": dict(Counter(a.format for a in arts).most_common()),
        "skipped": [{"source_path": s.source_path, "reason": s.reason} for s in report.skipped],
        "missing_date_share": round(sum(1 for a in arts if not a.published) / n, 4) if n else 0.0,
        "missing_url_share": round(sum(1 for a in arts if not a.url) / n, 4) if n else 0.0,
    }


