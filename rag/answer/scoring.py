"""How well a sentence matches a question: key-term coverage and answer-type cues (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.compare import QUANTITY_RE, extract_quantities
from rag.answer.question import QType
from rag.answer.synonyms import aliases, synonyms

DATE_RE = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[日号]|[一二三四五六七八九十]+月|周[一二三四五六日末]|星期[一二三四五六日天]|当天|昨天|今天|\b20\d\d-\d\d-\d\d\b")
_DURATION_RE = re.compile(r"\d+\s*(天|周|个月|星期|小时)|[一二两三四五六七八九十]+(天|周|个月|星期)|一段时间|短期|短暂|很长时间|不会超过|直至|直到|持续到|结束|撤离|撤出|为期|停留")
_WHY_RE = re.compile(r"目的|企图|旨在|因为|由于|原因|导致|引发|引起|导火索|起因|诱因|因此|所以|为了|以便|源于|不满|抗议.*上涨|上涨|迫使|致使|使得|随着")
_WHO_RE = re.compile(r"总统|总理|部长|主席|发言人|领导人|外长|局长|官员|组织|政府|当局|部门|委员会|使馆|通讯社|公司|集团|说|表示|称|宣布")
NAME_RE = re.compile(r"[\u3400-\u9fff]{1,6}[·•\-－][\u3400-\u9fff]{1,8}|[\u3400-\u9fff]{2,8}[(（][a-z]{2,}")
_STANCE_RE = re.compile(r"称|说|表示|认为|指出|强调|声称|宣称|定性|形容|指责|谴责|批评|呼吁|警告|否认|承认|所谓|是一场|是一次")
FRACTION_RE = re.compile(r"[零一二两三四五六七八九十百\d.]+\s*分之\s*[零一二两三四五六七八九十百\d.]+")  # 三分之一, 百分之四十
# A figure whose unit comes after its noun: 约有160万少数民族居民.
BARE_MAGNITUDE_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s*[万亿](?![\d])")
WHERE_RE = re.compile(r"[\u3400-\u9fff]{1,6}(市|州|省|国|城|首都|机场|地区|广场|大楼|油田)|在[\u3400-\u9fff]{2,6}")


SYNONYM_CREDIT = 0.8  # a Cilin synonym (全球 for 全世界) counts for most, not all, of the word
_MODALS = set("会将要能可还已")


def term_weight(term: str) -> float:
    """Longer terms are more specific; digits are very specific; single characters barely count."""
    if "|" in term:  # alternatives (a translated English term): as specific as its best alternative
        return max(term_weight(t) for t in term.split("|"))
    if term.isdigit():
        return 1.5
    if len(term) == 2 and term[0] in _MODALS:  # jieba's 会待, 将在: a modal plus one verb
        return 0.4
    if len(term) == 2 and term_class(term) == "fragment":  # jieba glued two characters it did not know (5000人时 → 人时)
        return 0.4
    return 0.4 if len(term) == 1 else (1.0 if len(term) == 2 else 1.5)


def term_class(term: str) -> str:
    """rag.text.tokens.word_class of a key term. A dictionary translation of an English term ("a|b|c")
    is at most a "word": its absence says little, since the article may use another translation."""
    from rag.text.tokens import word_class

    return "word" if "|" in term else word_class(term)


def term_present(term: str, folded_text: str, paraphrase: bool = True) -> float:
    """1.0 when the term (or an alias) occurs; SYNONYM_CREDIT for a Cilin synonym (rag.answer.synonyms);
    partial credit for most of a long term's bigrams."""
    if "|" in term:  # a dictionary translation: its alternatives are already the paraphrases
        return max(term_present(t, folded_text, paraphrase=False) for t in term.split("|"))
    if term in folded_text or any(a in folded_text for a in aliases().get(term, ())):
        return 1.0
    if paraphrase and any(a in folded_text for a in synonyms(term)):
        return SYNONYM_CREDIT
    if term.isdigit() and len(term) >= 4 and _grouped(term) in folded_text:  # 8000 is also written 8,000
        return 1.0
    if len(term) >= 4 and not term.isascii():
        grams = [term[i : i + 2] for i in range(len(term) - 1)]
        share = sum(g in folded_text for g in grams) / len(grams)
        return 0.6 * share if share >= 0.5 else 0.0
    return 0.0


def _grouped(digits: str) -> str:
    return f"{int(digits):,}"


LONG_QUESTION_WEIGHT = 10.0  # about seven two-character terms
LONG_QUESTION_SHARE = 0.75


def coverage(terms: Sequence[str], folded_text: str) -> float:
    """Weighted share of the question's key terms found in a (folded) text, in [0, 1]."""
    if not terms:
        return 0.0
    total = sum(term_weight(t) for t in terms)
    got = sum(term_weight(t) * term_present(t, folded_text) for t in terms)
    # A long question (a reader's paraphrase with many words) is not echoed in full by the sentence
    # that answers it: past LONG_QUESTION_WEIGHT, coverage is counted against 75 % of its terms.
    return min(1.0, got / max(min(total, LONG_QUESTION_WEIGHT), LONG_QUESTION_SHARE * total))


def has_quantity(folded_text: str) -> bool:
    """A precise figure with a unit (数十人 and other vague counts do not count)."""
    return bool(QUANTITY_RE.search(folded_text)) and bool(extract_quantities(folded_text))


_SOURCE_RE = re.compile(r"《[^》]{2,15}》|据[^，。]{2,15}(报道|报导|消息|称)|援引|引述|[a-z\u3400-\u9fff]{2,10}(报道|报导|报导称|消息)[，,:：]")


def source_cue(folded_text: str) -> float:
    """For "which outlet said …": 1.0 when the sentence names where it comes from (《产经新闻》…报道), else 0.5.

    The article's own outlet always frames the quote, so a sentence without a source still answers.
    """
    return 1.0 if _SOURCE_RE.search(folded_text) else 0.5


def type_match(qtype: QType, folded_text: str) -> float:
    """How clearly a sentence contains the kind of thing asked for, in [0, 1] (0 for "what")."""
    if qtype == "number":
        if has_quantity(folded_text) or FRACTION_RE.search(folded_text) or BARE_MAGNITUDE_RE.search(folded_text):
            return 1.0
        return 0.3 if re.search(r"\d", folded_text) else 0.0
    if qtype == "date":
        return 1.0 if DATE_RE.search(folded_text) else 0.0
    if qtype == "duration":
        return 1.0 if _DURATION_RE.search(folded_text) else 0.0
    if qtype == "why":
        return 1.0 if _WHY_RE.search(folded_text) else 0.0
    if qtype == "who":  # a full transliterated name (安娜·彼得罗娃) is the clearest sign
        return 1.0 if NAME_RE.search(folded_text) else (0.5 if _WHO_RE.search(folded_text) else 0.0)
    if qtype == "where":
        return 0.7 if WHERE_RE.search(folded_text) else 0.0
    if qtype == "stance":  # what someone said about it; a quoted label (“未遂的政变”) is the clearest sign
        if not _STANCE_RE.search(folded_text):
            return 0.0
        return 1.0 if re.search(r"[“「『\"][^”」』\"]{2,12}[”」』\"]", folded_text) else 0.6
    return 0.0
