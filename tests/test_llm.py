"""The optional LLM answerer against a real HTTP server speaking the OpenAI chat-completions protocol.

The server (tests/llm_server.py) is a stand-in for the remote model; newsrag's own HTTP client,
SSE parser, prompt and verifier are what is tested. Passages are real chunks of the seed corpus.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from llm_server import FakeLLMServer, Reply
from rag.answer.llm import LLMConfig, answer_llm, parse_sse, stream_llm
from rag.answer.prompt import build_messages
from rag.answer.verify import numbers, verify_reply
from rag.errors import NewsragError
from rag.types import Answer, Hit

ROOT = Path(__file__).resolve().parents[1]
GUANCHA, ALJAZEERA = "89d7a11f261d7a20", "c6ef1ce198f0233c"  # seeds 003 and 004

FALLBACK = Answer(question="q", text="据半岛电视台报道，摘录式回答[1]。", refused=False, mode="extractive")

CORRECT = "据观察者网报道，托卡耶夫称这是一场未遂的政变[1]。半岛电视台报道，当局已经逮捕了近8000人[2]。集安组织出动了2030名士兵和250件军事装备[3]。"


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory):
    from rag.index.build import build_index
    from rag.index.store import load_index

    out = tmp_path_factory.mktemp("llm") / "idx"
    build_index(ROOT / "corpus" / "seeds", out, "none")
    return load_index(out)


@pytest.fixture(scope="module")
def hits(seed_index) -> list[Hit]:
    """[1] 观察者网: 未遂的政变; [2] 半岛电视台: 近 8000 人被捕; [3] 观察者网: 2030名士兵."""
    picks = [(GUANCHA, "这是一场未遂的政变"), (ALJAZEERA, "近 8000 人"), (GUANCHA, "2030名士兵")]
    out = []
    for rank, (aid, needle) in enumerate(picks, start=1):
        chunk = next(c for c in seed_index.chunks_of(aid) if needle in c.text)
        out.append(Hit(rank, 1.0 / rank, chunk, seed_index.article(aid)))
    assert len({h.chunk.chunk_id for h in out}) == 3, "the chunker merged the passages this test needs apart"
    return out


@pytest.fixture
def server():
    with FakeLLMServer(api_key="sk-test") as s:
        yield s


def config_for(server: FakeLLMServer, timeout: float = 5.0) -> LLMConfig:
    return LLMConfig(base_url=server.base_url, model="fake-model", api_key="sk-test", timeout=timeout)


def run(mode: str, question: str, hits, server, timeout: float = 5.0) -> tuple[Answer, list[str]]:
    """Ask through the real client, streamed or not; return the final Answer and the streamed deltas."""
    cfg = config_for(server, timeout)
    if mode == "plain":
        return answer_llm(question, hits, [], cfg, lambda: FALLBACK), []
    items = list(stream_llm(question, hits, [], cfg, lambda: FALLBACK))
    *deltas, last = items
    assert isinstance(last, Answer) and all(isinstance(d, str) for d in deltas)
    return last, deltas


def assert_valid(answer: Answer, index) -> None:
    """The Answer invariants: verbatim quotes, markers 1..n, every citation used."""
    for c in answer.citations:
        assert index.article(c.article_id).text[c.start : c.end] == c.quote
    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert sorted(set(used)) == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_correct_cited_answer_is_kept(mode, hits, server, seed_index):
    server.script(Reply(CORRECT))
    answer, deltas = run(mode, "托卡耶夫怎么定性这次骚乱？", hits, server)
    assert answer.mode == "llm" and not answer.refused and answer.notice == ""
    assert_valid(answer, seed_index)
    assert len(answer.citations) == 3
    assert [c.article_id for c in answer.citations] == [GUANCHA, ALJAZEERA, GUANCHA]
    assert "未遂的政变" in answer.citations[0].quote and "8000" in answer.citations[1].quote
    assert "8000" in answer.text and "2030" in answer.text
    assert {o for o, _ in answer.groups} == {"观察者网", "半岛电视台"}
    if mode == "stream":
        assert len(deltas) > 5 and "".join(deltas) == CORRECT
    # What the server received: the model, the key, numbered passages with outlet and date.
    req = server.requests[-1]
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["body"]["stream"] is (mode == "stream") and req["body"]["model"] == "fake-model"
    prompt = req["body"]["messages"][-1]["content"]
    assert "[1] 观察者网｜2022-01-10｜《托卡耶夫定性：未遂政变》" in prompt and "[3] 观察者网" in prompt


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_unknown_marker_is_dropped_and_repaired(mode, hits, server, seed_index):
    server.script(Reply("托卡耶夫称这是一场未遂的政变[7]。当局逮捕了近8000人[2][9]。"))
    answer, _ = run(mode, "托卡耶夫怎么说？", hits, server)
    assert answer.mode == "llm"
    assert_valid(answer, seed_index)
    assert "[7]" not in answer.text and "[9]" not in answer.text
    assert [c.article_id for c in answer.citations] == [GUANCHA, ALJAZEERA]  # [7] repaired to passage 1
    assert "更正" in answer.notice


def test_marker_pointing_at_the_wrong_passage_is_moved(hits, server, seed_index):
    server.script(Reply("当局逮捕了近8000人[1]。"))  # the arrests are in passage 2, not 1
    answer, _ = run("plain", "逮捕了多少人？", hits, server)
    assert_valid(answer, seed_index)
    assert [c.article_id for c in answer.citations] == [ALJAZEERA] and "8000" in answer.citations[0].quote


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_sentence_with_a_number_not_in_its_passage_is_removed(mode, hits, server, seed_index):
    server.script(Reply("半岛电视台称，当局已经逮捕了近9000人[2]。托卡耶夫称这是一场未遂的政变[1]。"))
    answer, _ = run(mode, "逮捕了多少人？", hits, server)
    assert answer.mode == "llm"
    assert_valid(answer, seed_index)
    assert "9000" not in answer.text and "未遂的政变" in answer.text
    assert len(answer.citations) == 1 and answer.citations[0].article_id == GUANCHA
    assert "已删除 1 句" in answer.notice


def test_flag_policy_keeps_the_sentence_unmarked(hits):
    v = verify_reply("当局逮捕了近9000人[2]。托卡耶夫称这是一场未遂的政变[1]。", hits, policy="flag")
    assert v.removed == 1
    assert re.search(r"9000人〔未核实〕。", v.text) and "[1]" in v.text and len(v.citations) == 1
    assert v.checks[0].reason.startswith("number 9000")


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_reply_without_markers_gets_citations_or_loses_the_sentence(mode, hits, server, seed_index):
    server.script(Reply("托卡耶夫称这是一场未遂的政变。当局逮捕了近8000人。俄罗斯随后又向哈萨克斯坦增派了五万名伞兵。"))
    answer, _ = run(mode, "发生了什么？", hits, server)
    assert answer.mode == "llm"
    assert_valid(answer, seed_index)
    assert [c.article_id for c in answer.citations] == [GUANCHA, ALJAZEERA]
    assert "伞兵" not in answer.text
    assert "已删除 1 句" in answer.notice


def test_reply_with_nothing_verifiable_falls_back(hits, server):
    server.script(Reply("美国总统拜登宣布向哈萨克斯坦派遣三万名士兵[1]。"))
    answer, _ = run("stream", "美国派兵了吗？", hits, server)
    assert answer.mode == "extractive" and answer.text == FALLBACK.text
    assert "已改用摘录式回答" in answer.notice and "核实" in answer.notice


def test_llm_refusal_is_a_refused_llm_answer(hits, server):
    server.script(Reply("语料库中没有找到能回答这个问题的内容。"))
    answer, _ = run("plain", "哈萨克斯坦的国花是什么？", hits, server)
    assert answer.refused and answer.mode == "llm" and answer.citations == ()


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_http_500_falls_back_with_notice(mode, hits, server):
    server.script(Reply(status=500))
    answer, deltas = run(mode, "逮捕了多少人？", hits, server)
    assert answer.mode == "extractive" and answer.text == FALLBACK.text and deltas == []
    assert answer.notice.startswith("LLM 不可用（HTTP 500），已改用摘录式回答")


@pytest.mark.parametrize("mode", ["plain", "stream"])
def test_hang_beyond_timeout_falls_back(mode, hits, server):
    server.script(Reply(CORRECT, delay=10))
    t0 = time.monotonic()
    answer, _ = run(mode, "逮捕了多少人？", hits, server, timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert answer.mode == "extractive"
    assert "LLM 不可用（0.5 秒内无响应），已改用摘录式回答" in answer.notice


def test_stall_in_the_middle_of_a_stream_falls_back(hits, server):
    server.script(Reply(CORRECT, hang_after=10))
    answer, deltas = run("stream", "逮捕了多少人？", hits, server, timeout=0.5)
    assert deltas  # the first chunk was shown live; the final answer replaces it
    assert answer.mode == "extractive" and "无响应" in answer.notice


def test_malformed_sse_falls_back(hits, server):
    server.script(Reply(CORRECT, malformed=True))
    answer, deltas = run("stream", "逮捕了多少人？", hits, server)
    assert deltas and answer.mode == "extractive"
    assert "LLM 不可用（流式响应格式错误），已改用摘录式回答" in answer.notice


def test_stream_cut_before_done_falls_back(hits, server):
    server.script(Reply(CORRECT, no_done=True))
    answer, _ = run("stream", "逮捕了多少人？", hits, server)
    assert answer.mode == "extractive" and "中断" in answer.notice


def test_wrong_api_key_and_unreachable_server_fall_back(hits, server):
    server.script(Reply(CORRECT))
    bad_key = LLMConfig(base_url=server.base_url, model="m", api_key="wrong", timeout=2)
    answer = answer_llm("逮捕了多少人？", hits, [], bad_key, lambda: FALLBACK)
    assert answer.mode == "extractive" and "HTTP 401" in answer.notice
    nowhere = LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout=2)
    answer = answer_llm("逮捕了多少人？", hits, [], nowhere, lambda: FALLBACK)
    assert answer.mode == "extractive" and "无法连接" in answer.notice


def test_english_question_gets_an_english_notice(hits, server):
    server.script(Reply(status=503))
    answer, _ = run("plain", "How many people were arrested?", hits, server)
    assert answer.notice.startswith("LLM unavailable (HTTP 503); fell back to the extractive answer.")


def test_english_answer_is_checked_by_the_chinese_it_quotes(hits, server, seed_index):
    server.script(Reply('Tokayev called it "一场未遂的政变" [1]. Al Jazeera said authorities arrested nearly 9000 people [2].'))
    answer, _ = run("plain", "What did Tokayev call it?", hits, server)
    assert_valid(answer, seed_index)
    assert "未遂的政变" in answer.text and "9000" not in answer.text and len(answer.citations) == 1


def test_history_and_follow_up_reach_the_prompt(hits):
    msgs = build_messages("他们会待多久？", hits, [("集安组织派了多少兵？", "2030名士兵[1]。"), "上一个问题"])
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user", "assistant", "user", "user"]
    assert msgs[2]["content"] == "2030名士兵。"  # old markers are meaningless in the new numbering
    assert "[n]" not in msgs[0]["content"] and "[1]" in msgs[0]["content"]


def test_config_from_env():
    assert LLMConfig.from_env({}) is None
    cfg = LLMConfig.from_env({"NEWSRAG_LLM_BASE_URL": "http://127.0.0.1:11434/v1/", "NEWSRAG_LLM_MODEL": "qwen2.5:7b", "NEWSRAG_LLM_TIMEOUT": "12"})
    assert cfg.endpoint == "http://127.0.0.1:11434/v1/chat/completions" and cfg.timeout == 12 and cfg.api_key == ""
    with pytest.raises(NewsragError, match="NEWSRAG_LLM_MODEL"):
        LLMConfig.from_env({"NEWSRAG_LLM_BASE_URL": "http://x/v1"})
    with pytest.raises(NewsragError, match="NEWSRAG_LLM_TIMEOUT"):
        LLMConfig.from_env({"NEWSRAG_LLM_BASE_URL": "http://x/v1", "NEWSRAG_LLM_MODEL": "m", "NEWSRAG_LLM_TIMEOUT": "soon"})


def test_sse_parser_reads_deltas_and_ignores_comments():
    lines = [": keep-alive", 'data: {"choices":[{"delta":{"role":"assistant"}}]}', "", 'data: {"choices":[{"delta":{"content":"甲"}}]}', 'data: {"choices":[{"delta":{"content":"乙"},"finish_reason":"stop"}]}', "data: [DONE]"]
    assert list(parse_sse(iter(lines))) == ["甲", "乙"]


def test_numbers_are_normalised():
    assert {"8000", "1.5", "15000", "5"} <= numbers("8,000人，1.5万人，第05")


def test_markers_inside_a_sentence_are_checked_per_clause(hits, seed_index):
    v = verify_reply("观察者网称集安组织出动2030名士兵［3］，而半岛电视台称当局逮捕近8000人【2】，两家说法不一致。", hits)
    assert v.text == "观察者网称集安组织出动2030名士兵[1]，而半岛电视台称当局逮捕近8000人[2]，两家说法不一致。"
    assert [c.outlet for c in v.citations] == ["观察者网", "半岛电视台"] and v.disagreement
    v = verify_reply("观察者网称集安组织出动2030名士兵[3]，而半岛电视台称当局逮捕近9000人[2]。", hits)
    assert v.text == "观察者网称集安组织出动2030名士兵[1]。" and v.removed == 1
