"""Input checks shared by the CLI, the web app and the service: clear errors before anything loads."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from rag.errors import BadQuestionError
from rag.validate import check_date, check_question


@pytest.mark.parametrize("q", ["", "   ", "？？？！！！。。。", "\x00\x01", "😀😀", "……——"])
def test_questions_without_words_are_rejected(q):
    with pytest.raises(BadQuestionError, match="question"):
        check_question(q)


def test_long_question_is_rejected_with_the_limit():
    with pytest.raises(BadQuestionError, match="characters long; keep it under 2000"):
        check_question("问" * 5000)


def test_control_characters_are_dropped():
    assert check_question(" 谁\x00赢了\u200b？ ") == "谁赢了？"


@pytest.mark.parametrize("bad", ["2022-13-01", "2022-02-30", "20220101", "yesterday"])
def test_impossible_dates_are_rejected_with_the_format(bad):
    with pytest.raises(BadQuestionError, match="YYYY-MM-DD"):
        check_date(bad, "--since")


def test_good_and_empty_dates():
    assert check_date("2022-01-10") == "2022-01-10" and check_date("") is None and check_date(None) is None


@pytest.mark.parametrize("args,needle", [(["？？？！！！。。。"], "no words"), (["谁赢了？", "--since", "2022-13-01"], "calendar date")])
def test_cli_rejects_bad_input_fast_without_a_traceback(tmp_path, args, needle):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rag", "ask", *args, "--index", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert time.perf_counter() - t0 < 30  # no index or model was loaded (the bound is loose for busy CI machines)
