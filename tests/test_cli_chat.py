"""`newsrag chat` for real: a subprocess reading a conversation from a pipe, over a lexical index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from rag.cli.chat import Command, Conversation, apply, interpret

FIRST = "集安组织派了多少兵？"
FOLLOW_UP = "那他们会待多久？"  # elliptical: "they" are the troops of the first question
ANSWER_FIELDS = {"question", "answer", "refused", "mode", "citations"}
CITATION_FIELDS = {"n", "article_id", "outlet", "title", "published", "url", "source_path", "quote", "start", "end"}


def newsrag(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def conversation(lexical_index):
    lines = [FIRST, "/json", FOLLOW_UP, "？？？", "", "x" * 3000, "/nosuch", FOLLOW_UP, "/new", FOLLOW_UP, "/quit", "never asked"]
    proc = newsrag("chat", "--index", str(lexical_index), "--mode", "rules", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc


def test_text_answer_then_json_lines(conversation):
    text, _, json_part = conversation.stdout.partition("\n{")
    assert "[1] " in text and "    " in text, "the first answer is in the text form of `ask`, citations listed"
    answers = [json.loads(ln) for ln in ("{" + json_part).splitlines() if ln.strip()]
    assert len(answers) == 3, "three questions after /json; the invalid lines answer nothing; nothing after /quit"
    for a in answers:
        assert ANSWER_FIELDS <= set(a) and a["question"] == FOLLOW_UP
        for c in a["citations"]:
            assert CITATION_FIELDS <= set(c)


def test_follow_up_uses_the_history_and_new_forgets_it(conversation, lexical_index, tmp_path):
    with_history, again, after_new = [json.loads(ln) for ln in conversation.stdout.splitlines() if ln.startswith("{")]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(json.dumps({"q": FOLLOW_UP, "history": [FIRST]}, ensure_ascii=False) + "\n"
                     + json.dumps({"q": FOLLOW_UP, "history": [FIRST, FOLLOW_UP]}, ensure_ascii=False) + f"\n{FOLLOW_UP}\n", encoding="utf-8")
    proc = newsrag("ask", "--questions", str(qfile), "--index", str(lexical_index), "--mode", "rules", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    expect_1, expect_2, alone = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert with_history == expect_1, "chat passes the earlier question as history, like ask's JSONL history"
    assert again == expect_2, "history grows with every answered question (the invalid ones are not in it)"
    assert after_new == alone, "/new starts over: the follow-up is answered without history"
    assert with_history != alone, "the history changes the answer to an elliptical follow-up"
    single = newsrag("ask", FOLLOW_UP, "--history", FIRST, "--index", str(lexical_index), "--mode", "rules", "--json")
    assert single.returncode == 0 and json.loads(single.stdout) == expect_1, "--history is the same as a JSONL history"


def test_invalid_lines_print_the_error_and_the_chat_goes_on(conversation):
    errors = [ln for ln in conversation.stderr.splitlines() if ln.startswith("newsrag: ")]
    assert any("no words" in e for e in errors)
    assert any("empty" in e for e in errors)
    assert any("characters long" in e for e in errors)
    assert "unknown command /nosuch" in conversation.stderr
    assert "(JSON output on)" in conversation.stderr and "(new conversation" in conversation.stderr


def test_ctrl_c_cancels_the_line_and_eof_ends(lexical_index):
    proc = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--index", str(lexical_index), "--mode", "rules", "--json"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(FIRST + "\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())  # loaded and answered: now waiting at the prompt
        assert first["question"] == FIRST
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.5)
        proc.stdin.write(FOLLOW_UP + "\n")
        proc.stdin.close()  # EOF, as Ctrl-D
        rest = proc.stdout.read()
        err = proc.stderr.read()
        assert proc.wait(60) == 0, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert json.loads(rest.splitlines()[0])["question"] == FOLLOW_UP, "the chat still answers after Ctrl-C"


def test_interpret_and_apply():
    assert interpret("/quit") == interpret("/EXIT") == Command("quit")
    assert interpret("/new").kind == "new" and interpret("/nosuch 1").kind == "ask"
    conv, note = apply(Conversation(history=("a", "b")), Command("new"))
    assert conv.history == () and note
    conv, note = apply(conv, Command("json"))
    assert conv.as_json and "on" in note
    assert not apply(conv, Command("json"))[0].as_json


def test_chat_is_a_registered_command():
    from rag.cli.main import build_parser

    args = build_parser().parse_args(["chat", "--index", "x", "--outlet", "A", "--since", "2022-01-01", "-k", "3", "--mode", "rules"])
    assert args.func.__module__ == "rag.cli.chat" and args.k == 3 and args.outlet == ["A"]
