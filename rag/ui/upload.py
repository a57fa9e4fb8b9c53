"""Add articles from the browser: validate each file, save the good ones, re-index incrementally.

A file is accepted when its name ends in .md, .txt, .html or .htm (or has no extension), it is at
most 5 MB, it decodes as text with the ingest decoder (UTF-8, GB18030/GBK, Big5; binary and
empty files are refused) and the ingest reader makes an article of it. Every other file is
reported with the reason; one bad file never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = (".md", ".txt", ".html", ".htm")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_SUBDIR = "uploads"


@dataclass(frozen=True)
class UploadResult:
    name: str  # the name the user gave the file
    ok: bool
    reason: str = ""  # why it was refused, or a note ("already in the corpus")
    saved_as: str = ""  # path relative to the corpus root
    title: str = ""
    outlet: str = ""


@dataclass(frozen=True)
class UploadReport:
    results: tuple[UploadResult, ...]
    articles_before: int
    articles_after: int
    build_seconds: float | None  # None when nothing was re-indexed

    @property
    def accepted(self) -> tuple[UploadResult, ...]:
        return tuple(r for r in self.results if r.ok)

    @property
    def rejected(self) -> tuple[UploadResult, ...]:
        return tuple(r for r in self.results if not r.ok)


def check_name(name: str) -> str | None:
    """Why a file name is not allowed, or None."""
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in ALLOWED_SUFFIXES:
        return f"type {suffix} is not accepted; upload {', '.join(ALLOWED_SUFFIXES)} files or text files without an extension"
    return None


def check_bytes(data: bytes) -> str | None:
    """Why these bytes are not a text article (size, binary, empty, encoding), or None."""
    from rag.ingest.decode import decode_bytes
    from rag.ingest.errors import SkipFile

    if len(data) > MAX_UPLOAD_BYTES:
        return f"too large ({len(data) / 1e6:.1f} MB); the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB per file"
    try:
        decode_bytes(data)
    except SkipFile as exc:
        return str(exc)
    return None


def safe_name(name: str) -> str:
    """A file name that cannot escape the uploads folder or be hidden from the corpus reader."""
    base = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    base = re.sub(r"[\x00-\x1f/:*?\"<>|]", "_", base).lstrip(". ")
    stem, suffix = os.path.splitext(base)
    return (stem[:120] or "upload") + suffix.lower()


def _target(folder: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where to save `data` (path, already_there): identical files are not duplicated."""
    stem, suffix = os.path.splitext(name)
    digest = hashlib.sha1(data).hexdigest()
    for i in range(1000):
        cand = folder / (name if i == 0 else f"{stem}-{i}{suffix}")
        if not cand.exists():
            return cand, False
        if hashlib.sha1(cand.read_bytes()).hexdigest() == digest:
            return cand, True
    raise OSError(f"too many files named {name} in {folder}")


def save_upload(corpus_dir: Path, name: str, src: Path) -> UploadResult:
    """Validate one uploaded file and, if good, save it under <corpus>/uploads/."""
    from rag.ingest import SkipFile, load_registry, read_file

    shown = Path(name).name
    reason = check_name(shown)
    if reason:
        return UploadResult(shown, False, reason)
    try:
        size = src.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            return UploadResult(shown, False, f"too large ({size / 1e6:.1f} MB); the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB per file")
        data = src.read_bytes()
    except OSError as exc:
        return UploadResult(shown, False, f"cannot read the upload: {exc.strerror or exc}")
    reason = check_bytes(data)
    if reason:
        return UploadResult(shown, False, reason)
    folder = corpus_dir / UPLOAD_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    path, already = _target(folder, safe_name(shown), data)
    rel = path.relative_to(corpus_dir).as_posix()
    if not already:
        tmp = folder / f".{path.name}.part"  # dotfiles are invisible to the corpus reader
        tmp.write_bytes(data)
        os.replace(tmp, path)
    try:
        art = read_file(corpus_dir, rel, load_registry(corpus_dir))
    except SkipFile as exc:
        if not already:
            path.unlink(missing_ok=True)
        return UploadResult(shown, False, f"not an article: {exc}")
    except Exception as exc:  # a reader bug on one hostile file must not break the upload
        if not already:
            path.unlink(missing_ok=True)
        log.warning("upload %s: reader failed: %r", shown, exc)
        return UploadResult(shown, False, f"could not be read ({type(exc).__name__}); please report this file")
    note = "already in the corpus (identical file)" if already else ""
    return UploadResult(shown, True, note, rel, art.title, art.outlet)


def add_uploads(manager, files: Sequence[tuple[str, Path]], on_progress: Callable[[str, int, int], None] | None = None) -> UploadReport:
    """Save the good files of `files` ((name, temp path) pairs) and re-index incrementally.

    Args:
        manager: the app's rag.ui.background.IndexManager.
    """
    corpus = manager.corpus_dir
    before = len(manager.service.index.articles)
    results = []
    for i, (name, src) in enumerate(files):
        if on_progress:
            on_progress("checking", i, len(files))
        try:
            results.append(save_upload(corpus, name, Path(src)))
        except Exception as exc:  # never fatal: report and go on with the next file
            log.exception("upload %s failed", name)
            results.append(UploadResult(Path(name).name, False, f"could not be saved ({type(exc).__name__}: {exc})"))
    seconds = None
    if any(r.ok and not r.reason for r in results):
        rep = manager.reindex(on_progress)
        seconds = rep.seconds
        skipped = dict(rep.skipped)
        results = [UploadResult(r.name, False, f"skipped by the indexer: {skipped[r.saved_as]}") if r.ok and r.saved_as in skipped else r for r in results]
    return UploadReport(tuple(results), before, len(manager.service.index.articles), seconds)
