"""Every command in README.md runs, as written, against a real index (so README cannot rot).

`$ newsrag …` lines of ```console blocks run verbatim in a folder holding `corpus` and `index`;
```bash blocks run with $HOME pointing at a temporary home; the quick-start `chat` command and the
gradio_client snippet run against a real server on a free port. The quick-start `test` command is
what .ci/run runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _console_commands() -> list[str]:
    return [ln[2:].strip() for b in _blocks("console") for ln in b.splitlines() if ln.startswith("$ ")]


def _bash_commands() -> list[str]:
    out = []
    for b in _blocks("bash"):
        for ln in b.splitlines():
            ln = ln.split("  #")[0].strip()
            if ln and not ln.startswith("#"):
                out.append(ln)
    return out


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.setdefault("NEWSRAG_CACHE", str(Path.home() / ".cache" / "newsrag"))  # reuse the converted model
    for k in list(env):
        if k.startswith("NEWSRAG_LLM_"):
            del env[k]
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, hybrid_index) -> Path:
    d = tmp_path_factory.mktemp("readme")
    (d / "corpus").symlink_to(CORPUS)
    (d / "tests" / "data").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "devset.jsonl", d / "tests" / "data" / "devset.jsonl")
    shutil.copytree(hybrid_index, d / "index")
    return d


def test_readme_has_the_two_quickstart_commands():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    cmds = [c.split("#")[0].strip() for c in _blocks("bash")[0].splitlines() if c.strip()]
    assert cmds == ["bash scripts/quickstart.sh chat", "bash scripts/quickstart.sh test"] and "```bash" in quick
    assert "bash scripts/quickstart.sh test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("cmd", _console_commands())
def test_console_command_runs(cmd, workdir):
    proc = subprocess.run(shlex.split(cmd), cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd!r} failed:\n{proc.stderr[-2000:]}"
    assert proc.stdout.strip()
    if "--json" in cmd and cmd.startswith("newsrag ask"):
        out = json.loads(proc.stdout)
        index = __import__("rag.index.store", fromlist=["load_index"]).load_index(workdir / "index")
        for c in out["citations"]:
            assert index.article(c["article_id"]).text[c["start"] : c["end"]] == c["quote"]


def test_own_articles_commands(tmp_path):
    home = tmp_path
    shutil.copytree(CORPUS / "seeds", home / "my-articles")
    cmds = [c for c in _bash_commands() if "my-articles" in c or "my-index" in c]
    assert len(cmds) == 3
    env = _env(home)
    for cmd in cmds:
        argv = [os.path.expanduser(a).replace(str(Path.home()), str(home)) if a.startswith("~") else a for a in shlex.split(cmd.replace("~/", f"{home}/"))]
        argv = [a.replace("问题", "集安组织派了多少兵？") for a in argv]
        if argv[1] == "serve":
            port = _free_port()
            proc = subprocess.Popen(argv + ["--port", str(port), "--no-background-embed"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                _wait_http(f"http://127.0.0.1:{port}/", proc)
            finally:
                proc.terminate()
                proc.wait(30)
            continue
        if argv[1] == "index":
            argv += ["--embedder", "none"]  # the README's model is covered elsewhere; keep this one fast
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{cmd!r} failed:\n{proc.stderr[-2000:]}"
        assert proc.stdout.strip()


def test_hub_model_command_fails_clearly_offline(tmp_path):
    """No hub here: the README's stronger-model command must fail with one clear line, not a traceback."""
    cmd = next(c for c in _bash_commands() if "--embedder BAAI/" in c)
    (tmp_path / "corpus").symlink_to(CORPUS / "seeds")
    proc = subprocess.run(shlex.split(cmd), cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert proc.stderr.startswith("newsrag: ") and "Traceback" not in proc.stderr
    assert "BAAI/bge-small-zh-v1.5" in proc.stderr


def test_llm_commands_against_an_openai_compatible_server(workdir):
    from llm_server import FakeLLMServer, Reply

    cmds = [c for c in _bash_commands() if c.startswith("export NEWSRAG_LLM") or "--mode llm" in c]
    assert len(cmds) == 4
    reply = "据半岛电视台报道，哈萨克斯坦当局已经逮捕了近 8000 人[1]。"
    with FakeLLMServer() as server:
        server.script(Reply(text=reply))
        env = _env(workdir)
        for c in cmds[:-1]:
            name, value = c.removeprefix("export ").split("=", 1)
            env[name] = value.split()[0]
        env["NEWSRAG_LLM_BASE_URL"] = server.base_url
        proc = subprocess.run(shlex.split(cmds[-1]) + ["--json"], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["mode"] == "llm" and out["citations"] and "8000" in out["answer"]


def test_quickstart_chat_and_gradio_client_snippet(tmp_path):
    port = _free_port()
    cmd = shlex.split(_bash_commands()[0]) + ["--port", str(port), "--index", str(tmp_path / "index"), "--no-background-embed"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(Path.home()), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_http(f"http://127.0.0.1:{port}/", proc)
        snippet = _blocks("python")[0].replace("http://127.0.0.1:7860/", f"http://127.0.0.1:{port}/")
        out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "8000" in out.stdout or "8 000" in out.stdout
    finally:
        proc.terminate()
        proc.wait(30)
