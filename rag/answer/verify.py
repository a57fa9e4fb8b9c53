"""Hold an LLM reply to its passages (pure, apart from an optional embedder).

Steps:
1. Clean the reply (drop <think> blocks), split it into sentences, attach each [n] marker to the
   sentence it ends (a marker opening a sentence belongs to the one before).
2. Drop markers that name no passage; a sentence left without a valid marker is "repaired" when one
   passage clearly supports it, else treated as unsupported.
3. Check each sentence against the passages it cites: every number it states must appear in them,
   and enough of its character bigrams (after `rag.text.fold.fold`) must be found there; an embedder,
   when given, can vouch for a paraphrase that shares fewer bigrams.
4. Remove (or flag) unsupported sentences; cite, for each kept (sentence, passage) pair, the
   sentence span of the article that supports it best, so quote == article.text[start:end].
5. Renumber: markers 1..n in order of use, every citation used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.answer.citations import make_citation, renumber
from rag.chunk import split_sentences
from rag.text.fold import fold
from rag.text.lang import HAN_RUN_RE
from rag.types import Citation, Hit

_THINK_RE = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# [1], [1,2], [1、3], ［1］, 【1】, [1-3]; normalised to [1][2]... before anything else.
_ANY_MARKER_RE = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,，、\-–~]\s*\d{1,3})*)\s*[\]］】]")
_MARKER_RE = re.compile(r"\[(\d{1,3})\]")
_MARKER_RUN_RE = re.compile(r"^(?:\s*\[\d{1,3}\])+")
_MARKER_RUNS_RE = re.compile(r"(?:\s*\[\d{1,3}\])+")
_ASCII_WORD_RE = re.compile(r"[a-z][a-z'\-]+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
# "... people [2]. Next" — a full stop after a word or marker, not in 1.75 or "U.S. troops".
_EN_STOP_RE = re.compile(r"(?<=[a-z\]\)\"”’'%])\.[\"”’')]*(?=\s)")
_TERMINAL_RE = re.compile(r"[。！？!?；;.…]+$")
_REFUSAL_RE = re.compile(
    r"没有找到|未找到|无法回答|不能回答|无法确定|没有提到|未提到|没有提及|未提及|并未|没有相关|不足以回答|无从得知|无法从"
    r"|cannot answer|can't answer|unable to answer|do(?:es)? not (?:mention|say|contain|state)|no information|nothing that answers",
    re.I,
)
_DISAGREE_RE = re.compile(r"不一致|说法不同|说法不一|数字不同|有出入|矛盾|不同的数字|disagree|differ|inconsistent|conflict", re.I)
# Framing words a faithful answer adds around a quote ("据...报道，..."); they are never evidence.
_FRAMING = "据 报道 表示 指出 援引 消息 根据 段落 资料 显示 说法 不同 一致 分别 认为 其中 此外 另外 同时 媒体 来源 提到 提及 称 而 则 但 并".split()

Policy = Literal["remove", "flag"]


@dataclass(frozen=True)
class SentenceCheck:
    """What the checker decided about one sentence of the reply."""

    text: str  # the sentence without markers
    cited: tuple[int, ...]  # valid passage numbers after repair (1-based, prompt numbering)
    supported: bool
    score: float  # lexical containment in the cited passages, 0..1
    reason: str  # "ok", "repaired", "number 9000 not in passage", "no support", "limitation"


@dataclass(frozen=True)
class VerifiedReply:
    text: str
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...]
    removed: int  # unsupported sentences removed (or flagged)
    repaired: int  # sentences whose markers were added, dropped or moved
    refused: bool
    groups: tuple[tuple[str, tuple[int, ...]], ...] = field(default=())
    disagreement: bool = False


@dataclass
class _Unit:
    raw: str  # clause text, markers normalised to [n]
    gap: str  # separator before it in the reply ("" inside a sentence)
    sent: int = 0  # which sentence of the reply it belongs to
    body: str = ""
    cited: list[int] = field(default_factory=list)


def normalise_markers(text: str) -> str:
    """`［1，2］`, `【3】`, `[1-3]` -> `[1][2]`, `[3]`, `[1][2][3]`."""

    def _sub(m: re.Match[str]) -> str:
        nums: list[int] = []
        for part in re.split(r"\s*[,，、]\s*", m.group(1)):
            bounds = re.split(r"\s*[\-–~]\s*", part)
            if len(bounds) == 2 and int(bounds[0]) <= int(bounds[1]) <= int(bounds[0]) + 9:
                nums.extend(range(int(bounds[0]), int(bounds[1]) + 1))
            else:
                nums.extend(int(b) for b in bounds)
        return "".join(f"[{n}]" for n in nums)

    return _ANY_MARKER_RE.sub(_sub, text.translate(_DIGITS))


def _units(text: str) -> set[str]:
    """Content units of `text`: CJK character bigrams (single chars for 1-char runs) and Latin words."""
    f = fold(text)
    out: set[str] = set()
    for run in HAN_RUN_RE.findall(f):
        out.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    out.update(_ASCII_WORD_RE.findall(f))
    return out


_FRAMING_UNITS = frozenset().union(*(_units(w) for w in _FRAMING))


def numbers(text: str) -> set[str]:
    """Numbers stated in `text`, normalised: 8,000 -> 8000, 05 -> 5, 1.5万 -> 1.5 and 15000."""
    out: set[str] = set()
    f = fold(text)
    for m in _NUMBER_RE.finditer(f):
        raw = m.group(0)
        plain = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw) else raw
        for piece in plain.split(","):
            if not piece:
                continue
            out.add(piece.lstrip("0") or "0")
            nxt = f[m.end() : m.end() + 1]
            if nxt in ("万", "亿"):
                try:
                    out.add(str(round(float(piece) * (10_000 if nxt == "万" else 100_000_000))))
                except ValueError:
                    pass
    return out


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Chinese sentence spans (rag.chunk), each further cut after an English full stop."""
    spans = []
    for s, e in split_sentences(text):
        start = s
        for m in _EN_STOP_RE.finditer(text, s, e):
            spans.append((start, m.end()))
            start = m.end() + len(text[m.end() : e]) - len(text[m.end() : e].lstrip())
        if start < e:
            spans.append((start, e))
    return spans


def _split_reply(reply: str) -> list[_Unit]:
    """Clauses of the reply with their markers.

    A sentence is cut after each marker run that more text follows ("A称X[1]，而B称Y[2]。" is two
    clauses, each checked against its own passage); a marker opening a sentence belongs to the one before.
    """
    text = normalise_markers(_THINK_RE.sub("", reply)).strip()
    sents: list[list[str]] = []  # [raw, gap]
    prev_end = 0
    for s, e in _sentence_spans(text):
        raw, gap = text[s:e], text[prev_end:s]
        prev_end = e
        lead = _MARKER_RUN_RE.match(raw)
        if lead and sents:
            sents[-1][0] += lead.group(0).strip()
            raw = raw[lead.end() :].lstrip()
        if not _units(raw) and not numbers(_MARKER_RE.sub("", raw)):
            if sents:  # only markers or punctuation left: they close the previous sentence
                sents[-1][0] += "".join(m.group(0) for m in _MARKER_RE.finditer(raw))
            continue
        sents.append([raw, gap])
    units: list[_Unit] = []
    for sid, (raw, gap) in enumerate(sents):
        start = 0
        for m in _MARKER_RUNS_RE.finditer(raw):
            rest = _MARKER_RE.sub("", raw[m.end() :])
            if _units(rest) or numbers(rest):
                units.append(_Unit(raw=raw[start : m.end()], gap=gap if start == 0 else "", sent=sid))
                start = m.end()
        units.append(_Unit(raw=raw[start:], gap=gap if start == 0 else "", sent=sid))
    for u in units:
        u.cited = list(dict.fromkeys(int(n) for n in _MARKER_RE.findall(u.raw)))
        u.body = re.sub(r"\s*\[\d{1,3}\]", "", u.raw).strip()
    return units


@dataclass(frozen=True)
class _Evidence:
    units: frozenset[str]
    tokens: frozenset[str]
    numbers: frozenset[str]


def _tokens(text: str) -> set[str]:
    """Folded jieba tokens (the BM25 tokenizer, with its user dictionary of names)."""
    from rag.text.tokens import tokenize  # lazy: jieba loads its dictionary on first use

    return set(tokenize(text))


def _evidence(hit: Hit) -> _Evidence:
    a = hit.article
    # The prompt shows outlet, date and title above each passage, so those are fair to repeat.
    text = hit.chunk.text + "\n" + " ".join([a.outlet, a.original_source, a.published or "", a.title])
    return _Evidence(frozenset(_units(text)), frozenset(_tokens(text)), frozenset(numbers(text)))


def _noise_re(hits: Sequence[Hit]) -> re.Pattern[str]:
    """Outlet names and framing words: cut out of a sentence before scoring, never evidence."""
    words = {fold(h.article.outlet) for h in hits if h.article.outlet} | set(_FRAMING)
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _score(body: str, ev: Sequence[_Evidence], noise: re.Pattern[str]) -> tuple[float, set[str]]:
    """(share of the sentence's content found in the evidence, numbers not found).

    Content is measured twice, as character bigrams and as jieba words (single characters and
    numbers aside); the better of the two counts, so neither word order nor a changed particle
    sinks a faithful sentence. Numbers are checked separately and strictly.
    """
    missing = {n for n in numbers(body) if not ev or n not in frozenset().union(*(e.numbers for e in ev))}
    clean = noise.sub("|", fold(body))
    mine = _units(clean)
    cjk = {u for u in mine if HAN_RUN_RE.fullmatch(u)}
    english = len(_ASCII_WORD_RE.findall(clean)) >= 3
    if english and cjk:
        mine = cjk  # an English sentence is judged by the Chinese it quotes
    words = {t for t in _tokens(clean) if len(t) > 1 and not _NUMBER_RE.fullmatch(t)}
    if english:
        words = {t for t in words if HAN_RUN_RE.search(t)}
    if not mine and not words:
        return (1.0 if numbers(body) else 0.0), missing
    have_units = frozenset().union(*(e.units for e in ev)) if ev else frozenset()
    have_words = frozenset().union(*(e.tokens for e in ev)) if ev else frozenset()
    by_units = len(mine & have_units) / len(mine) if mine else 0.0
    by_words = len(words & have_words) / len(words) if words else 0.0
    return max(by_units, by_words), missing


def _best_span(body: str, hit: Hit) -> tuple[int, int]:
    """The sentence (or two adjacent sentences) of the cited chunk that best supports `body`."""
    c = hit.chunk
    spans = [(c.start + s, c.start + e) for s, e in split_sentences(c.text)] or [(c.start, c.end)]
    want = _units(body) - _FRAMING_UNITS
    want_nums = numbers(body)
    text = hit.article.text

    def value(s: int, e: int) -> float:
        piece = text[s:e]
        got = len(want & _units(piece)) + 2 * len(want_nums & numbers(piece))
        return got / (len(want) + 2 * len(want_nums) or 1)

    scored = [(value(s, e), i) for i, (s, e) in enumerate(spans)]
    best, i = max(scored, key=lambda t: (t[0], -t[1]))
    s, e = spans[i]
    if i + 1 < len(spans) and value(s, spans[i + 1][1]) >= best + 0.15:
        e = spans[i + 1][1]
    return s, e


def verify_reply(
    reply: str,
    hits: Sequence[Hit],
    *,
    min_support: float = 0.5,
    repair_support: float = 0.6,
    embedder=None,
    min_cosine: float = 0.85,
    policy: Policy = "remove",
) -> VerifiedReply:
    """Check an LLM reply against the numbered passages `hits` ([1] is hits[0]).

    Args:
        min_support: share of a sentence's content bigrams that its cited passages must contain.
        repair_support: the (higher) share needed to give an uncited sentence a citation.
        embedder: optional; a sentence whose cosine to its passage is >= min_cosine needs only
            half of min_support lexically (paraphrase). Numbers must match either way.
        policy: "remove" drops unsupported sentences; "flag" keeps them, unmarked, tagged 〔未核实〕.
    """
    if policy not in ("remove", "flag"):
        raise ValueError(f"policy must be 'remove' or 'flag', got {policy!r}")
    evidence = [_evidence(h) for h in hits]
    noise = _noise_re(hits)
    units = _split_reply(reply)

    def supported(body: str, cited: list[int]) -> tuple[bool, float, str]:
        score, missing = _score(body, [evidence[n - 1] for n in cited], noise)
        if missing:
            return False, score, f"number {sorted(missing)[0]} not in the cited passage"
        if score >= min_support:
            return True, score, "ok"
        if embedder is not None and score >= min_support / 2 and _cosine(embedder, body, [hits[n - 1] for n in cited]) >= min_cosine:
            return True, score, "ok (embedding)"
        return False, score, "no support"

    checks: list[SentenceCheck] = []
    verdicts: list[str] = []  # per unit: "cited", "connective", "limitation", "flagged", "removed"
    cited_by: list[list[int]] = []
    removed = repaired = 0
    clauses_in = {u.sent: sum(v.sent == u.sent for v in units) for u in units}
    for u in units:
        valid = [n for n in u.cited if 1 <= n <= len(hits)]
        ok, score, reason = supported(u.body, valid) if valid else (False, 0.0, "no valid marker")
        if ok:
            # Drop cited passages that contribute nothing (a wrong extra marker).
            useful = [n for n in valid if _score(u.body, [evidence[n - 1]], noise)[0] >= min_support / 3]
            if len(useful) != len(u.cited):
                repaired += 1
            valid = useful or valid
        else:
            alt = _repair(u.body, evidence, noise, repair_support)
            if alt is not None:
                valid, ok, reason, repaired = [alt], True, "repaired", repaired + 1
        if ok:
            verdict = "cited"
        elif not numbers(u.body) and _REFUSAL_RE.search(u.body):
            verdict, ok, reason = "limitation", True, "limitation"  # "the passages do not say X": honest, no fact
        elif not u.cited and clauses_in[u.sent] > 1 and not numbers(u.body) and len(_units(u.body)) <= 12:
            verdict, ok, reason = "connective", True, "connective"  # "，两家说法不一致。" between cited clauses
        else:
            verdict = "flagged" if policy == "flag" else "removed"
            removed += 1
        checks.append(SentenceCheck(u.body, tuple(valid) if verdict == "cited" else (), ok, score, reason))
        verdicts.append(verdict)
        cited_by.append(valid if verdict == "cited" else [])

    # A connective clause stays only beside a cited clause of its own sentence.
    cited_sents = {u.sent for u, v in zip(units, verdicts) if v == "cited"}
    for i, u in enumerate(units):
        if verdicts[i] == "connective" and u.sent not in cited_sents:
            verdicts[i] = "dropped"
    if "cited" not in verdicts:
        refused = bool(_REFUSAL_RE.search(reply))
        return VerifiedReply("", (), tuple(checks), removed, repaired, refused=refused)

    # One citation per (passage, supporting span); numbered provisionally, renumbered at the end.
    citations: dict[tuple[str, int, int], Citation] = {}
    pieces: list[str] = []
    last_kept: dict[int, int] = {}  # sentence -> index in pieces of its last kept clause
    for i, u in enumerate(units):
        if verdicts[i] in ("removed", "dropped"):
            continue
        marks = []
        for n in cited_by[i]:
            hit = hits[n - 1]
            s, e = _best_span(u.body, hit)
            key = (hit.article.article_id, s, e)
            if key not in citations:
                citations[key] = make_citation(len(citations) + 1, hit.article, s, e)
            marks.append(f"[{citations[key].n}]")
        tail = "".join(marks) + ("〔未核实〕" if verdicts[i] == "flagged" else "")
        m = _TERMINAL_RE.search(u.body)
        core, end = (u.body[: m.start()], m.group(0)) if m else (u.body, "")
        if tail and len(_ASCII_WORD_RE.findall(fold(core))) >= 3 and re.search(r"[A-Za-z0-9\"”’']$", core):
            tail = " " + tail  # English style: "... people [2]."
        pieces.append(_joiner(u.gap, pieces) + core + tail + end)
        last_kept[u.sent] = len(pieces) - 1
    # A sentence whose final clause was removed still ends with its full stop.
    for sid, j in last_kept.items():
        final = [u for u in units if u.sent == sid][-1]
        m = _TERMINAL_RE.search(final.body)
        if m and not _TERMINAL_RE.search(pieces[j]):
            pieces[j] = pieces[j].rstrip("，,、；;：: ") + m.group(0)
    text, cits = renumber("".join(pieces), list(citations.values()))
    groups: dict[str, list[int]] = {}
    for c in cits:
        groups.setdefault(c.outlet or "", []).append(c.n)
    disagreement = len(groups) >= 2 and bool(_DISAGREE_RE.search(text))
    return VerifiedReply(
        text=text,
        citations=cits,
        checks=tuple(checks),
        removed=removed,
        repaired=repaired,
        refused=False,
        groups=tuple((o, tuple(ns)) for o, ns in groups.items()),
        disagreement=disagreement,
    )


def _joiner(gap: str, pieces: list[str]) -> str:
    if not pieces:
        return ""
    if "\n" in gap:
        return "\n"
    return " " if gap and gap.isspace() else ""


def _repair(body: str, evidence: Sequence[_Evidence], noise: re.Pattern[str], threshold: float) -> int | None:
    """The one passage (1-based) that clearly supports an uncited or mis-cited sentence, if any."""
    best, best_n = 0.0, None
    for n, ev in enumerate(evidence, start=1):
        score, missing = _score(body, [ev], noise)
        if not missing and score > best:
            best, best_n = score, n
    return best_n if best >= threshold else None


def _cosine(embedder, body: str, hits: Sequence[Hit]) -> float:
    """Best cosine between the sentence and the sentences of its cited passages (symmetric encoding)."""
    sents = [h.chunk.text[s:e] for h in hits for s, e in split_sentences(h.chunk.text)]
    if not sents:
        return 0.0
    vecs = embedder.encode_queries([body, *sents])  # "query:" on both sides: a symmetric comparison
    return float((vecs[1:] @ vecs[0]).max())
