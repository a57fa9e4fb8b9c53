"""The milvus vector store on the real engine (embedded milvus-lite; no mock): the store against a
brute-force oracle, builds with the real embedder, the same top results as FAISS, incremental
add / change / delete, and a build killed with SIGKILL while the previous generation serves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.errors import NewsragError
from rag.index.vectorstore import UNDATED, StoreConfig, VectorRecord, VectorStoreError, day_number

from conftest import CORPUS, ROOT

pytest.importorskip("pymilvus", reason="pip install -e . (pymilvus + milvus-lite are dependencies)")
pytest.importorskip("milvus_lite", reason="pip install -e . (pymilvus + milvus-lite are dependencies)")

QUERIES = ["未遂的政变", "维和部队什么时候撤离", "天然气价格上涨引发抗议", "逮捕了多少人"]


def _oracle_top(vectors, keep, query, k):
    """Brute force: rows passing `keep`, by inner product, best first."""
    rows = np.flatnonzero(keep)
    scores = vectors[rows] @ query
    return rows[np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture()
def synthetic(tmp_path):
    """120 random unit vectors with outlets and days (some undated), in a fresh milvus-lite store."""
    from rag.index.milvus import MilvusStore, disconnect

    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((120, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    outlets = np.array(["甲报", "乙台", 'quote"d'])[np.arange(120) % 3]
    days = np.where(np.arange(120) % 10 == 0, UNDATED, day_number("2022-01-01") + np.arange(120) % 20)
    recs = [VectorRecord(i, f"a{i // 4}:{i % 4}", f"a{i // 4}", str(outlets[i]), int(days[i])) for i in range(120)]
    store = MilvusStore.create(StoreConfig("milvus"), tmp_path / "idx", 16, len(recs))
    store.add(recs[:50], vecs[:50])
    store.add(recs[50:], vecs[50:])
    store.save(tmp_path)
    yield store, vecs, outlets, days, recs
    disconnect(store.uri)


def test_store_matches_brute_force_with_filters_pushed_down(synthetic):
    from rag.retrieve import Filters

    store, vecs, outlets, days, _ = synthetic
    assert len(store) == 120 and store.dim == 16
    since, until = day_number("2022-01-05"), day_number("2022-01-12")
    cases = [
        (None, np.ones(120, bool)),
        (Filters(("乙台",)), outlets == "乙台"),
        (Filters(('quote"d', "甲报"), "2022-01-05"), np.isin(outlets, ['quote"d', "甲报"]) & (days >= since)),
        (Filters(until="2022-01-12"), (days != UNDATED) & (days <= until)),
        (Filters(since="2022-01-05", until="2022-01-12"), (days >= since) & (days <= until)),
        (Filters(("nobody",)), np.zeros(120, bool)),
    ]
    for q in (0, 17, 99):
        for filters, keep in cases:
            scores, rows = store.search(vecs[q], 10, filters)
            assert list(rows) == list(_oracle_top(vecs, keep, vecs[q], 10)), filters
            np.testing.assert_allclose(scores, vecs[rows] @ vecs[q], atol=1e-5)
    rows = np.array([5, 0, 119, 64])
    np.testing.assert_allclose(store.scores_for(vecs[3], rows), vecs[rows] @ vecs[3], atol=1e-5)
    np.testing.assert_allclose(store.vectors_for(rows), vecs[rows], atol=1e-6)


def test_store_delete_and_replace_by_chunk_id(synthetic):
    store, vecs, _, _, recs = synthetic
    assert store.delete(["a0:1", "a3:0", "no-such-chunk"]) == 2
    assert len(store) == 118
    _, rows = store.search(vecs[1], 5)
    assert 1 not in rows and 12 not in rows
    # replacing chunk a5:2 (row 22) with another vector: the old one is gone, the new one found
    new = -vecs[22]
    store.add([VectorRecord(22, "a5:2", "a5", "甲报", day_number("2022-02-01"))], new[None, :])
    assert len(store) == 118
    scores, rows = store.search(new, 1)
    assert rows[0] == 22 and scores[0] == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(store.vectors_for([22])[0], new, atol=1e-6)


def test_faiss_store_gives_the_same_results(synthetic):
    """The two stores behind one Protocol: identical rows for the same queries and filters."""
    from rag.index.dense import DenseIndex
    from rag.retrieve import Filters

    store, vecs, _, _, recs = synthetic
    faiss_store = DenseIndex.build(vecs, "flat", recs)
    for filters in (None, Filters(("乙台",), "2022-01-03"), Filters(until="2022-01-08")):
        for q in range(0, 120, 13):
            assert list(store.search(vecs[q], 10, filters)[1]) == list(faiss_store.search(vecs[q], 10, filters)[1])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The five seed articles indexed twice with the real offline embedder: FAISS and milvus-lite."""
    from rag.index.build import build_index
    from rag.index.milvus import disconnect

    base = tmp_path_factory.mktemp("milvus")
    corpus = base / "corpus"
    shutil.copytree(CORPUS / "seeds", corpus)
    build_index(corpus, base / "faiss", None)
    rep = build_index(corpus, base / "milvus", None, store=StoreConfig("milvus"))
    yield base, corpus, rep
    disconnect(str(base / "milvus" / "milvus.db"))


def test_milvus_index_answers_like_faiss(built):
    from rag.embed import load_embedder
    from rag.index.store import load_index
    from rag.retrieve import Filters, Retriever

    base, _, rep = built
    assert rep.manifest.dense.store == "milvus" and rep.manifest.dense.uri == "milvus.db"  # relative: the folder can move
    fa, mi = load_index(base / "faiss"), load_index(base / "milvus")
    assert type(mi.dense).__name__ == "MilvusStore" and len(mi.dense) == len(mi.chunks) == len(fa.chunks)
    embedder = load_embedder(rep.manifest.embedder.load_spec)
    r_fa, r_mi = Retriever(fa, embedder), Retriever(mi, embedder)
    outlet = mi.articles[mi.chunks[0].article_id].outlet
    for filters in (Filters(), Filters((outlet,)), Filters(since="2022-01-09")):
        for q in QUERIES:
            a = [(h.chunk.chunk_id, round(h.score, 4)) for h in r_fa.search(q, 5, filters)]
            b = [(h.chunk.chunk_id, round(h.score, 4)) for h in r_mi.search(q, 5, filters)]
            assert a == b, (q, filters)
            if filters.outlets:
                assert {h.article.outlet for h in r_mi.search(q, 5, filters)} <= {outlet}


def test_cli_search_uses_the_store_the_manifest_names(built):
    """`search` in a fresh process finds the milvus index from its manifest alone (ask, lookup and
    serve open the index the same way, through load_index)."""
    from rag.index.milvus import disconnect

    base, _, _ = built
    disconnect(str(base / "milvus" / "milvus.db"))  # milvus-lite: one process at a time
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSRAG_NO_SERVER": "1"}
    out = subprocess.run([sys.executable, "-m", "rag", "search", "未遂的政变", "--index", str(base / "milvus"), "-k", "2", "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"hits"' in out.stdout and "观察者网" in out.stdout


def test_incremental_add_change_delete(built, tmp_path):
    from rag.index.build import build_index
    from rag.index.milvus import connect, disconnect, prefix_for
    from rag.index.store import load_index
    from rag.retrieve import Retriever
    from rag.embed import load_embedder

    base, corpus0, _ = built
    corpus, idx = tmp_path / "corpus", tmp_path / "idx"
    shutil.copytree(corpus0, corpus)
    first = build_index(corpus, idx, None, store=StoreConfig("milvus"))
    again = build_index(corpus, idx, None)  # no --store: keeps the index's own, nothing to do
    assert (again.added, again.changed, again.deleted, again.embedded) == ((), (), (), 0)

    (corpus / "new.md").write_text("---\ntitle: 测试新文章\n---\n\n这是一篇新加入语料库的测试文章。内容关于某城市冬季的暴风雪天气。\n", encoding="utf-8")
    p003 = next(corpus.glob("003_*"))
    p003.write_text(p003.read_text(encoding="utf-8").replace("未遂的政变", "未遂的叛乱"), encoding="utf-8")
    gone = next(corpus.glob("001_*"))
    gone.unlink()
    upd = build_index(corpus, idx, None)
    assert upd.added == ("new.md",) and upd.changed == (p003.name,) and upd.deleted == (gone.name,)
    assert upd.manifest.dense.store == "milvus" and upd.manifest.dense.collection != first.manifest.dense.collection
    assert upd.embedded <= 3  # at most the new and the changed chunks (the embedding cache may hold them already)

    loaded = load_index(idx)
    assert len(loaded.dense) == len(loaded.chunks)
    r = Retriever(loaded, load_embedder(upd.manifest.embedder.load_spec))
    assert r.search("暴风雪天气", k=1)[0].article.source_path == "new.md"
    assert all(h.article.source_path != gone.name for h in r.search("政变", k=50))
    changed = next(a for a in loaded.articles.values() if a.source_path == p003.name)
    assert "未遂的叛乱" in changed.text
    # the live and the previous generation's collections remain; the alias names the live one
    client = connect(str(idx / "milvus.db"))
    mine = [c for c in client.list_collections() if c.startswith(prefix_for(idx))]
    assert sorted(mine) == sorted([first.manifest.dense.collection, upd.manifest.dense.collection])
    assert client.describe_alias(prefix_for(idx))["collection_name"] == upd.manifest.dense.collection
    # a build killed after its generation went live but before `publish`: alias behind, an orphan
    # collection left; the next run, with nothing else to do, finishes the job
    from rag.index.milvus import MilvusStore

    orphan = MilvusStore.create(StoreConfig("milvus"), idx, 4, 1).collection
    client.alter_alias(first.manifest.dense.collection, prefix_for(idx))
    same = build_index(corpus, idx, None)
    assert same.manifest.dense.collection == upd.manifest.dense.collection and same.embedded == 0
    assert client.describe_alias(prefix_for(idx))["collection_name"] == upd.manifest.dense.collection
    mine = [c for c in client.list_collections() if c.startswith(prefix_for(idx))]
    assert orphan not in mine and upd.manifest.dense.collection in mine
    disconnect(str(idx / "milvus.db"))


def test_killed_build_leaves_the_previous_collection_serving(built, tmp_path):
    """SIGKILL a build while it fills its new collection; the previous generation still answers."""
    from rag.index.build import build_index
    from rag.index.milvus import disconnect
    from rag.index.store import load_index

    base, corpus0, _ = built
    corpus, idx = tmp_path / "corpus", tmp_path / "idx"
    shutil.copytree(corpus0, corpus)
    build_index(corpus, idx, None, store=StoreConfig("milvus"))
    db = idx / "milvus.db"
    disconnect(str(db))
    n_before = len(load_index(idx).chunks)
    disconnect(str(db))
    shutil.copytree(CORPUS / "kazakhstan-2022", corpus / "kazakhstan-2022")  # vectors come from the embedding cache
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "rag", "index", str(corpus), "--index", str(idx)]
    killed_mid_build = 0
    for delay in (0.0, 0.5, 2.0):
        collections = db / "collections"
        before = set(os.listdir(collections))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not set(os.listdir(collections)) - before:
            time.sleep(0.05)  # the new generation's collection exists: the build is filling it
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = load_index(idx)
        n = len(loaded.chunks)
        assert n == len(loaded.dense)
        from rag.retrieve import Retriever

        assert Retriever(loaded).search("未遂的政变", k=1)  # it answers
        scores, rows = loaded.dense.search(loaded.dense.vectors_for([0])[0], 3)
        assert rows[0] == 0 and scores[0] == pytest.approx(1.0, abs=1e-4)
        disconnect(str(db))
        if n != n_before:
            break
        killed_mid_build += 1
    assert killed_mid_build >= 1, "no kill landed before the new generation went live; the test proved nothing"
    # the next build finishes and drops what the killed ones left behind
    rep = build_index(corpus, idx, None)
    assert rep.manifest.counts.chunks > n_before
    from rag.index.milvus import connect, prefix_for

    mine = [c for c in connect(str(db)).list_collections() if c.startswith(prefix_for(idx))]
    assert len(mine) <= 2 and rep.manifest.dense.collection in mine
    disconnect(str(db))


def test_errors_say_how_to_fix(tmp_path):
    from rag.index.milvus import MilvusStore, disconnect
    from rag.index.manifest import DenseInfo
    from rag.index.vectorstore import store_class

    with pytest.raises(NewsragError, match="use one of: faiss, milvus"):
        store_class("nope")
    with pytest.raises(VectorStoreError, match="must end in .db"):
        MilvusStore.create(StoreConfig("milvus", str(tmp_path / "data")), tmp_path, 4, 1)
    info = DenseInfo("flat", 3, "milvus", "m.db", "newsrag_gone", "newsrag_x")
    with pytest.raises(VectorStoreError, match="missing .* rebuild it: newsrag index"):
        MilvusStore.open(tmp_path, info, tmp_path)
    disconnect(str(tmp_path / "m.db"))
    # another process holds the milvus-lite data: the message names the way out
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; MilvusClient(sys.argv[1]); print('ok', flush=True); time.sleep(60)",
                               str(tmp_path / "m.db")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(VectorStoreError, match="open in another process .*newsrag serve"):
            MilvusStore.open(tmp_path, info, tmp_path)
    finally:
        holder.kill()
        holder.wait()


def test_importing_rag_does_not_import_pymilvus():
    code = ("import sys, rag, rag.retrieve, rag.lookup, rag.index.store, rag.index.build, rag.index.milvus, rag.index.vectorstore, rag.cli.main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymilvus', 'milvus_lite', 'faiss')))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_store_choices_match_the_registry():
    from rag.cli.index import STORE_CHOICES
    from rag.index.vectorstore import STORES

    assert STORE_CHOICES == STORES
