"""Run the real web app (`newsrag serve`) in a subprocess on a free 127.0.0.1 port, for UI tests.

Example:
    with UIServer(corpus_dir, index_dir) as server:
        Client(server.url).predict("问题", api_name="/ask")
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Literal hostile markup inside the clean text of an article: the HTML file escapes it, so the
# ingest cleaner turns the entities into the characters `<script>…` that the UI must show as text.
HOSTILE_HTML = """<html><head><title>斑马线测试事件 &lt;img src=x onerror="window.__pwned=1"&gt;</title></head><body>
<p>斑马线测试事件：阿拉木图市政府宣布，斑马线测试事件中共有42名志愿者参加。记者看到 &lt;script&gt;window.__pwned=1&lt;/script&gt; 这样的字样。</p>
<script>window.__pwned=1</script>
<p>报道还说，斑马线测试事件的组织者表示 &lt;img src=x onerror="window.__pwned=1"&gt; 活动将在下周继续。</p>
</body></html>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_corpus(dst: Path, hostile: bool = True) -> Path:
    """A private copy of the bundled corpus, plus the hostile article."""
    shutil.copytree(ROOT / "corpus", dst)
    if hostile:
        (dst / "hostile").mkdir()
        (dst / "hostile" / "zebra.html").write_text(HOSTILE_HTML, encoding="utf-8")
    return dst


class UIServer:
    """`python -m rag serve` over `corpus_dir`; lexical-only unless background_embed."""

    def __init__(self, corpus_dir: Path, index_dir: Path, background_embed: bool = False, timeout: float = 180.0) -> None:
        self.corpus_dir, self.index_dir = Path(corpus_dir), Path(index_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.background_embed = background_embed
        self.timeout = timeout
        self.log_path = self.index_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.ready_seconds: float | None = None

    def __enter__(self) -> "UIServer":
        cmd = [sys.executable, "-m", "rag", "serve", "--corpus", str(self.corpus_dir), "--index", str(self.index_dir), "--port", str(self.port)]
        if not self.background_embed:
            cmd.append("--no-background-embed")
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        env.pop("NEWSRAG_AUTH", None)
        self._log = open(self.log_path, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        while time.monotonic() - t0 < self.timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"newsrag serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2) as r:
                    if r.status == 200:
                        self.ready_seconds = time.monotonic() - t0
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"newsrag serve not up after {self.timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
