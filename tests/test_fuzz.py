"""Hostile and random input through the CLI and the `/ask` API: never a crash, always a clear error or a verified answer.

Seeded, so a failure reproduces. The CLI cases run as real `newsrag ask` processes over a lexical
index (most of them batched through one JSONL --questions file, in the default answer mode); the
API cases go to a real `newsrag serve` through gradio_client.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from conftest import ROOT
from rag.errors import BadQuestionError
from rag.validate import check_question

SEED = 20220110


def random_text(rng: random.Random, n: int, surrogates: bool = False) -> str:
    """`n` code points drawn from all of Unicode (astral planes, private use, unassigned included)."""
    out = []
    while len(out) < n:
        cp = rng.randrange(0x110000)
        if 0xD800 <= cp <= 0xDFFF and not surrogates:
            continue
        out.append(chr(cp))
    return "".join(out)


def hostile_questions(rng: random.Random, surrogates: bool) -> list[str]:
    fixed = [
        "<script>alert(1)</script>", "集安组织<img src=x onerror=alert(1)>派了多少兵？", "集安组织\x00派了多少兵？", "\x00\x00\x00",
        "\x07\x1b[31m集安组织\x1b[0m", "😀🔥🇰🇿 集安组织 👍", "集" * 10_000, "哈萨克斯坦" * 399, "集安组织派了多少兵？" * 60,
        "How many troops did 集安组织 send? Сколько войск? كم عدد القوات", "\u202e集安组织\u202c\u200b\ufeff", "？！。，……",
        "[1] [2] 据半岛电视台报道", "'; DROP TABLE articles; --", "{{7*7}} ${jndi:ldap://x} %s%n", "\n\t 阿拉木图 \r\n",
        "Ｋａｚａｋｈｓｔａｎ　１２３", "e\u0301\u0301\u0301 托卡耶夫", "𠀀𠀁𠀂𪚥", "_", "0",
    ]
    if surrogates:
        fixed += ["\ud800集安组织", "托卡耶夫\udfff"]
    return fixed + [random_text(rng, rng.randrange(1, 80), surrogates) for _ in range(8)]


def expected(q: str) -> str | None:
    """The cleaned question, or None when it must be refused with a message."""
    try:
        return check_question(q)
    except BadQuestionError:
        return None


def check_verbatim(answer: dict, index) -> None:
    assert {"question", "answer", "refused", "mode", "citations"} <= set(answer)
    if answer["refused"]:
        assert not answer["citations"]
        return
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert index.article(c["article_id"]).text[c["start"] : c["end"]] == c["quote"], c
        assert f"[{c['n']}]" in answer["answer"]


def newsrag(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, capture_output=True, timeout=timeout)


def assert_clear_error(proc: subprocess.CompletedProcess, what: str) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, f"{what}: exit {proc.returncode}\n{err[-2000:]}"
    assert "Traceback" not in err and err.startswith("newsrag: ") and err.count("\n") == 1, f"{what}: {err[-2000:]}"
    return err


# -- (a) the CLI ----------------------------------------------------------------------------------


def test_cli_batch_of_hostile_questions(lexical_index, tmp_path):
    from rag.index.store import load_index

    rng = random.Random(SEED)
    questions = [q for q in hostile_questions(rng, surrogates=True) if expected(q) is not None]
    assert len(questions) >= 20
    lines = []
    for q in questions:  # some with history, some with a hostile history
        history = rng.choice([[], ["集安组织派了多少兵？"], ["<b>x</b> 托卡耶夫", "😀 阿拉木图"]])
        lines.append(json.dumps({"q": q, "history": history}))  # ensure_ascii: lone surrogates travel as \ud800
    qfile = tmp_path / "hostile.jsonl"
    qfile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = newsrag("ask", "--questions", str(qfile), "--index", str(lexical_index), "--json", timeout=600)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "Loading weights" not in err, err[-2000:]
    answers = [json.loads(ln) for ln in proc.stdout.decode("utf-8").splitlines()]
    assert len(answers) == len(questions)
    index = load_index(lexical_index)
    for q, a in zip(questions, answers):
        assert a["question"] == expected(q)
        check_verbatim(a, index)


def test_cli_invalid_questions_are_clear_errors(tmp_path):
    rng = random.Random(SEED + 1)
    bad = [q for q in hostile_questions(rng, surrogates=True) if expected(q) is None]
    bad += ["", "\x00", "😀🔥", "a" * 2001, "\u200b\u200b"]
    for i, q in enumerate(bad):  # through the JSONL file (NUL and surrogates cannot be argv)
        qfile = tmp_path / f"bad{i}.jsonl"
        qfile.write_text("集安组织派了多少兵？\n" + json.dumps({"q": q}) + "\n", encoding="utf-8")
        err = assert_clear_error(newsrag("ask", "--questions", str(qfile), "--index", str(tmp_path / "none")), repr(q)[:60])
        assert "line 2" in err
    for q in ["？？？", "<script></script>"]:
        assert_clear_error(newsrag("ask", q, "--index", str(tmp_path / "none")), repr(q)[:60])


@pytest.mark.parametrize("flags", [
    ["--since", "0000-00-00"], ["--until", "9999-99-99"], ["--since", "2022-02-30"],
    ["-k", "0"], ["-k", "100000"], ["--outlet", "不存在的媒体<script>"],
])
def test_cli_out_of_range_flags_are_clear_errors(flags, lexical_index):
    assert_clear_error(newsrag("ask", "集安组织派了多少兵？", "--index", str(lexical_index), "--mode", "rules", *flags), " ".join(flags))


def test_cli_extreme_but_valid_flags_answer(lexical_index, tmp_path):
    from rag.index.store import load_index

    index = load_index(lexical_index)
    qfile = tmp_path / "q.txt"
    qfile.write_text("集安组织派了多少兵？\n<script>alert(1)</script> 托卡耶夫\n", encoding="utf-8")
    for flags in (["-k", "100", "--since", "0001-01-01", "--until", "9999-12-31"], ["-k", "1", "--since", "2022-01-10", "--until", "2022-01-01"]):
        proc = newsrag("ask", "--questions", str(qfile), "--index", str(lexical_index), "--mode", "rules", "--json", *flags)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        for ln in proc.stdout.decode().splitlines():
            check_verbatim(json.loads(ln), index)
    # an undecodable argv byte (a lone surrogate inside Python) is dropped, not a UnicodeEncodeError
    proc = subprocess.run([sys.executable, "-m", "rag", "ask", b"\xff\xfe\xe9\x9b\x86\xe5\xae\x89", "--index", str(lexical_index), "--mode", "rules", "--json"],
                          cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr[-2000:]


# -- (b) the /ask API of a running server ---------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.ui_server import UIServer, make_corpus

    tmp = tmp_path_factory.mktemp("fuzz-api")
    with UIServer(make_corpus(tmp / "corpus", hostile=False), tmp / "index") as srv:
        yield srv


@pytest.mark.slow
def test_api_ask_survives_hostile_input(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from rag.index.store import load_index

    rng = random.Random(SEED + 2)
    client = Client(server.url, verbose=False)
    cases = [(q, [], None, None, 5) for q in hostile_questions(rng, surrogates=False)]
    cases += [
        ("集安组织派了多少兵？", [], "0000-00-00", None, 5), ("集安组织派了多少兵？", [], None, "9999-99-99", 5),
        ("集安组织派了多少兵？", [], None, None, 0), ("集安组织派了多少兵？", [], None, None, 100000),
        ("集安组织派了多少兵？", ["不存在的媒体"], None, None, 5), ("集安组织派了多少兵？", ["<script>alert(1)</script>"], None, None, 5),
        ("集安组织派了多少兵？", [], "2022-01-10", "2022-01-01", 5), (None, [], None, None, 5),
    ]
    errors, answers = 0, 0
    index = None
    for q, outlets, since, until, k in cases:
        try:
            res = client.predict(q, outlets, since, until, k, "extractive", api_name="/ask")
        except AppError as exc:
            msg = str(exc)
            assert msg.strip() and "Traceback" not in msg and "Something went wrong" not in msg, (q, msg)
            errors += 1
            continue
        index = index or load_index(server.index_dir)
        assert res["question"] == expected(q)
        check_verbatim(res, index)
        answers += 1
    assert errors >= 8 and answers >= 10, (errors, answers)
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    assert "/ask refused: " in log, "a user's mistake is logged as one line"
