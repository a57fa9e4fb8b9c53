"""`newsrag ask`: --history, the JSONL form of --questions, checks before loading, and a quiet stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT
from rag.cli.answer import AskItem, parse_questions
from rag.errors import BadQuestionError


def newsrag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_plain_and_json_lines_mix():
    text = '谁赢了？\n\n{"q": " 他们得了几票？ ", "history": ["谁赢了？"]}\n{"q": "下一步呢？"}\n  {"q": "票数\\u0000呢？", "history": []}\n'
    assert parse_questions(text) == [
        AskItem("谁赢了？"), AskItem("他们得了几票？", ("谁赢了？",)), AskItem("下一步呢？"), AskItem("票数呢？"),
    ]


@pytest.mark.parametrize("line, says", [
    ('{"q": "谁赢了", ', "not valid JSON"),
    ('{"question": "谁赢了？"}', 'no "q" string'),
    ('{"q": ["谁赢了？"]}', 'no "q" string'),
    ('{"q": "谁赢了？", "history": "之前的问题"}', "list of earlier questions"),
    ('{"q": "谁赢了？", "history": [1]}', "list of earlier questions"),
    ('{"q": "谁赢了？", "histroy": []}', "unknown keys 'histroy'"),
    ('{"q": "？？"}', "no words"),
    ('{"q": "谁赢了？", "history": [""]}', "empty"),
])
def test_malformed_lines_name_the_line_and_the_shape(line, says):
    with pytest.raises(BadQuestionError, match=says) as err:
        parse_questions(f"第一个问题？\n\n{line}\n", "q.jsonl")
    assert "q.jsonl line 3" in str(err.value)
    if "JSON" in says or "q" in says or "list" in says or "keys" in says:
        assert '{"q": "问题", "history": [' in str(err.value), "the message shows the expected shape"


@pytest.mark.parametrize("args, says", [
    (["ask", "？？"], "no words"),
    (["ask", "谁赢了？", "--history", ""], "empty"),
    (["ask", "谁赢了？", "-k", "0"], "-k 0 is out of range"),
    (["ask", "谁赢了？", "-k", "100000"], "-k 100000 is out of range"),
    (["ask", "谁赢了？", "--since", "0000-00-00"], "not a calendar date"),
    (["ask", "谁赢了？", "--until", "9999-99-99"], "not a calendar date"),
    (["ask", "--questions", "QFILE", "--history", "谁？"], "--history goes with a single QUESTION"),
    (["ask", "--questions", "QFILE"], "QFILE line 2"),
    (["search", "谁赢了？", "-k", "0"], "-k 0 is out of range"),
])
def test_bad_input_fails_before_any_index_is_opened(args, says, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('谁赢了？\n{"q": "他们呢？", "history": "谁赢了？"}\n', encoding="utf-8")
    args = [str(qfile) if a == "QFILE" else a for a in args]
    says = says.replace("QFILE", str(qfile))
    proc = newsrag(*args, "--index", str(tmp_path / "no-such-index"))  # no index: only a check can answer
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("newsrag: ") and proc.stderr.count("\n") == 1 and says in proc.stderr, proc.stderr


def test_default_mode_loads_its_models_quietly(lexical_index, tmp_path):
    """The learned answerer loads the scorer (transformers): no progress bars or load reports unless -v."""
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('集安组织派了多少兵？\n{"q": "那他们会待多久？", "history": ["集安组织派了多少兵？"]}\n', encoding="utf-8")
    proc = newsrag("ask", "--questions", str(qfile), "--index", str(lexical_index), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == "", f"stderr should be empty without -v, got:\n{proc.stderr[:1500]}"
    answers = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["集安组织派了多少兵？", "那他们会待多久？"] and answers[0]["citations"]


def test_quiet_helper_respects_verbose():
    from transformers.utils import logging as hf_logging

    from rag import quiet

    before = hf_logging.get_verbosity()
    try:
        hf_logging.set_verbosity_info()
        quiet.set_verbose(True)
        quiet.quiet_model_loading()
        assert hf_logging.get_verbosity() == hf_logging.INFO, "-v keeps the libraries' output"
        quiet.set_verbose(False)
        quiet.quiet_model_loading()
        assert hf_logging.get_verbosity() == hf_logging.ERROR and not hf_logging.is_progress_bar_enabled()
    finally:
        quiet.set_verbose(False)
        hf_logging.set_verbosity(before)
        hf_logging.enable_progress_bar()
