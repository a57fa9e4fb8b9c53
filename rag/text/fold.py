"""Character-level normalisation shared by BM25, lookup and answer checking.

`fold` maps traditional to simplified Chinese, full-width ASCII to half-width and upper to
lower case, **one character for one character**, so an offset into the folded text is an offset
into the original. That is what lets citation lookup match 烏克蘭 against 乌克兰 and still
report the exact span of the source.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_PUNCT_RE = re.compile(r"[\s\u3000\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc  # lazy: C extension with dictionaries

    return opencc.OpenCC("t2s")


# Full-width ASCII and the ideographic space to half width, ASCII upper to lower: one char each.
_WIDTH_CASE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_WIDTH_CASE[0x3000] = 0x20
_WIDTH_CASE.update({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})
_WIDTH_CASE.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ straight to a-z


@functools.lru_cache(maxsize=65536)
def _t2s_char(ch: str) -> str:
    converted = _t2s().convert(ch)
    return converted if len(converted) == 1 else ch


def fold(text: str) -> str:
    """Length-preserving fold: traditional→simplified, full→half width, ASCII lower case.

    Example:
        >>> fold("烏克蘭ＡＢＣ")
        '乌克兰abc'
    """
    if not text:
        return text
    converted = _t2s().convert(text)
    if len(converted) != len(text):
        # A phrase rule changed the length; fall back to char-by-char so offsets stay valid.
        converted = "".join(_t2s_char(c) for c in text)
    return converted.translate(_WIDTH_CASE)


def strip_punct(text: str) -> tuple[str, list[int]]:
    """Drop whitespace and punctuation; return the kept string and, for each kept char, its index in `text`."""
    kept: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace() or unicodedata.category(ch)[0] in "PZS":
            continue
        kept.append(ch)
        index.append(i)
    return "".join(kept), index


def squash(text: str) -> str:
    """Fold and drop punctuation and whitespace: the key for "same sentence" comparisons."""
    return _PUNCT_RE.sub("", fold(text))
