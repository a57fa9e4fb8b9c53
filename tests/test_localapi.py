"""The loopback endpoint of `newsrag serve`: CLI commands answered by the running server's warm service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from rag import localapi
from rag.service import Newsrag
from rag.types import Answer

from conftest import ROOT


@pytest.fixture(scope="module")
def api(lexical_index):
    service = Newsrag.open(lexical_index)
    handle = localapi.start(lambda: service, lexical_index)
    yield service, handle
    handle.close()


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def test_serve_file_is_private_and_names_a_live_server(api, lexical_index):
    _, handle = api
    info = json.loads((lexical_index / localapi.SERVE_FILE).read_text("utf-8"))
    assert info["url"] == handle.url and info["pid"] == os.getpid()
    assert oct((lexical_index / localapi.SERVE_FILE).stat().st_mode & 0o777) == "0o600"
    assert localapi.client_for(lexical_index) is not None


def test_remote_answer_equals_the_local_one(api, lexical_index):
    service, _ = api
    client = localapi.client_for(lexical_index)
    q = "集安组织派了多少兵？"
    remote = Answer.from_json(client.call("/ask", {"question": q, "mode": "rules"}))
    local = service.ask(q, mode="rules")
    assert remote == Answer.from_json(local.to_json())
    hits = client.call("/search", {"query": q, "k": 3})["hits"]
    assert [h["chunk_id"] for h in hits] == [h.chunk.chunk_id for h in service.search(q, 3)]


def test_bad_requests_get_a_clear_error(api, lexical_index):
    client = localapi.client_for(lexical_index)
    with pytest.raises(localapi.RemoteError, match="no words"):
        client.call("/ask", {"question": "？？？"})
    with pytest.raises(localapi.RemoteError, match="YYYY-MM-DD"):
        client.call("/ask", {"question": "谁说的？", "since": "2022-13-01"})
    with pytest.raises(localapi.RemoteError, match="token"):
        localapi.LocalClient(client.url, "0" * 32).call("/ask", {"question": "谁说的？"})


def test_cli_uses_the_running_server_and_falls_back_without_it(api, lexical_index):
    q = "集安组织派了多少兵？"
    t0 = time.perf_counter()
    through = _cli("ask", q, "--index", str(lexical_index), "--json", "--mode", "rules")
    remote_s = time.perf_counter() - t0
    assert through.returncode == 0, through.stderr
    local = _cli("ask", q, "--index", str(lexical_index), "--json", "--mode", "rules", env={"NEWSRAG_NO_SERVER": "1"})
    assert local.returncode == 0, local.stderr
    assert json.loads(through.stdout) == json.loads(local.stdout)
    assert "torch" not in through.stderr
    print(f"\nCLI ask through the server: {remote_s:.2f} s")


def test_a_dead_server_is_ignored(tmp_path):
    (tmp_path / localapi.SERVE_FILE).write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 2**22 + 7, "token": "x"}), "utf-8")
    assert localapi.client_for(tmp_path) is None
    (tmp_path / localapi.SERVE_FILE).write_text("not json", "utf-8")
    assert localapi.client_for(tmp_path) is None


def test_health_answers_without_a_token(api):
    _, handle = api
    with urllib.request.urlopen(handle.url + "/health", timeout=5) as resp:
        assert json.loads(resp.read())["ready"] is True
