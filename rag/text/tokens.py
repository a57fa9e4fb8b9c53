"""Words: jieba tokens and part-of-speech tags over folded text (one tokenizer for index and answerer).

Both documents and queries are folded first (traditional→simplified, full→half width, lower
case), so 烏克蘭 in a question meets 乌克兰 in an article. `jieba.lcut` (not
`lcut_for_search`) measured better on CMRC-2018 and CRUD-RAG; a user dictionary keeps outlet,
person and place names whole (普京, 美国之音, 观察者网, ...).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from importlib import resources

from rag.text.fold import fold
from rag.text.lang import HAN

log = logging.getLogger(__name__)

TOKENIZER_NAME = "jieba.lcut+fold-v1"
_WORDLIKE = re.compile(f"[0-9a-z{HAN}]")


def _userdict_lines() -> list[str]:
    text = resources.files("rag").joinpath("data/userdict.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def userdict_fingerprint() -> str:
    return hashlib.sha1("\n".join(_userdict_lines()).encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def tokenizer():
    import jieba  # lazy: builds its prefix dictionary on first use (about 1 s)

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for line in _userdict_lines():
        word, *rest = line.split()
        freq = int(rest[0]) if rest and rest[0].isdigit() else None
        tok.add_word(fold(word), freq=freq)
    return tok


def tokenize(text: str) -> list[str]:
    """Folded jieba tokens of `text`, keeping only tokens with a letter, digit or CJK character.

    Example:
        >>> tokenize("俄羅斯總統普京")
        ['俄罗斯', '总统', '普京']
    """
    return [t for t in tokenizer().lcut(fold(text)) if _WORDLIKE.search(t)]


@functools.lru_cache(maxsize=1)
def _pos_tokenizer():
    from jieba.posseg import POSTokenizer

    return POSTokenizer(tokenizer())  # reads jieba's dict.txt once (about 1 s)


@functools.lru_cache(maxsize=4096)
def pos_tag(folded_text: str) -> tuple[tuple[str, str, int], ...]:
    """(word, jieba part-of-speech tag, start offset) for every token of an already folded text.

    Example:
        >>> pos_tag("卢卡申科会见了普京")[0]
        ('卢卡申科', 'nr', 0)
    """
    out, pos = [], 0
    for pair in _pos_tokenizer().cut(folded_text):
        out.append((pair.word, pair.flag, pos))
        pos += len(pair.word)
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _word_classes() -> tuple[dict[str, str], frozenset[str]]:
    """jieba's part-of-speech tags of its dictionary words, and the user-dictionary words (names)."""
    tags = dict(_pos_tokenizer().word_tag_tab)
    names = frozenset(fold(line.split()[0]) for line in _userdict_lines())
    return tags, names


def word_class(word: str) -> str:
    """"noun" (things, names, numbers, Latin words), "word" (another dictionary word: a verb, an
    adverb …) or "fragment" (not a dictionary word: what jieba guesses for unknown runs, 后曼, 人时).

    Example:
        >>> word_class("妻子"), word_class("涨到"), word_class("后曼")
        ('noun', 'word', 'fragment')
    """
    w = fold(word)
    tags, names = _word_classes()
    if w in names or w.isdigit() or (w.isascii() and w.isalnum()):
        return "noun"
    tag = tags.get(w)
    if tag is None:
        return "fragment"
    return "noun" if tag[0] == "n" or tag in ("j", "l") else "word"  # j: abbreviations (人均); l: set phrases (发言人)
