"""Shared fixtures: small real indexes built once per session (never an index left by another test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"


def needs_shared(sub: str) -> Path:
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"needs ../shared/{sub} (the large shared sets beside the project; CI always has it)")
    return path


@pytest.fixture(scope="session")
def seeds_corpus(tmp_path_factory) -> Path:
    """A private copy of the five seed articles (tests may add or edit files in it)."""
    dst = tmp_path_factory.mktemp("seeds") / "corpus"
    shutil.copytree(CORPUS / "seeds", dst)
    return dst


@pytest.fixture(scope="session")
def lexical_index(tmp_path_factory) -> Path:
    """A lexical-only index of the whole bundled corpus (seconds to build)."""
    from rag.index.build import build_index

    out = tmp_path_factory.mktemp("idx") / "lexical"
    build_index(CORPUS, out, "none")
    return out


@pytest.fixture(scope="session")
def hybrid_index(tmp_path_factory) -> Path:
    """A full index of the bundled corpus with the real offline embedder (minutes on first run, then cached)."""
    from rag.index.build import build_index

    out = tmp_path_factory.mktemp("idx") / "hybrid"
    build_index(CORPUS, out, None)
    return out
