"""Upload validation and the serve-first index manager, without a browser (lexical index, seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.ui import upload
from rag.ui.background import IndexManager

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = "# 独角兽实验室开放日\n\n独角兽实验室开放日于2022年1月20日在阿斯塔纳举行，共有300名市民参观。\n"


@pytest.mark.parametrize("name", ["a.md", "b.TXT", "c.html", "d.htm", "README", "新闻稿"])
def test_allowed_names(name):
    assert upload.check_name(name) is None


@pytest.mark.parametrize("name", ["a.exe", "b.pdf", "c.tar.gz", "d.docx"])
def test_refused_names_say_what_is_accepted(name):
    assert ".md" in upload.check_name(name)


def test_bytes_checks_size_binary_empty_and_legacy_encodings():
    assert upload.check_bytes(ARTICLE.encode("utf-8")) is None
    assert upload.check_bytes(ARTICLE.encode("gbk")) is None
    assert upload.check_bytes("臺灣新聞報導內容".encode("big5") * 10) is None
    assert "binary" in upload.check_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "empty" in upload.check_bytes(b"  \n ")
    assert "too large" in upload.check_bytes(b"a" * (upload.MAX_UPLOAD_BYTES + 1))


@pytest.mark.parametrize("raw, safe", [("../../etc/passwd", "passwd"), (".hidden.md", "hidden.md"), ("a<b>.MD", "a_b_.md"), ("..", "upload"), ("C:\\x\\新闻.txt", "新闻.txt")])
def test_safe_name_stays_inside_the_uploads_folder(raw, safe):
    assert upload.safe_name(raw) == safe


def test_save_upload_keeps_good_files_and_reports_bad_ones(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.md").write_text(ARTICLE, encoding="utf-8")
    (src / "script-only.html").write_text("<html><body><script>x()</script></body></html>", encoding="utf-8")
    ok = upload.save_upload(corpus, "good.md", src / "good.md")
    assert ok.ok and ok.saved_as == "uploads/good.md" and ok.title
    again = upload.save_upload(corpus, "good.md", src / "good.md")
    assert again.ok and "already" in again.reason and again.saved_as == "uploads/good.md"
    bad = upload.save_upload(corpus, "script-only.html", src / "script-only.html")
    assert not bad.ok and "not an article" in bad.reason
    assert sorted(p.name for p in (corpus / "uploads").iterdir()) == ["good.md"]  # the refused file is not left behind


def test_manager_serves_lexically_then_reindexes_uploads(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus" / "seeds", corpus)
    mgr = IndexManager(corpus, tmp_path / "index", background_embed=False)
    mgr.start(wait=True)
    before = mgr.summary()
    assert before["mode"] == "lexical" and before["articles"] == 5 and before["state"] == "ready"
    assert mgr.first_usable_seconds is not None
    src = tmp_path / "new.md"
    src.write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    seen = []
    rep = upload.add_uploads(mgr, [("new.md", src), ("bin.txt", tmp_path / "bin.txt")], lambda st, d, t: seen.append(st))
    assert rep.articles_after == rep.articles_before + 1
    assert [r.name for r in rep.rejected] == ["bin.txt"]
    assert "reading" in seen and mgr.summary()["articles"] == 6
    hits = mgr.service.search("独角兽实验室开放日", k=1)
    assert hits and hits[0].article.source_path == "uploads/new.md"


def test_manager_rebuilds_a_broken_index(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus" / "seeds", corpus)
    index = tmp_path / "index"
    index.mkdir()
    (index / "CURRENT").write_text("gen-missing\n", encoding="utf-8")
    mgr = IndexManager(corpus, index, background_embed=False)
    mgr.start(wait=True)
    assert mgr.summary()["articles"] == 5


@pytest.mark.slow
def test_manager_serves_lexically_while_embedding_then_switches_to_hybrid(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus" / "seeds", corpus)
    mgr = IndexManager(corpus, tmp_path / "index")  # default embedder, in the background
    mgr.start()
    assert mgr.service.mode == "lexical"  # usable before any vector exists
    assert mgr.service.search("哈萨克斯坦", k=1)
    mgr.join(timeout=900)
    s = mgr.summary()
    assert s["state"] == "ready", s
    assert s["mode"] == "hybrid" and s["embedder"] != "none (lexical only)"
    assert mgr.hybrid_ready_seconds >= mgr.first_usable_seconds


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False)])
def test_serve_knows_loopback_hosts(host, loop):
    from rag.cli.serve import is_loopback

    assert is_loopback(host) is loop


def test_serve_login_from_environment():
    from rag.cli.serve import auth_from_env
    from rag.errors import NewsragError

    assert auth_from_env({}) is None
    assert auth_from_env({"NEWSRAG_AUTH": "ana:s3cret:x"}) == ("ana", "s3cret:x")
    with pytest.raises(NewsragError, match="user:password"):
        auth_from_env({"NEWSRAG_AUTH": "nopassword"})


def test_serve_warns_when_exposed_without_login(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("NEWSRAG_AUTH", raising=False)
    monkeypatch.setattr("rag.ui.background.IndexManager.start", lambda self, wait=False: (_ for _ in ()).throw(SystemExit(0)))
    corpus = tmp_path / "c"
    corpus.mkdir()
    from rag.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--host", "0.0.0.0"])
    assert "without a login" in capsys.readouterr().err
