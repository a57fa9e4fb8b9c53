"""What a question asks: its language, answer type, key terms, and whether it compares outlets.

Pure and cheap (a jieba cut of one short string). Key terms are folded with
`rag.text.fold.fold`, so 烏克蘭 and 乌克兰 are the same term, and question words,
particles and "meta" words about reporting (媒体, 报道, 说法 ...) are dropped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from rag.answer.synonyms import aliases, synonyms
from rag.text.fold import fold
from rag.text.lang import HAN_RE, detect_lang

QType = Literal["number", "date", "duration", "who", "where", "why", "stance", "what"]

_LATIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")

# Order matters: the first matching cue decides (日期 before 几, 多久 before 多少).
_ZH_TYPE_CUES: tuple[tuple[QType, re.Pattern[str]], ...] = (
    ("date", re.compile(r"何时|哪天|哪一天|什么时候|什么时间|哪年|哪一年|几月|几号|几日|哪个月|日期|哪日")),
    ("duration", re.compile(r"多久|多长时间|多长的时间|待多长|持续多|几天|几周|几个月")),
    ("number", re.compile(r"多长|多宽|多深|多少|几[个名位人次座家辆架万千百十]?|多大|多高|多重|多远|人数|数量|数字|比例|百分之几|规模")),
    ("why", re.compile(r"为什么|为何|原因|何故|怎么会|起因|导火索|动机")),
    ("where", re.compile(r"哪里|哪儿|何地|何处|在哪|哪座城市|哪个城市|哪个地方|什么地方|哪个国家|哪国")),
    ("who", re.compile(r"谁|叫什么|什么名字|姓名|哪位|哪家|哪个组织|哪些人|什么人|哪个机构|哪一方|何人|哪个人")),
    # How someone characterised or judged something: answered by what they said.
    ("stance", re.compile(r"定性|看法|评价|如何看待|怎么看|怎样看|态度|立场|表态|回应|说了什么|怎么说|如何形容|称之为")),
)
_EN_TYPE_CUES: tuple[tuple[QType, re.Pattern[str]], ...] = (
    ("date", re.compile(r"\bwhen\b|\bwhat date\b|\bwhich day\b|\bwhat day\b|\bwhich date\b|\bwhat year\b", re.I)),
    ("duration", re.compile(r"\bhow long\b|\bfor how many (days|weeks|months)\b", re.I)),
    ("number", re.compile(r"\bhow (many|much)\b|\bnumber of\b|\bwhat (share|percentage|proportion)\b", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat (caused|triggered|sparked)\b|\breason\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\bwhich (city|country|place)\b", re.I)),
    ("who", re.compile(r"\bwho(m|se)?\b|\bwhich (person|organi[sz]ation|official|leader|outlet|agency)\b", re.I)),
    ("stance", re.compile(r"\b(characteri[sz]e[ds]?|describe[ds]?|view|stance|position on|react(ed)?|respond(ed)?)\b", re.I)),
)
# "How do the outlets differ / agree?" -> side-by-side answer.
_ZH_COMPARE_RE = re.compile(r"各(家)?媒体|各家|不同媒体|媒体之间|说法(是否)?一致|一致吗|是否一致|有何不同|有什么不同|有何差异|有什么差异|分歧|如何报道|怎么报道|怎样报道|各方(的)?报道|对比"
                            r"|对得上|能对上|对不上|(是|说的是)?(一样|相同)(的)?吗|是否(一样|相同)|一样不一样|同一个|各(自|是)|两边|差(了|得)?(多少|多|不少)")
_EN_COMPARE_RE = re.compile(r"\b(outlets?|media|sources|reports?)\b.*\b(differ|agree|disagree|compare|consistent|report(ed)? (it|this|the))\b|\bdiffer(ent)? (outlets|media)\b|\bcompare\b", re.I)
# Words that say *how* to answer a comparison, not what it is about; kept out of retrieval.
_ZH_COMPARE_META_RE = re.compile(r"各(家|个)?(媒体|网站|报纸|方)|不同媒体|媒体之间|的?说法|报道的?|是否一致|一致吗|有何不同|有什么不同|有何差异|有什么差异|如何|怎么|怎样|对比|分别|之间|和|与|吗|？|\?"
                                 r"|对得上|能对上|对不上|一样|相同|两边|各自|各是")
# "Which outlet said ...?" -> name the outlet first.
_ZH_ATTRIB_RE = re.compile(r"哪(家|个|些)(媒体|网站|报纸|通讯社|电视台|网)|谁报道|哪家.*报道|据哪|出自哪|哪个.*报道了")
_EN_ATTRIB_RE = re.compile(r"\bwhich (outlet|media|news|newspaper|agency|source|site|channel)s?\b|\bwho reported\b", re.I)

# Tokens that carry no content for matching: particles, pronouns, question words, and words
# about reporting itself (the question "哪家媒体报道了X" is about X, not about 报道).
_ZH_STOP = frozenset(
    """
    的 了 是 在 和 与 及 或 吗 呢 吧 啊 呀 么 嘛 哦 之 而 且 并 但 也 都 还 又 就 才 曾 过 着 地 得 所 以 于 为 被 把 对 向 从 到 由 给 让 使 跟 同
    什么 怎么 怎样 怎么样 如何 哪 哪些 哪个 哪家 哪位 哪里 哪儿 多少 几 多久 多长 多长时间 谁 为什么 为何 何时 何地 何 什么时候 哪天 哪一天 哪年
    请问 一下 有 有没有 没有 没 这 那 这个 那个 这些 那些 其 他 她 它 他们 她们 它们 我 你 我们 你们 该 此 会 能 要 将 可以 可能 是否 是不是
    称 说 表示 报道 报导 形容 描述 描写 说成 据 媒体 各 各家 一致 不同 说法 分别 如何报道 媒体报道 哪家媒体 提到 提及 消息 相关 情况 方面 问题 当时 最终 目前 现在
    定性 看法 评价 看待 态度 立场 表态 回应 规模 最初 最早 起初 当初 首先 后来 最后 具体
    人数 数量 数字 总数 是因为 因为 有何 有什么 中有 这次 这一 那里 这里 哪支 哪座 一个 叫 叫做 名字 姓名 称为
    人 个 名 位 次 年 月 日 号 时候 时间 前 因 近 约 逾 超过 左右 大约 造成 发生 进行 情况下 多 大 最 更 很 较 给出 给 出 呢 又 再 还有 那么 那 所以 另外 以及 还是 哪些人 之间 啥 咋 几个 几名 有关 关于
    """.split()
)
_EN_STOP = frozenset(
    """
    a an the of in on at to for from by with about as and or but is are was were be been being do does did done have has had
    what which who whom whose when where why how many much long did does according said say says report reported reports
    outlet outlets media news source sources differ different agree disagree compare between their they them it its this that
    these those there here he she his her him any some all each both than then so such into during after before over not no
    i you we our your me my can could would should will shall may might must tell give people number many
    """.split()
)
# Pronouns and demonstratives that make a question lean on the previous one.
ZH_ANAPHORA_RE = re.compile(r"他们|她们|它们|他|她|它|该国|该组织|该部队|这些人|此事|这件事|这一事件|那里|当地|此人|对方|其")
EN_ANAPHORA_RE = re.compile(r"\b(they|them|their|it|its|he|she|his|her|this|that|these|those|there)\b", re.I)


@dataclass(frozen=True)
class QuestionInfo:
    """The analysed question.

    Attributes:
        text: the question as given.
        lang: "zh" or "en" (by script: any CJK character makes it "zh").
        qtype: what kind of answer is asked for.
        terms: folded content terms, in question order, deduplicated.
        compare: the question asks how outlets' accounts differ.
        attribution: the question asks which outlet said something.
        focus: the terms naming what is asked about in "X的Y是什么/多少/谁…" (the Y); a
            passage that never mentions Y cannot answer (张伟的**妻子**叫什么名字).
        answer_type_terms: words that describe the answer rather than constrain the passage
            (哪位**高官**, 哪家**日本报纸**): the answer is a name, and articles rarely say 高官.
        context: terms a follow-up borrowed from earlier questions (rag.answer.extractive.analyze):
            the passage should have them; the quoted sentence need not repeat them.
    """

    text: str
    lang: Literal["zh", "en"]
    qtype: QType
    terms: tuple[str, ...]
    compare: bool = False
    attribution: bool = False
    focus: tuple[str, ...] = ()
    answer_type_terms: tuple[str, ...] = ()
    context: tuple[str, ...] = ()


def _tokens(text: str) -> list[str]:
    # The retriever's tokenizer (jieba + the project's user dictionary, over folded text), so
    # names such as 普京 and 美国之音 stay whole and terms line up with BM25's.
    from rag.text.tokens import tokenize

    return tokenize(text)


def warm_up() -> None:
    """Load jieba's dictionary, word classes, part-of-speech tagger and the synonym table now
    rather than on the first question."""

    from rag.text.tokens import pos_tag, word_class

    _tokens("预热")
    word_class("预热")
    pos_tag("预热一下")
    synonyms("预热")


def detect_qtype(text: str, lang: Literal["zh", "en"] | None = None) -> QType:
    """The answer type a question asks for; "what" when no cue matches.

    Example:
        >>> detect_qtype("救援队派了多少人？")
        'number'
        >>> detect_qtype("When did the state of emergency end?")
        'date'
    """
    lang = lang or detect_lang(text)
    folded = fold(text)
    for qtype, pattern in _ZH_TYPE_CUES if lang == "zh" else _EN_TYPE_CUES:
        if pattern.search(folded):
            return qtype
    return "what"


def _is_content(token: str) -> bool:
    token = token.strip()
    if not token or not any(ch.isalnum() for ch in token):
        return False
    return token not in _ZH_STOP and token.lower() not in _EN_STOP


def key_terms(text: str) -> tuple[str, ...]:
    """Folded content terms of `text` (question words, particles and stopwords dropped).

    Terms are the retriever's tokens (rag.text.tokens.tokenize), lower-cased.

    Example:
        >>> key_terms("烏克蘭當局逮捕了多少人？")
        ('乌克兰', '当局', '逮捕')
    """
    return _key_terms(_tokens(text))


def _key_terms(tokens: list[str]) -> tuple[str, ...]:
    terms = [tok for tok in tokens if _is_content(tok)]
    out: list[str] = []
    for term in terms:
        term = term.lower()
        if term not in out and (len(term) > 1 or HAN_RE.match(term) or term.isdigit()):
            out.append(term)
    return tuple(out)


_WH_VALUE = frozenset("什么 多少 谁 几".split())  # words asking for a value (not 为什么/如何: a reason or a manner)


def focus_terms(text: str) -> tuple[str, ...]:
    """The asked-about thing Y of "X的Y是什么/多少/谁…?" (pure): the run of nouns right after the last 的.

    A passage that never names Y cannot give its value (张伟的**妻子**叫什么名字).

    Example:
        >>> focus_terms("张伟的妻子叫什么名字？")
        ('妻子',)
        >>> focus_terms("救援队派了多少人？")
        ()
    """
    return _focus(_tokens(text))


def _focus(tokens: list[str]) -> tuple[str, ...]:
    from rag.text.tokens import word_class

    wh = next((i for i, t in enumerate(tokens) if t in _WH_VALUE or t.startswith(("哪", "多少"))), None)
    if wh is None:
        return ()
    de = max((i for i in range(wh) if tokens[i] == "的"), default=None)
    if de is None:
        return ()
    run: list[str] = []
    end = wh  # where the noun phrase ends
    for i in range(de + 1, wh):
        t = tokens[i]
        if len(t) >= 2 and word_class(t) == "noun" and _is_content(t):
            run.append(t.lower())
        elif run:
            end = i  # the noun phrase ended (液化气价格|从每升…)
            break
    if any(t not in _FOCUS_GAP for t in tokens[end:wh]):
        # Y is not what is asked when a verb phrase follows it: in "针对X的局势对公民采取了什么措施"
        # the question is about 措施, not 局势.
        return ()
    return tuple(dict.fromkeys(run))


# What may stand between the asked-about Y and the question word in "X的Y(是)什么/多少/谁".
_FOCUS_GAP = frozenset("是 有 为 叫 叫做 约 大约 大概 达 达到 一共 共 总共 到底 究竟 具体 都 分别 占 还 又 是不是 有没有 能 会".split())


_TYPE_PHRASE_END = frozenset("在 把 被 对 向 于 从 曾 已 也 都 是 说 称 报道 报导 表示 宣布 援引 引述 发布 披露 刊登 认为 驳斥 指责".split())


def answer_type_terms(text: str) -> tuple[str, ...]:
    """The nouns right after 哪位/哪家/哪个/哪些 (up to three tokens): they say what kind of thing the answer is (pure).

    Example:
        >>> answer_type_terms("哪位乌克兰高官在国家电视台上发表讲话？")
        ('乌克兰', '高官')
    """
    return _answer_type(_tokens(text))


def _answer_type(tokens: list[str]) -> tuple[str, ...]:
    for i, t in enumerate(tokens):
        if t.startswith("哪") and len(t) >= 2 and t not in ("哪里", "哪儿"):
            run = []
            for nxt in tokens[i + 1 : i + 4]:
                if nxt in _TYPE_PHRASE_END or not _is_content(nxt):
                    break
                run.append(nxt.lower())
            return tuple(run)
    return ()


@functools.lru_cache(maxsize=512)
def analyze_question(text: str) -> QuestionInfo:
    """Analyse one question (zh or en); cached, since retrieval and answering both ask (pure).

    Example:
        >>> q = analyze_question("哪家媒体报道了近8000人被捕？")
        >>> q.qtype, q.attribution, q.terms
        ('who', True, ('8000', '被捕'))
    """
    lang = detect_lang(text)
    folded = fold(text)
    if lang == "zh":
        compare = bool(_ZH_COMPARE_RE.search(folded))
        attribution = bool(_ZH_ATTRIB_RE.search(folded))
    else:
        compare = bool(_EN_COMPARE_RE.search(folded))
        attribution = bool(_EN_ATTRIB_RE.search(folded))
    tokens = _tokens(text)
    return QuestionInfo(
        text=text,
        lang=lang,
        qtype=detect_qtype(text, lang),
        terms=_key_terms(tokens),
        compare=compare and not attribution,
        attribution=attribution,
        focus=_focus(tokens) if lang == "zh" else (),
        answer_type_terms=_answer_type(tokens) if lang == "zh" else (),
    )


def retrieval_text(question: str) -> str:
    """What to search for: a comparison question loses its phrasing and gains synonyms (pure).

    Example:
        >>> retrieval_text("各媒体报道的被捕人数一致吗？")
        '被捕人数 逮捕 拘留 拘捕'
    """
    q = analyze_question(question)
    if q.lang != "zh" or not q.compare:
        return question
    stripped = " ".join(_ZH_COMPARE_META_RE.sub(" ", fold(question)).split())
    text = stripped if len(stripped) >= 2 else question
    # Outlets word the same fact differently (被捕 / 逮捕 / 拘留): the synonym table widens the search.
    # (Measured: doing this for every question lost more than it gained, so comparisons only.)


    extra = [a for t in key_terms(text) for a in aliases().get(t, ()) if a not in text]
    return " ".join([text, *dict.fromkeys(extra)]) if extra else text
