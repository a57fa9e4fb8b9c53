"""The app's API from gradio_client: JSON answers like `newsrag ask --json`, 20 concurrent sessions, and
50 concurrent three-turn conversations (timings: benchmarks/bench_ui_load.py)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.ui_server import (
    CONVERSATIONS,
    UIServer,
    answer_problems,
    make_corpus,
    run_conversations,
)

pytestmark = pytest.mark.slow

QUESTIONS = [
    "哈萨克斯坦抗议中有多少人被捕？", "集安组织派了多少兵？", "托卡耶夫说了什么？", "阿拉木图发生了什么？",
    "哈萨克斯坦的油价上涨了多少？", "俄罗斯军队什么时候撤离哈萨克斯坦？", "谁是哈萨克斯坦总统？", "纳扎尔巴耶夫怎么了？",
    "抗议活动中有多少人死亡？", "集安组织的维和部队来自哪些国家？", "哈萨克斯坦政府为什么辞职？", "中国对哈萨克斯坦局势怎么表态？",
    "哈萨克斯坦的互联网被切断了吗？", "What happened in Almaty?", "How many people were arrested in Kazakhstan?", "Who is Tokayev?",
    "卡林被捕的原因是什么？", "哈萨克斯坦对中国有多重要？", "液化石油气价格是多少？", "各媒体如何报道哈萨克斯坦骚乱？",
]
ANSWER_FIELDS = {"question", "answer", "refused", "mode", "citations"}
CITATION_FIELDS = {"n", "article_id", "outlet", "title", "published", "url", "source_path", "quote", "start", "end"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-load")
    with UIServer(make_corpus(tmp / "corpus", hostile=False), tmp / "index") as srv:
        yield srv


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def check_answer(res: dict, question: str) -> None:
    assert ANSWER_FIELDS <= set(res), res.keys()
    assert res["question"] == question
    for c in res["citations"]:
        assert CITATION_FIELDS <= set(c), c.keys()
        assert f"[{c['n']}]" in res["answer"]
    if res["refused"]:
        assert not res["citations"]


def test_api_ask_returns_the_cli_json(server):
    c = client(server.url)
    res = c.predict("哈萨克斯坦抗议中有多少人被捕？", [], None, None, 5, "extractive", api_name="/ask")
    check_answer(res, "哈萨克斯坦抗议中有多少人被捕？")
    assert not res["refused"] and res["citations"] and res["mode"] == "extractive"
    only = c.predict("托卡耶夫说了什么？", ["观察者网"], None, None, 5, "extractive", api_name="/ask")
    assert {x["outlet"] for x in only["citations"]} <= {"观察者网"}
    status = c.predict(api_name="/status")
    assert status["articles"] > 200 and status["mode"] == "lexical"


def test_api_rejects_bad_input_with_a_clear_message(server):
    from gradio_client.exceptions import AppError

    c = client(server.url)
    with pytest.raises(AppError, match="type a question"):
        c.predict("   ", [], None, None, 5, "extractive", api_name="/ask")
    with pytest.raises(AppError, match="characters long"):
        c.predict("哈" * 5000, [], None, None, 5, "extractive", api_name="/ask")
    with pytest.raises(AppError, match="YYYY-MM-DD"):
        c.predict("托卡耶夫说了什么？", [], "last week", None, 5, "extractive", api_name="/ask")
    res = c.predict("托卡耶夫说了什么？", [], None, None, 5, "extractive", api_name="/ask")  # still fine afterwards
    check_answer(res, "托卡耶夫说了什么？")


def test_api_lookup(server):
    pytest.importorskip("rag.lookup", reason="rag.lookup (citation lookup) has not landed yet")
    res = client(server.url).predict("哈萨克斯坦当局表示，已有 10000 人因抗议活动被捕", 5, api_name="/lookup")
    assert res["matches"] and res["matches"][0]["match"] in ("exact", "fuzzy", "semantic")
    assert {"article_id", "outlet", "passage", "start", "end", "match", "score"} <= set(res["matches"][0])


def test_twenty_concurrent_sessions(server):
    def session(i: int) -> list[float]:
        c = client(server.url)
        times = []
        for q in (QUESTIONS[i], QUESTIONS[(i + 7) % len(QUESTIONS)]):
            t0 = time.perf_counter()
            res = c.predict(q, [], None, None, 8, "extractive", api_name="/ask")
            times.append(time.perf_counter() - t0)
            check_answer(res, q)
        return times

    t0 = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(session, i) for i in range(20)]
        errors, latencies = [], []
        for f in futures:
            try:
                latencies += f.result()
            except Exception as exc:  # collected, so one failure does not hide the others
                errors.append(repr(exc))
    wall = time.perf_counter() - t0
    assert not errors, errors
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"\n20 sessions x 2 questions: {len(latencies)} requests, 0 errors, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, wall {wall:.1f} s")
    assert p95 < 60, "p95 above a minute: the server is stuck, not just slow"


def test_api_follow_up_uses_the_history(server):
    c = client(server.url)
    first, follow = CONVERSATIONS[0][0], CONVERSATIONS[0][1]  # 集安组织派了多少兵？ -> 他们会待多久？
    alone = c.predict(follow, [], None, None, 8, "extractive", api_name="/ask")  # the old positional call still works
    assert not answer_problems(alone, follow)
    res = c.predict(follow, [], None, None, 8, "extractive", [first], api_name="/ask")
    assert not answer_problems(res, follow) and not res["refused"], res
    cited = " ".join(x["quote"] + x["title"] for x in res["citations"])
    assert "集安" in cited or "维和" in cited, f"the follow-up was not read in the context of {first!r}: {cited[:300]}"
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="history"):
        c.predict(follow, [], None, None, 8, "extractive", [1, 2], api_name="/ask")


def test_fifty_concurrent_conversations(server):
    from rag.index.store import load_index

    articles = load_index(server.index_dir, verify=False).articles
    res = run_conversations(server.url, 50, turns=3, articles=articles)
    print(f"\n50 conversations x 3 turns: {res.requests} requests, {len(res.errors)} errors, {len(res.invalid)} invalid, "
          f"{res.refused} refused, p50 {res.percentile(50):.1f} s, p95 {res.percentile(95):.1f} s, wall {res.wall:.1f} s")
    assert not res.errors, res.errors[:10]
    assert not res.invalid, res.invalid[:10]
    assert res.requests == 150
    assert res.refused < 150 // 3, "most questions of these conversations are answerable"
