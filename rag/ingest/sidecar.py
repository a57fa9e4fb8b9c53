"""Dates from a MANIFEST.tsv beside the files, for articles whose own text carries none.

The bundled sets come with a manifest (columns `file`, `date_guess`, `note`) recording, for
example, the first commit that published a GNews repost. That is weaker evidence than a date in
the article, so it is used only when the file has no date, and `date_source` says where it came
from (e.g. "manifest: first-commit(UTC)") so a reader can weigh it.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOTE_RE = re.compile(r"date from ([^;]+)")


@functools.lru_cache(maxsize=16)
def _read_manifest(path: str, mtime_ns: int) -> dict[str, tuple[str, str]]:
    """{file relative to the manifest's folder: (date, how it was derived)}."""
    rows: dict[str, tuple[str, str]] = {}
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                date, name = (row.get("date_guess") or "").strip(), (row.get("file") or "").strip()
                if name and _DATE_RE.match(date):
                    m = _NOTE_RE.search(row.get("note") or "")
                    rows[name] = (date, m.group(1).strip() if m else "manifest")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        log.warning("ignoring unreadable manifest %s: %s", path, exc)
    return rows


def manifest_date(root: Path, source_path: str) -> tuple[str, str] | None:
    """(YYYY-MM-DD, date_source) for `source_path` from the nearest MANIFEST.tsv above it, if any."""
    parts = source_path.split("/")
    for depth in range(len(parts) - 1, -1, -1):
        folder = Path(root, *parts[:depth])
        manifest = folder / "MANIFEST.tsv"
        if manifest.is_file():
            rows = _read_manifest(str(manifest), manifest.stat().st_mtime_ns)
            hit = rows.get("/".join(parts[depth:]))
            if hit:
                return hit[0], f"manifest: {hit[1]}"
            return None
    return None
