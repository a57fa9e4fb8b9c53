"""The one exception the ingest stage raises for a single unusable file."""

from __future__ import annotations

from rag.errors import NewsragError


class SkipFile(NewsragError):
    """A file that cannot become an Article; the message says why and, where possible, what to do."""
