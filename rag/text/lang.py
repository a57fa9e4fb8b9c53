"""Scripts and languages: the one definition of "a Chinese character" and of the question's language.

Example:
    >>> has_han("普京说"), has_han("Putin said")
    (True, False)
    >>> detect_lang("How many troops?"), detect_lang("多少军队？"), is_english("？？？")
    ('en', 'zh', False)
"""

from __future__ import annotations

import re
from typing import Literal

# CJK unified ideographs (extension A + basic) and compatibility ideographs.
HAN = r"\u3400-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")
HAN_RUN_RE = re.compile(f"[{HAN}]+")
_LATIN_RE = re.compile(r"[A-Za-z]")


def has_han(text: str) -> bool:
    """True when `text` holds at least one Chinese character."""
    return HAN_RE.search(text) is not None


def han_count(text: str) -> int:
    """How many Chinese characters `text` holds."""
    return len(HAN_RE.findall(text))


def detect_lang(text: str) -> Literal["zh", "en"]:
    """"zh" when the text has any Chinese character, otherwise "en" (the answer follows the question)."""
    return "zh" if has_han(text) else "en"


def is_english(text: str) -> bool:
    """True when `text` has Latin letters and no Chinese character."""
    return not has_han(text) and _LATIN_RE.search(text) is not None
