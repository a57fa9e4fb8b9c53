"""Per-outlet grouping and detection of outlets that give different figures for the same thing.

A figure is a number with a unit (人, 名, 件, 欧元 ...), optionally hedged (约, 近, 逾, 超过) and
scaled (万, 亿). Two figures are about the same quantity when they share a unit class and a
context concept (arrests, deaths, troops ...) or a content word found near the number.
Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.text.fold import fold

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}

_UNITS = r"人次|人|名|位|件|项|起|辆|家|吨|架次|架|座|枚|所|个|天|周|星期|公里|千米|欧元|美元|美金|英镑|日元|港元|人民币|坚戈|卢布|元|%|％"
QUANTITY_RE = re.compile(
    r"(?P<approx>将近|接近|大约|至少|超过|多达|不到|近|约|逾|超|上)?\s*"
    r"(?P<num>\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)"
    r"\s*(?P<mag>万|亿|千)?\s*(?P<extra>多|余)?\s*(?P<unit>" + _UNITS + r")"
)
# Words near a figure, mapped to the concept they name, so 被捕/逮捕/拘留 compare as one thing.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "arrest": ("逮捕", "被捕", "拘留", "拘捕", "羁押", "抓捕", "被抓", "扣押"),
    "death": ("死亡", "丧生", "遇难", "被杀", "身亡", "丧命", "死于", "死"),
    "injury": ("受伤", "伤者", "负伤"),
    "troops": ("士兵", "军人", "部队", "维和", "军队", "官兵", "兵力", "空降兵", "出兵", "派兵"),
    "equipment": ("装备", "军事装备"),
    "crowd": ("示威", "抗议", "集会", "聚集", "参加"),
    "loss": ("损失",),
}
_UNIT_CLASS = {"人": "person", "名": "person", "位": "person", "人次": "person"}
_MONEY_UNITS = frozenset("欧元 美元 美金 英镑 日元 港元 人民币 坚戈 卢布 元".split())
_ASKED_UNIT_RE = re.compile(r"(?:多少|几)\s*(?P<unit>" + _UNITS + r")")
_ASKED_SHARE_RE = re.compile(r"百分之多少|百分之几|百分比|多大比例|多少个百分点|what percentage|what share")
_ASKED_MONEY_RE = re.compile(r"多少钱|花了多少|价值多少|金额|价格是多少|售价|多少资金")


def asked_unit_class(question: str) -> str | None:
    """The unit class a 多少/几 question counts in (多少项 -> "项", 多少名/多少人 -> "person",
    多少钱 -> "money", 百分之多少 -> "%"); None if unsaid."""
    folded = fold(question)
    if _ASKED_MONEY_RE.search(folded):
        return "money"
    if _ASKED_SHARE_RE.search(folded):
        return "%"
    m = _ASKED_UNIT_RE.search(folded)
    return _UNIT_CLASS.get(m.group("unit"), m.group("unit")) if m else None


@dataclass(frozen=True)
class Quantity:
    """One figure found in a text: value, hedge, unit, its span and the concepts around it."""

    value: float
    approx: str
    unit: str
    start: int
    end: int
    surface: str
    concepts: frozenset[str]

    @property
    def unit_class(self) -> str:
        return _UNIT_CLASS.get(self.unit, self.unit)

    def counts_in(self, unit_class: str | None) -> bool:
        """Whether this figure is of the unit class a question asks for (any, when None)."""
        if unit_class is None:
            return True
        if unit_class == "money":
            return self.unit in _MONEY_UNITS
        if unit_class == "%":
            return self.unit in ("%", "％")
        return self.unit_class == unit_class


def parse_chinese_number(s: str) -> float | None:
    """Value of a Chinese numeral such as 三, 十二, 两千, 一百零五; None when it is not one.

    Example:
        >>> parse_chinese_number("两千三百"), parse_chinese_number("十五")
        (2300.0, 15.0)
    """
    if not s or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in s):
        return None
    total, digit = 0, None
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch] if digit is None else digit * 10 + _CN_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
    return float(total + (digit or 0))


def _number_value(raw: str) -> float | None:
    raw = raw.replace(",", "").replace("，", "")
    try:
        return float(raw)
    except ValueError:
        return parse_chinese_number(raw)


def _concepts(window: str) -> frozenset[str]:
    return frozenset(name for name, words in _CONCEPTS.items() if any(w in window for w in words))


_RANGE_BEFORE_RE = re.compile(r"\d\s*(至|到|~|-|—|－)\s*$")
_CLAUSE_BREAK = "，,。；;！？!?：:\n"


def _clause_around(text: str, start: int, end: int, back: int = 40, ahead: int = 20) -> str:
    """The clause holding text[start:end] (bounded), where a figure's subject is named."""
    lo = start
    while lo > 0 and start - lo < back and text[lo - 1] not in _CLAUSE_BREAK:
        lo -= 1
    hi = end
    while hi < len(text) and hi - end < ahead and text[hi] not in _CLAUSE_BREAK:
        hi += 1
    return text[lo:hi]


def extract_quantities(text: str) -> list[Quantity]:
    """Figures with units in `text` (dates such as 1月10日 have no unit and are not figures).

    Example:
        >>> [(q.value, q.approx, q.unit, sorted(q.concepts)) for q in extract_quantities("当局已逮捕近 8000 人")]
        [(8000.0, '近', '人', ['arrest'])]
        >>> extract_quantities("约2万人聚集")[0].value
        20000.0
    """
    folded = fold(text)
    out: list[Quantity] = []
    for m in QUANTITY_RE.finditer(folded):
        num = m.group("num")
        # A lone Chinese numeral word like 一 in 一名 is a count; 十 in 十分 is not: require a unit (done by regex).
        value = _number_value(num)
        if value is None:
            continue
        before = folded[m.start("num") - 1] if m.start("num") > 0 else ""
        if before == "第":  # ordinal: 第2名
            continue
        if before in "数几" and not num[0].isdigit():  # vague: 数十人, 几百名
            continue
        if _RANGE_BEFORE_RE.search(folded, max(0, m.start() - 6), m.start()):  # upper end of 2000至3000名
            continue
        if m.group("mag"):
            value *= {"万": 10_000, "亿": 100_000_000, "千": 1000}[m.group("mag")]
        window = _clause_around(folded, m.start(), m.end())
        out.append(
            Quantity(
                value=value,
                approx=m.group("approx") or ("多" if m.group("extra") else ""),
                unit=m.group("unit"),
                start=m.start(),
                end=m.end(),
                surface=text[m.start() : m.end()].strip(),
                concepts=_concepts(window),
            )
        )
    return out


def same_quantity(a: Quantity, b: Quantity) -> bool:
    """Whether two figures measure the same thing: same unit class and the same context concepts.

    Equality, not overlap: 16名安全部队成员被杀 {death, troops} is not 2030名士兵 {troops}.
    """
    return a.unit_class == b.unit_class and bool(a.concepts) and a.concepts == b.concepts


def figures_differ(a: Quantity, b: Quantity) -> bool:
    """Whether two figures of the same quantity disagree; hedged figures get 5% slack.

    Example:
        >>> q = lambda s: extract_quantities(s)[0]
        >>> figures_differ(q("近8000人被捕"), q("7,939人被捕")), figures_differ(q("约5800人被捕"), q("近8000人被捕"))
        (False, True)
    """
    if a.value == b.value:
        return False
    tolerance = 0.05 if (a.approx or b.approx) else 0.0
    return abs(a.value - b.value) > tolerance * max(a.value, b.value)


@dataclass(frozen=True)
class Disagreement:
    """Two items (by index in the caller's list) whose figures for one quantity differ."""

    first: int
    second: int
    concept: str
    first_surface: str
    second_surface: str


def find_disagreements(texts: Sequence[str], outlets: Sequence[str], focus: Iterable[str] = ()) -> list[Disagreement]:
    """Pairs of texts from different outlets that give different figures for the same quantity.

    Args:
        texts: candidate sentences.
        outlets: outlet of each text (same length).
        focus: if given, only figures whose concepts intersect these count (e.g. the concepts
            the question is about).

    Example:
        >>> d = find_disagreements(["当局逮捕了近8000人。", "约5800人被捕。"], ["半岛电视台", "GNews"])
        >>> (d[0].first, d[0].second, d[0].concept)
        (0, 1, 'arrest')
    """
    focus = frozenset(focus)
    figures = [extract_quantities(t) for t in texts]
    found: list[Disagreement] = []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if outlets[i] == outlets[j]:
                continue
            d = _disagree(figures[i], figures[j], focus)
            if d:
                found.append(Disagreement(i, j, *d))
    return found


def _disagree(xs: Sequence[Quantity], ys: Sequence[Quantity], focus: frozenset[str]) -> tuple[str, str, str] | None:
    """(concept, surface in xs, surface in ys) when, for some quantity both texts give, no figure
    of one agrees with any figure of the other (164 and 103 deaths vs 164 deaths is agreement)."""
    for a in xs:
        if focus and not (a.concepts & focus):
            continue
        same = [b for b in ys if same_quantity(a, b)]
        if not same:
            continue
        mine = [x for x in xs if same_quantity(a, x)]
        if any(not figures_differ(x, b) for x in mine for b in same):
            continue
        return sorted(a.concepts)[0], a.surface, same[0].surface
    return None


def quote_disagreement(chosen: list, pool: Sequence, question: str, best_text: str,
                       text_of: Callable[[Any], str], outlet_of: Callable[[Any], str]) -> bool:
    """Add to `chosen` (in place) two sentences of `pool` from different outlets that give different
    figures for the asked quantity; True when there were such.

    The asked quantity is what the question names (被捕 -> arrest), else what the best sentence's
    figures measure. Any sentence of `pool` with such a figure takes part, even one that repeats
    few question words ("约5800人被捕"): the figure is the evidence. Sentences already chosen come
    first, so they are the ones compared.
    """
    focus = concepts_of(question) or frozenset().union(*(x.concepts for x in extract_quantities(best_text)))
    if not focus:
        return False
    wide = [s for s in pool if any(x.concepts & focus for x in extract_quantities(text_of(s)))]
    ordered = [s for s in chosen if s in wide] + [s for s in wide if s not in chosen]
    found = find_disagreements([text_of(s) for s in ordered], [outlet_of(s) for s in ordered], focus)
    if not found:
        return False
    for s in (ordered[found[0].first], ordered[found[0].second]):
        if s not in chosen:
            chosen.append(s)
    return True


def concepts_of(text: str) -> frozenset[str]:
    """Quantity concepts a text (e.g. a question) mentions: 被捕 -> {"arrest"}."""
    return _concepts(fold(text))


def group_by_outlet(outlets: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Indices grouped by outlet, groups in order of first appearance.

    Example:
        >>> group_by_outlet(["A", "B", "A"])
        [('A', [0, 2]), ('B', [1])]
    """
    groups: dict[str, list[int]] = {}
    for i, outlet in enumerate(outlets):
        groups.setdefault(outlet, []).append(i)
    return list(groups.items())
