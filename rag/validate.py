"""Checks of what a user types (questions, dates), shared by the CLI, the web app and the service.

They run before anything heavy is loaded, and their errors say how to fix the input.
Pure; no I/O.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from rag.errors import BadQuestionError
from rag.text.lang import HAN

MAX_QUERY_CHARS = 2000
_WORD_RE = re.compile(f"[\\w{HAN}]")  # a letter, digit or CJK character


def check_question(question: str | None) -> str:
    """The question, stripped of control and format characters, lone surrogates and surrounding space.

    Raises:
        BadQuestionError: empty, only punctuation or symbols, or longer than MAX_QUERY_CHARS.

    Example:
        >>> check_question("  谁赢了？\\x00 ")
        '谁赢了？'
    """
    # Cs: lone surrogates (undecodable argv bytes, "\\ud800" in JSON) cannot be encoded to print or tokenise.
    q = "".join(ch for ch in (question or "") if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") or ch in "\n\t").strip()
    if not q:
        raise BadQuestionError("the question is empty; type a question or a few keywords · 请输入问题")
    if len(q) > MAX_QUERY_CHARS:
        raise BadQuestionError(f"the question is {len(q)} characters long; keep it under {MAX_QUERY_CHARS} (ask about one thing at a time) · 问题过长")
    if not _WORD_RE.search(q):
        raise BadQuestionError("the question has no words, only punctuation or symbols; type what you want to know · 请输入问题的文字")
    return q


def check_date(value: str | None, name: str = "date") -> str | None:
    """A YYYY-MM-DD calendar date, or None when empty.

    Raises:
        BadQuestionError: not in that form, or no such day (2022-13-01).
    """
    v = (value or "").strip()
    if not v:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError
        datetime.date.fromisoformat(v)
    except ValueError:
        raise BadQuestionError(f"{name} {v!r} is not a calendar date; write it as YYYY-MM-DD, e.g. 2022-01-10") from None
    return v
