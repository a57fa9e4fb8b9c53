"""Model loading without progress bars or load reports on stderr, unless the user asked for -v.

transformers, huggingface_hub and sentence-transformers print "Loading weights 199/199" bars and
"LOAD REPORT" tables while a model loads; a CLI user (and the server log) only needs the answer.
`rag.cli.main` calls `set_verbose(True)` for `-v`; the model loaders call `quiet_model_loading()`
just before they load.
"""

from __future__ import annotations

import logging
import os
import sys

_verbose = False

# The libraries' own loggers: their INFO/WARNING lines during loading are noise for a user.
_LOGGERS = ("transformers", "sentence_transformers", "huggingface_hub")


def set_verbose(verbose: bool) -> None:
    """Show (True) or hide (False, the default) the libraries' loading output."""
    global _verbose
    _verbose = bool(verbose)


def quiet_model_loading() -> None:
    """Turn off transformers' and huggingface_hub's progress bars and chatter (idempotent; no-op with -v)."""
    if _verbose:
        return
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Environment first: read when the libraries are imported, so nothing heavy is imported here
    # (the ONNX embedder never loads transformers at all).
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


# A vector-store engine's own error lines (milvus-lite logs a traceback when its data directory is
# locked; pymilvus logs each failed RPC) repeat what the NewsragError raised from them says.
_ENGINE_LOGGERS = ("pymilvus", "milvus_lite")


def quiet_engine_logs() -> None:
    """Keep the vector-store engine's logs off stderr unless -v (idempotent)."""
    if _verbose:
        return
    for name in _ENGINE_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
