"""Prompt building for the optional LLM answerer (pure: no I/O).

The passages are numbered [1]..[n] in retrieval order; the model is asked to put [n] after every
sentence and to use nothing but the passages. `rag.answer.verify` later holds the reply to that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.refusal import REFUSAL_TEXT
from rag.text.lang import is_english
from rag.types import Hit

REFUSAL_ZH, REFUSAL_EN = REFUSAL_TEXT["zh"], REFUSAL_TEXT["en"]

SYSTEM_ZH = """你是一个严谨的新闻资料助手，只能依据用户提供的编号段落回答问题。
规则：
1. 只使用编号段落中的信息，不得使用任何段落以外的知识，不得推测。
2. 每一句话的句末都要用方括号标注它所依据的段落编号，例如[1]或[2][3]；只能使用下面列出的编号。
3. 数字、日期、人名、机构名必须与段落原文完全一致，不要换算或四舍五入。
4. 如果段落不足以回答问题，只回答：“{refusal}”，不要编造。
5. 如果不同媒体的说法不一致（例如数字不同），要明确指出哪家媒体怎么说，并分别标注各自的段落编号。
6. 回答要简洁，一般不超过五句话；尽量在句中说明消息来源的媒体名称。"""

_EN_EXTRA = """
7. The question is in English: answer in English, but copy the key Chinese words or figures of each
   passage you rely on in quotation marks, e.g. the minister called it "一场有组织的暴乱" [1]."""


def passage_header(n: int, hit: Hit) -> str:
    """`[n] 半岛电视台｜2022-01-10｜《标题》` — what the model sees above each passage."""
    a = hit.article
    parts = [a.outlet or "未知来源", a.published or "日期不详", f"《{a.title}》" if a.title else "无标题"]
    if a.original_source and a.original_source != a.outlet:
        parts.append(f"转载自{a.original_source}")
    return f"[{n}] " + "｜".join(parts)


def format_passages(hits: Sequence[Hit], max_chars: int = 700) -> str:
    """The numbered passage block; a passage longer than `max_chars` is cut (the model sees less, never more)."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        text = hit.chunk.text.strip()
        if len(text) > max_chars:
            text = text[:max_chars] + "…"
        blocks.append(f"{passage_header(n, hit)}\n{text}")
    return "\n\n".join(blocks)


def build_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[tuple[str, str] | str] = (),
    max_passage_chars: int = 700,
    max_history_turns: int = 3,
) -> list[dict[str, str]]:
    """OpenAI chat messages: system rules, the last few turns, then passages + question.

    Example:
        >>> msgs = build_messages("香港警方逮捕了多少人？", [])
        >>> msgs[0]["role"], msgs[-1]["role"]
        ('system', 'user')
    """
    english = is_english(question)
    system = SYSTEM_ZH.format(refusal=REFUSAL_EN if english else REFUSAL_ZH)
    if english:
        system += _EN_EXTRA
    messages: list[dict[str, str]] = [{"role": "system", "content": system}]
    # Earlier turns help resolve 他们/那 in follow-ups; their citations are not re-sent (numbers changed).
    # A turn is (question, answer) or just the earlier question (what `Newsrag.ask` keeps).
    for turn in list(history)[-max_history_turns:]:
        q, a = (turn, "") if isinstance(turn, str) else turn
        messages.append({"role": "user", "content": q})
        if a:
            messages.append({"role": "assistant", "content": _strip_markers(a)[:600]})
    user = (
        f"编号段落：\n\n{format_passages(hits, max_passage_chars)}\n\n"
        f"问题：{question}\n\n"
        f"请只依据以上段落回答，每句句末标注段落编号[1]到[{len(hits)}]。"
    )
    messages.append({"role": "user", "content": user})
    return messages


def _strip_markers(text: str) -> str:
    return re.sub(r"\[\d+\]", "", text)
