"""Run the real web app (`newsrag serve`) in a subprocess on a free 127.0.0.1 port, for UI tests.

Example:
    with UIServer(corpus_dir, index_dir) as server:
        Client(server.url).predict("问题", api_name="/ask")
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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


# -- conversations over the API (tests/test_ui_load.py, benchmarks/bench_ui_load.py) ------------

# Each is one user's conversation: a question, then follow-ups that only make sense with the
# earlier questions (sent as `history`, as the chat does). The last of set 9 is unanswerable.
CONVERSATIONS = [
    ("集安组织派了多少兵？", "他们会待多久？", "来自哪些国家？"),
    ("哈萨克斯坦抗议中有多少人被捕？", "死亡人数呢？", "各媒体的说法一致吗？"),
    ("托卡耶夫说了什么？", "他怎么定性这次事件？", "普京怎么说？"),
    ("阿拉木图发生了什么？", "互联网被切断了吗？", "什么时候恢复的？"),
    ("哈萨克斯坦的油价上涨了多少？", "为什么上涨？", "政府怎么回应？"),
    ("纳扎尔巴耶夫怎么了？", "他还担任什么职务？", "卡林被捕的原因是什么？"),
    ("What happened in Almaty?", "How many people were arrested?", "Who is Tokayev?"),
    ("中国对哈萨克斯坦局势怎么表态？", "习近平说了什么？", "哈萨克斯坦对中国有多重要？"),
    ("哈萨克斯坦政府为什么辞职？", "谁接任总理？", "如何烤制法式长棍面包？"),
    ("液化石油气价格是多少？", "抗议从哪里开始？", "俄罗斯军队什么时候撤离哈萨克斯坦？"),
]
ANSWER_FIELDS = {"question", "answer", "refused", "mode", "citations"}
CITATION_FIELDS = {"n", "article_id", "outlet", "title", "published", "url", "source_path", "quote", "start", "end"}


def answer_problems(res, question: str, articles=None) -> list[str]:
    """What is wrong with one /ask result (empty when it is a valid `newsrag ask --json` answer).

    With `articles` (article_id -> Article), every quote is checked against the article text.
    """
    if not isinstance(res, dict) or not ANSWER_FIELDS <= set(res):
        return [f"not an answer object: {str(res)[:200]}"]
    out = []
    if res["question"] != question:
        out.append(f"answer to {res['question']!r}, asked {question!r}")
    if res["refused"] and res["citations"]:
        out.append("a refusal with citations")
    if not res["refused"] and not res["citations"]:
        out.append("an answer without citations")
    for c in res["citations"]:
        if not CITATION_FIELDS <= set(c):
            out.append(f"citation fields {sorted(c)}")
            continue
        if f"[{c['n']}]" not in res["answer"]:
            out.append(f"[{c['n']}] cited but not in the text")
        art = (articles or {}).get(c["article_id"])
        if articles is not None and (art is None or art.text[c["start"] : c["end"]] != c["quote"]):
            out.append(f"[{c['n']}] quote is not article {c['article_id']}[{c['start']}:{c['end']}]")
    return out


@dataclass
class LoadResult:
    """What `run_conversations` measured: per-request latencies, errors, invalid answers, wall time."""

    conversations: int
    turns: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    refused: int = 0
    wall: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))] if xs else float("nan")


def run_conversations(url: str, n: int, turns: int = 3, articles=None, k: int = 8, timeout: float = 300.0) -> LoadResult:
    """`n` gradio_client conversations at once, each `turns` questions through /ask with history.

    Every client connects first; then all start asking together (a barrier), so `n` requests
    really are in flight at the same time.
    """
    from gradio_client import Client

    result = LoadResult(n, turns)
    lock = threading.Lock()
    clients: list = [None] * n
    errors_at_connect: list[str] = []

    def connect(i: int) -> None:
        try:
            clients[i] = Client(url, verbose=False)
        except Exception as exc:  # noqa: BLE001 - counted, reported
            with lock:
                errors_at_connect.append(f"conversation {i}: connect: {exc!r}")

    with ThreadPoolExecutor(min(n, 16)) as pool:
        list(pool.map(connect, range(n)))
    result.errors += errors_at_connect
    ready = [i for i in range(n) if clients[i] is not None]
    barrier = threading.Barrier(len(ready))

    def converse(i: int) -> None:
        script = CONVERSATIONS[i % len(CONVERSATIONS)][:turns]
        history: list[str] = []
        barrier.wait()
        for q in script:
            t0 = time.perf_counter()
            try:
                job = clients[i].submit(q, [], None, None, k, "extractive", history, api_name="/ask")
                res = job.result(timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - one failure must not hide the others
                with lock:
                    result.errors.append(f"conversation {i}, {q!r}: {exc!r}"[:300])
                return
            took = time.perf_counter() - t0
            problems = answer_problems(res, q, articles)
            with lock:
                result.latencies.append(took)
                result.refused += bool(res.get("refused"))
                result.invalid += [f"conversation {i}, {q!r}: {p}" for p in problems]
            history.append(q)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=converse, args=(i,), daemon=True) for i in ready]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - t0
    for c in clients:
        if c is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                c.close()
    return result
