"""Candidate answer sentences: the sentences of retrieved chunks, as spans of article.text.

A candidate's [start, end) is a span of the article's clean text (not of the chunk), so a
citation built from it quotes the article verbatim. Spans are whole sentences from
`rag.chunk.split_sentences`, minimally trimmed: leading list/emphasis marks and a leading
connective (另外，此外，…) are dropped, and an over-long sentence is cut to the run of clauses
that best covers the question. Sentence spans are cached per article text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.chunk import split_sentences
from rag.text.fold import fold
from rag.text.lang import han_count
from rag.types import Hit

MAX_QUOTE_CHARS = 180
MIN_CJK_CHARS = 6

# Boilerplate and link debris that is never an answer.
_JUNK_RE = re.compile(r"https?://|www\.|\]\(|!\[|免责声明|版权所有|转载|校对[：:]|发布[：:]|图片来源|延展阅读|本文短网址|点击查看|撰稿[：:]|翻译[：:]|编辑[：:]|^作者[：:]|订阅")
_LEAD_MARKS = set(" \t*#>-_•·【】|`")
_TRAIL_MARKS = set(" \t*_`|")
_CONNECTIVE_RE = re.compile(r"^(另外|此外|同时|与此同时|而且|并且|然而|不过|但是|但|而|另一方面|其次|首先|最后|因此|所以)[，,、]\s*")
_CLAUSE_END_RE = re.compile(r"[，,；;：:]")


@dataclass(frozen=True)
class Candidate:
    """One sentence (span of hit.article.text) offered as an answer."""

    hit: Hit
    start: int
    end: int
    text: str  # article.text[start:end]
    folded: str  # fold(text)
    position: int  # sentence index within the chunk
    context: str = ""  # folded text of the sentence with its neighbours (for pronoun-heavy sentences)


@functools.lru_cache(maxsize=8192)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence spans of an article text, cached (str hashes are cached, so lookups are cheap)."""
    return tuple(split_sentences(text))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _LEAD_MARKS:
        start += 1
    while end > start and text[end - 1] in _TRAIL_MARKS:
        end -= 1
    m = _CONNECTIVE_RE.match(text, start, end)
    if m and end - m.end() >= MIN_CJK_CHARS:
        start = m.end()
    return start, end


def _is_junk(s: str) -> bool:
    return han_count(s) < MIN_CJK_CHARS or bool(_JUNK_RE.search(s))


def clause_window(text: str, start: int, end: int, terms: Sequence[str], max_chars: int = MAX_QUOTE_CHARS) -> tuple[int, int]:
    """Within a long sentence, the run of whole clauses (<= max_chars) covering most terms.

    Clause boundaries are ，；： — the result is still a verbatim span of `text`.
    """
    if end - start <= max_chars:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_END_RE.finditer(text, start, end)] + [end]
    cuts = sorted(set(cuts))
    folded = fold(text[start:end])
    best, best_score = (start, min(end, start + max_chars)), -1.0
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            a, b = cuts[i], cuts[j]
            if b - a > max_chars:
                break
            piece = folded[a - start : b - start]
            score = sum(len(t) for t in terms if t in piece) - 0.001 * (b - a)
            if score > best_score:
                best, best_score = (a, b), score
    a, b = best
    while b > a and text[b - 1] in "，,；;：: ":
        b -= 1
    return a, b


def candidates_from_hits(hits: Sequence[Hit], terms: Sequence[str] = (), max_hits: int = 8,
                         wants: Callable[[str], bool] | None = None) -> list[Candidate]:
    """All usable sentences of the top `max_hits` chunks, in hit order, deduplicated by text.

    A sentence that straddles a chunk boundary is taken whole when it starts inside the chunk.
    With `wants` (a test on folded text, e.g. "states a reason"), a sentence that fails it is also
    offered joined with an adjacent sentence of the same paragraph that passes it: in
    "主要目的是……夺取政权。这是一场未遂的政变，”李明说。" the reason is the sentence before.
    """
    out: list[Candidate] = []
    seen: set[str] = set()
    for hit in hits[:max_hits]:
        text, c = hit.article.text, hit.chunk
        position = 0
        spans = sentence_spans(text)
        for k, (s, e) in enumerate(spans):
            if e <= c.start or s >= c.end or s < c.start - 1:
                continue
            ctx_start = spans[k - 1][0] if k > 0 else s
            ctx_end = spans[k + 1][1] if k + 1 < len(spans) else e
            s, e = _trim(text, s, e)
            s, e = clause_window(text, s, e, terms)
            s, e = _trim(text, s, e)
            if e <= s:
                continue
            sentence = text[s:e]
            if _is_junk(sentence):
                continue
            folded = fold(sentence)
            key = _dedupe_key(folded)
            if key in seen:
                continue
            seen.add(key)
            context = fold(text[ctx_start:ctx_end])
            out.append(Candidate(hit, s, e, sentence, folded, position, context))
            position += 1
            if wants is not None and not wants(folded):
                for a, b in ((ctx_start, e), (s, ctx_end)):
                    joined = _joined(text, a, b, s, e, wants)
                    if joined is not None and joined[2] not in seen:
                        seen.add(joined[2])
                        out.append(Candidate(hit, joined[0], joined[1], text[joined[0] : joined[1]], fold(text[joined[0] : joined[1]]), position, context))
    return out


def _joined(text: str, a: int, b: int, s: int, e: int, wants: Callable[[str], bool]) -> tuple[int, int, str] | None:
    """Span [a, b) = the sentence [s, e) plus one neighbour, if that neighbour passes `wants`."""
    if (a, b) == (s, e) or "\n" in text[a:b] or b - a > MAX_QUOTE_CHARS + 40:
        return None
    a, b = _trim(text, a, b)
    other = fold(text[a:s] if a < s else text[e:b])
    if not wants(other) or _is_junk(text[a:b]):
        return None
    return a, b, _dedupe_key(fold(text[a:b]))


def _dedupe_key(folded: str) -> str:
    """Two candidates are the same sentence when their letters and digits agree."""
    return re.sub(r"\W+", "", folded)
