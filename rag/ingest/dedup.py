"""Republication detection: the same article under two wrappers, routes or mirrors.

Step 1: candidate pairs from cheap keys: the normalised URL, the normalised text hash, the
        normalised title, the first 60 normalised characters, and hashes of each article's
        three longest paragraphs.
Step 2: a candidate pair is a duplicate when it shares a URL or text hash, or when the
        character 5-gram shingles of one are ≥ 90% contained in the other's and the lengths are
        comparable (so a short brief quoted inside a long commentary is not a "copy").
Step 3: union the pairs into groups; the canonical copy is the earliest published, then the
        one with more metadata (URL, date), then the smallest source_path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urlsplit

from rag.types import Article

CONTAINMENT = 0.9
MIN_LENGTH_RATIO = 0.5
SHINGLE = 5
MIN_TEXT = 200  # normalised characters below which text alone never makes a duplicate
MIN_TEXT_ANY_TITLE = 800  # above this, a re-titled copy counts too
_MAX_BUCKET = 40  # a title shared by more articles than this ("文字版") is not evidence
_NORM = re.compile(r"[\W_]+", re.UNICODE)


def normalize_url(url: str) -> str:
    """Scheme-, www-, query- and trailing-slash-insensitive URL key ("" for no URL)."""
    if not url:
        return ""
    try:
        p = urlsplit(url.strip())
    except ValueError:
        return url.strip().lower()
    host = (p.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    return f"{host}{p.path.rstrip('/')}"


def normalize_text(text: str) -> str:
    return _NORM.sub("", text).lower()


def _digest(s: str) -> str:
    return hashlib.blake2b(s.encode("utf-8"), digest_size=10).hexdigest()


def _shingles(norm: str) -> set[str]:
    if len(norm) <= SHINGLE:
        return {norm} if norm else set()
    return {norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)}


def _canonical_key(a: Article) -> tuple:
    metadata = int(bool(a.url)) + int(bool(a.published))
    return (a.published is None, a.published or "", -metadata, a.source_path)


def find_duplicate_groups(articles: Sequence[Article]) -> list[list[int]]:
    """Index groups (each of size ≥ 2) of articles that are the same article."""
    n = len(articles)
    norms = [normalize_text(a.text) for a in articles]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    # Step 1 + exact part of step 2: shared URL or identical normalised text.
    exact: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(articles):
        if a.url:
            exact["u:" + normalize_url(a.url)].append(i)
        if len(norms[i]) >= MIN_TEXT:
            exact["t:" + _digest(norms[i])].append(i)
    for members in exact.values():
        for j in members[1:]:
            union(members[0], j)

    candidates: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(articles):
        title = normalize_text(a.title)
        if len(title) >= 4:
            candidates["T:" + title].append(i)
        if len(norms[i]) >= MIN_TEXT:
            candidates["H:" + norms[i][:60]].append(i)
        paragraphs = sorted((normalize_text(p) for p in a.text.split("\n\n")), key=len, reverse=True)
        for p in paragraphs[:3]:
            if len(p) >= 40:
                candidates["P:" + _digest(p)].append(i)
    shingles: dict[int, set[str]] = {}

    def sh(i: int) -> set[str]:
        if i not in shingles:
            shingles[i] = _shingles(norms[i])
        return shingles[i]

    checked: set[tuple[int, int]] = set()
    for members in candidates.values():
        if len(members) < 2 or len(members) > _MAX_BUCKET:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if (i, j) in checked or find(i) == find(j):
                    continue
                checked.add((i, j))
                if _plausible_pair(articles[i], articles[j], norms[i], norms[j]) and _near_duplicate(
                    norms[i], norms[j], sh(i), sh(j)
                ):
                    union(i, j)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def _plausible_pair(a: Article, b: Article, ni: str, nj: str) -> bool:
    """Text evidence needs substance: shared credits or a series intro are not a republication."""
    shorter = min(len(ni), len(nj))
    if shorter < MIN_TEXT:
        return False
    if shorter >= MIN_TEXT_ANY_TITLE:
        return True
    ta, tb = normalize_text(a.title), normalize_text(b.title)
    return bool(ta and tb) and (ta in tb or tb in ta)


def _near_duplicate(ni: str, nj: str, si: set[str], sj: set[str]) -> bool:
    if not ni or not nj:
        return False
    if min(len(ni), len(nj)) / max(len(ni), len(nj)) < MIN_LENGTH_RATIO:
        return False
    small, big = (si, sj) if len(si) <= len(sj) else (sj, si)
    if not small:
        return False
    return len(small & big) / len(small) >= CONTAINMENT


def mark_duplicates(articles: Sequence[Article]) -> list[Article]:
    """Copies of `articles` (same order) where every republication has duplicate_of = canonical's article_id."""
    out = [dataclasses.replace(a, duplicate_of=None) if a.duplicate_of else a for a in articles]
    for group in find_duplicate_groups(articles):
        canonical = min(group, key=lambda i: _canonical_key(articles[i]))
        cid = articles[canonical].article_id
        for i in group:
            if i != canonical:
                out[i] = dataclasses.replace(out[i], duplicate_of=cid)
    return out
