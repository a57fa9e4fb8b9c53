"""The chat handler without a browser: streaming (extractive and a real HTTP LLM), errors, follow-ups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.ui.background import IndexManager
from rag.ui.handlers import Handlers, UserError, make_filters

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def handlers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("handlers")
    mgr = IndexManager(shutil.copytree(ROOT / "corpus", tmp / "corpus"), tmp / "index", background_embed=False)
    mgr.start(wait=True)
    return Handlers(mgr)


def run_chat(h: Handlers, question: str, turns=(), history=(), outlets=(), mode="extractive"):
    steps = list(h.chat(question, list(turns), list(history), list(outlets), "", "", 8, mode))
    return steps, steps[-1]


def test_extractive_answer_streams_then_shows_cards(handlers):
    steps, (html, turns, history, box) = run_chat(handlers, "哈萨克斯坦抗议中有多少人被捕？")
    streaming = [s[0] for s in steps if 'class="answer streaming"' in s[0]]
    assert len(streaming) >= 3  # "searching…", then the text growing
    assert 'class="cite-card"' in html and 'class="cite-mark"' in html and "answer streaming" not in html
    assert len(turns) == 1 and [q for q, _ in history] == ["哈萨克斯坦抗议中有多少人被捕？"] and box == ""


def test_follow_up_uses_the_conversation(handlers):
    _, (_, turns, history, _) = run_chat(handlers, "集安组织派了多少兵？")
    _, (html, turns, history, _) = run_chat(handlers, "他们会待多久？", turns, history)
    assert len(turns) == 2 and [q for q, _ in history] == ["集安组织派了多少兵？", "他们会待多久？"]
    assert 'id="t1-c1"' in html or 'class="answer refused"' in html  # the second turn has its own anchors


@pytest.mark.parametrize("question, message", [("", "type a question"), ("哈" * 2001, "2001 characters")])
def test_bad_questions_get_a_message_and_keep_the_session(handlers, question, message):
    _, (html, turns, history, box) = run_chat(handlers, question, ["<div>earlier</div>"], ["earlier"])
    assert message in html and 'class="answer error"' in html
    assert turns[0] == "<div>earlier</div>" and history == ["earlier"]


def test_a_crashing_request_is_reported_not_raised(handlers, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(handlers.manager.service, "ask_stream", boom)
    _, (html, turns, _, _) = run_chat(handlers, "托卡耶夫说了什么？")
    assert 'class="answer error"' in html and "RuntimeError" in html and len(turns) == 1


def test_filters_are_validated():
    assert make_filters(["观察者网", ""], " 2022-01-01 ", None).outlets == ("观察者网",)
    with pytest.raises(UserError, match="YYYY-MM-DD"):
        make_filters([], "1月1日", None)


def test_llm_mode_streams_deltas_from_a_real_http_server(handlers, monkeypatch):
    from llm_server import FakeLLMServer, Reply

    with FakeLLMServer() as server:
        server.script(Reply("据报道，有超过5000人被捕[1]。", chunk_chars=2))
        monkeypatch.setenv("NEWSRAG_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("NEWSRAG_LLM_MODEL", "fake-model")
        steps, (html, _, _, _) = run_chat(handlers, "哈萨克斯坦抗议中有多少人被捕？", mode="llm")
    partial = [s[0] for s in steps if "answer streaming" in s[0] and "据报" in s[0]]
    assert partial, "no LLM delta reached the page before the final answer"
    assert "answer streaming" not in html and ('data-mode="llm"' in html or 'class="notice"' in html)


def test_build_status_eta_follows_the_stage_pace():
    import time

    from rag.ui.background import BuildStatus

    st = BuildStatus(state="embedding", stage="embedding", done=100, total=400, stage_started=time.monotonic() - 10)
    assert 29 < st.eta_seconds() < 31  # 100 chunks in 10 s, 300 to go
    assert BuildStatus(state="embedding", stage="loading the embedding model", done=0, total=400).eta_seconds() is None
