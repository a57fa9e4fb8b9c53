"""Pure unit tests of the extractive answerer on hand-built hits (no index, no model)."""

from __future__ import annotations

import re

import pytest

from rag.answer import (
    REFUSAL_TEXT,
    analyze_question,
    answer_extractive,
    make_citation,
    markers,
    renumber,
    rewrite_query,
    verify_citation,
)
from rag.answer.compare import extract_quantities, find_disagreements, parse_chinese_number
from rag.answer.question import detect_qtype
from rag.chunk import chunk_article
from rag.types import Answer, Article, Hit

# Sentences copied verbatim from the seed articles.
ALJAZEERA = Article(
    article_id="aj",
    title="哈萨克斯坦：托卡耶夫总统谈及挫败政变与普京称外国部队将短暂停留",
    outlet="半岛电视台",
    text=(
        "托卡耶夫补充说，大规模的“反恐”行动将很快与集体安全条约组织部队共同结束，他并表示，其中包括 2030 名士兵和 250 件装备。\n\n"
        "哈萨克斯坦总统的一位发言人周日表示，他相信，集体安全条约组织部队不会在哈萨克斯坦国停留很长时间，他们的存在可能不会超过一周，这是应托卡耶夫的要求。\n\n"
        "有关现场局势，哈萨克斯坦当局周一表示，他们已经逮捕了与该国长达一周骚乱有关的近 8000 人，共和国总统补充说，当局在最近发生了自哈萨克斯坦1989 年独立以来前所未有的事件，造成 164 人死亡。"
    ),
    source_path="seeds/004.txt",
    format="C",
    published="2022-01-10",
    url="https://chinese.aljazeera.net/x",
)
GNEWS = Article(
    article_id="gn",
    title="哈萨克斯坦政变未遂：王毅栽赃欧美凸显大国较量",
    outlet="GNews",
    text=(
        "该消息称，总统托卡耶夫控制了国家安全委员会，并主持召开会议，听取了检察机关、和内务部的报告。"
        "强调“强力部门将采取一切必要措施，全面恢复国家公共秩序和安全。”截至目前，约5800人被捕，其中有相当数量的外国人。”"
    ),
    source_path="seeds/000.txt",
    format="A",
    published="2022-01-10",
)
GUANCHA = Article(
    article_id="gc",
    title="托卡耶夫定性：未遂政变",
    outlet="观察者网",
    text=(
        "托卡耶夫说，一场大规模的反恐行动将“很快结束”，集安组织出动了2030名士兵和250件军事装备。\n\n"
        "哈萨克斯坦所有地区的局势目前已稳定下来，公共设施和其他服务正在恢复。哈萨克斯坦卫生部9日表示，这场骚乱已导致164人死亡，其中在阿拉木图有103人丧生。"
    ),
    source_path="seeds/003.txt",
    format="C",
    published="2022-01-10",
)


def hits_of(*articles: Article) -> list[Hit]:
    hits = []
    for a in articles:
        for c in chunk_article(a):
            hits.append(Hit(rank=len(hits) + 1, score=1.0 / (len(hits) + 1), chunk=c, article=a))
    return hits


def check_invariants(answer: Answer, articles: dict[str, Article]) -> None:
    used = set(markers(answer.text))
    listed = {c.n for c in answer.citations}
    assert used == listed, (answer.text, listed)
    assert [c.n for c in answer.citations] == list(range(1, len(listed) + 1))
    for c in answer.citations:
        assert articles[c.article_id].text[c.start : c.end] == c.quote
        assert verify_citation(c, articles[c.article_id])


def one_article(article_id: str, title: str, text: str, published: str, outlet: str = "GNews", format: str = "A") -> Article:
    """A small article for a single answering test."""
    return Article(article_id=article_id, title=title, outlet=outlet, source_path=f"tests/{article_id}.md", format=format, published=published, text=text)


ARTICLES = {a.article_id: a for a in (ALJAZEERA, GNEWS, GUANCHA)}


# --- citations -------------------------------------------------------------------------------


def test_make_citation_quotes_article_span():
    c = make_citation(3, ALJAZEERA, 0, 10)
    assert c.quote == ALJAZEERA.text[:10] and c.n == 3 and c.outlet == "半岛电视台" and c.published == "2022-01-10"


def test_make_citation_rejects_bad_span():
    with pytest.raises(ValueError, match="outside article"):
        make_citation(1, ALJAZEERA, 10, 10_000)


def test_renumber_orders_by_first_use_and_drops_unused_and_unknown():
    a, b, c = make_citation(4, GNEWS, 0, 5), make_citation(7, GNEWS, 10, 15), make_citation(9, GNEWS, 20, 25)
    text, cites = renumber("乙[7]甲[4][12]乙again[7]", [a, b, c])
    assert text == "乙[1]甲[2]乙again[1]"
    assert [(x.n, x.start) for x in cites] == [(1, 10), (2, 0)]


# --- question analysis -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "question,qtype",
    [
        ("集安组织派了多少兵？", "number"),
        ("紧急状态持续到什么时候？", "date"),
        ("他们会待多久？", "duration"),
        ("托卡耶夫任命谁为代理总理？", "who"),
        ("为什么哈萨克斯坦爆发抗议？", "why"),
        ("集安組織出動了多少名士兵？", "number"),
        ("How many soldiers did the CSTO send?", "number"),
        ("When will the state of emergency end?", "date"),
        ("Who was appointed acting prime minister?", "who"),
        ("Why did the protests start?", "why"),
    ],
)
def test_question_types(question, qtype):
    assert detect_qtype(question) == qtype


def test_traditional_question_terms_are_folded():
    assert analyze_question("哈薩克斯坦衛生部說騷亂導致多少人死亡？").terms == analyze_question("哈萨克斯坦卫生部说骚乱导致多少人死亡？").terms


def test_compare_and_attribution_flags():
    assert analyze_question("各媒体报道的被捕人数一致吗？").compare
    assert analyze_question("各家媒体如何报道集安组织出兵？").compare
    q = analyze_question("哪家媒体报道了近8000人被捕？")
    assert q.attribution and not q.compare and "8000" in q.terms


# --- figures ---------------------------------------------------------------------------------


def test_quantities():
    q = [x for x in extract_quantities("当局已经逮捕了与该国长达一周骚乱有关的近 8000 人") if x.unit == "人"][0]
    assert (q.value, q.approx, q.unit, q.concepts) == (8000.0, "近", "人", frozenset({"arrest"}))
    assert extract_quantities("约2万人组成的团体")[0].value == 20000
    assert extract_quantities("哈萨克骚乱7,939人被捕")[0].value == 7939
    assert extract_quantities("造成了数十人死亡") == []  # vague
    assert extract_quantities("2022年1月10日") == []  # a date is not a figure
    assert parse_chinese_number("一百零五") == 105 and parse_chinese_number("两千") == 2000


def test_disagreement_needs_different_outlets_and_different_figures():
    texts = ["当局逮捕了近 8000 人。", "截至目前，约5800人被捕。", "哈萨克骚乱7,939人被捕。"]
    assert find_disagreements(texts[:2], ["半岛电视台", "GNews"])
    assert not find_disagreements(texts[:2], ["GNews", "GNews"])
    assert not find_disagreements([texts[0], texts[2]], ["半岛电视台", "GNews"])  # 近8000 ~ 7939
    # One text gives 164 and 103 deaths, the other 164: they agree.
    assert not find_disagreements(["骚乱已导致164人死亡，其中在阿拉木图有103人丧生。", "造成 164 人死亡。"], ["观察者网", "半岛电视台"])


# --- follow-ups ------------------------------------------------------------------------------


def test_rewrite_query_resolves_pronoun_from_previous_question():
    assert rewrite_query("他们会待多久？", ["集安组织派了多少兵？"]) == "集安组织会待多久？"
    assert rewrite_query("他们会待多久？", [("集安组织派了多少兵？", "……")]) == "集安组织会待多久？"
    assert rewrite_query("马西莫夫因什么罪名被捕？", ["集安组织派了多少兵？"]) == "马西莫夫因什么罪名被捕？"
    assert rewrite_query("他们会待多久？", []) == "他们会待多久？"


# --- answers ---------------------------------------------------------------------------------


def test_number_answer_quotes_source_and_attributes_outlet():
    a = answer_extractive("集安组织派了多少兵？", hits_of(GUANCHA, ALJAZEERA))
    check_invariants(a, ARTICLES)
    assert not a.refused and a.mode == "extractive"
    assert "2030" in a.text
    assert re.search(r"据(观察者网|半岛电视台)（2022-01-10）报道，", a.text)


def test_disagreeing_figures_are_flagged_and_both_cited():
    a = answer_extractive("哈萨克斯坦当局逮捕了多少人？", hits_of(ALJAZEERA, GNEWS))
    check_invariants(a, ARTICLES)
    assert a.disagreement and "不一致" in a.text
    assert "8000" in a.text and "5800" in a.text
    assert {c.outlet for c in a.citations} == {"半岛电视台", "GNews"}
    assert {o for o, _ in a.groups} == {"半岛电视台", "GNews"}


def test_compare_question_gets_side_by_side_answer():
    a = answer_extractive("各媒体报道的被捕人数一致吗？", hits_of(GNEWS, ALJAZEERA))
    check_invariants(a, ARTICLES)
    assert len(a.groups) == 2 and a.text.count("\n") >= 2


def test_unsupported_question_is_refused_without_citations():
    a = answer_extractive("2022年北京冬奥会中国获得了多少枚金牌？", hits_of(ALJAZEERA, GNEWS, GUANCHA))
    assert a.refused and a.citations == () and a.text == REFUSAL_TEXT["zh"]


def test_no_hits_is_refused():
    assert answer_extractive("集安组织派了多少兵？", []).refused
    assert answer_extractive("How many soldiers?", []).text == REFUSAL_TEXT["en"]


def test_english_question_gets_english_framing():
    a = answer_extractive("How many soldiers did the CSTO send?", hits_of(GUANCHA))
    check_invariants(a, ARTICLES)
    assert a.text.startswith("According to 观察者网 (2022-01-10): 「")


def test_followup_uses_history():
    a = answer_extractive("他们会待多久？", hits_of(ALJAZEERA), history=["集安组织派了多少兵？"])
    check_invariants(a, ARTICLES)
    assert "一周" in a.text


def test_every_statement_is_a_verbatim_quote():
    a = answer_extractive("哈萨克斯坦骚乱造成多少人死亡？", hits_of(ALJAZEERA, GUANCHA, GNEWS))
    check_invariants(a, ARTICLES)
    for line in a.text.splitlines():
        m = re.match(r"据.+?报道，(.*?)((?:\[\d+\])+)。?$", line)
        if not m:
            continue
        body, ns = m.group(1), [int(n) for n in re.findall(r"\d+", m.group(2))]
        assert any(body in c.quote for c in a.citations if c.n in ns)


# --- asked-about terms, stance, reasons in the neighbouring sentence ----------------------------

NAZARBAYEV = Article(
    article_id="gtv",
    title="哈萨克斯坦的政局",
    outlet="GTV",
    text=(
        "托卡耶夫继任总统以后，把首都阿斯塔纳的名字改为了努尔苏丹，努尔苏丹就是纳扎尔巴耶夫的名字。"
        "纳扎尔巴耶夫有三位女儿，都是他第一任妻子所生。"
    ),
    source_path="miles/gtv.md",
    format="A",
    published="2022-01-07",
)
COUP = Article(
    article_id="coup",
    title="托卡耶夫定性：未遂政变",
    outlet="观察者网",
    text=(
        "据路透社1月10日报道，哈萨克斯坦总统托卡耶夫称，国家已经度过了一场“未遂的政变”。\n\n"
        "“在自发抗议的幌子下，一波骚乱爆发了。很显然，主要目的是破坏宪法秩序，并夺取政权。这是一场未遂的政变，”托卡耶夫说。"
    ),
    source_path="seeds/003.txt",
    format="C",
    published="2022-01-10",
)


def test_focus_terms_name_what_is_asked_about():
    from rag.answer.question import focus_terms

    assert focus_terms("托卡耶夫的妻子叫什么名字？") == ("妻子",)
    assert focus_terms("哈萨克斯坦的人均GDP是多少美元？") == ("人均", "gdp")
    assert focus_terms("纳扎尔巴耶夫的发言人是谁？") == ("发言人",)
    assert focus_terms("集安组织派了多少兵？") == ()  # no "X的Y": nothing singled out


def test_asked_about_term_in_a_neighbouring_sentence_is_not_support():
    # The passage has 托卡耶夫 and 名字 and, next door, someone else's 妻子: refuse.
    a = answer_extractive("托卡耶夫的妻子叫什么名字？", hits_of(NAZARBAYEV))
    assert a.refused and a.citations == ()
    # The same passage answers what it does say.
    b = answer_extractive("纳扎尔巴耶夫有几位女儿？", hits_of(NAZARBAYEV))
    assert not b.refused and "三位女儿" in b.text


def test_why_question_quotes_the_reason_next_to_the_claim():
    a = answer_extractive("托卡耶夫为什么称这是一场未遂的政变？", hits_of(COUP))
    check_invariants(a, {"coup": COUP})
    assert not a.refused and "夺取政权" in a.text
    # The joined quote is one verbatim span; the claim alone is not quoted again beside it.
    assert sum("这是一场未遂的政变" in c.quote for c in a.citations) == 1


def test_stance_question_prefers_what_the_speaker_said():
    assert detect_qtype("各媒体如何报道托卡耶夫对这次骚乱的定性？") == "stance"
    a = answer_extractive("托卡耶夫对这次骚乱的定性是什么？", hits_of(COUP, ALJAZEERA))
    assert not a.refused and "政变" in a.citations[0].quote


def test_english_attribution_question_names_the_outlet():
    a = answer_extractive("Which outlet reported that nearly 8000 people were arrested?", hits_of(GNEWS, ALJAZEERA))
    check_invariants(a, ARTICLES)
    assert not a.refused and a.citations[0].outlet == "半岛电视台" and "8000" in a.citations[0].quote


def test_grouped_digits_match_plain_digits():
    from rag.answer.scoring import term_present

    assert term_present("8000", "近 8,000 人已被拘留") == 1.0
    assert term_present("8000", "近 9,000 人") == 0.0


def test_word_classes_and_answer_type_words():
    from rag.answer.compare import asked_unit_class
    from rag.answer.question import answer_type_terms
    from rag.text.tokens import word_class

    assert [word_class(w) for w in ("妻子", "发言人", "涨到", "后曼", "gdp", "托卡耶夫")] == ["noun", "noun", "word", "fragment", "noun", "noun"]
    assert answer_type_terms("哪位哈萨克斯坦高官在国家电视台上讲话？") == ("哈萨克斯坦", "高官")
    assert answer_type_terms("集安组织派了多少兵？") == ()
    assert asked_unit_class("已经启动了多少项审前调查？") == "项"
    assert asked_unit_class("逮捕了多少名示威者？") == asked_unit_class("多少人被捕？") == "person"


def test_number_question_prefers_the_figure_in_the_asked_unit():
    art = one_article("mvd", "内政部通报", "哈萨克斯坦内政部宣布，被捕人数已经超过5000人。被拘留者将面临暴力和盗窃等指控，125项审前调查已经开始。", published="2022-01-09")
    a = answer_extractive("内政部已经开始了多少项审前调查？", hits_of(art))
    assert not a.refused and "125项" in a.citations[0].quote


# --- paraphrase and answer slots -------------------------------------------------------------


def test_cilin_synonyms_count_as_most_of_a_term():
    from rag.answer.scoring import SYNONYM_CREDIT, term_present
    from rag.answer.synonyms import synonyms

    assert "全球" in synonyms("全世界") and "通电话" in synonyms("打电话")
    assert all(len(w) >= 2 for w in synonyms("死亡") | synonyms("全世界"))  # no single-character matches
    assert term_present("全世界", "产量占全球40%") == SYNONYM_CREDIT
    assert term_present("全世界", "产量占40%") == 0.0
    # A dictionary translation of an English word is not widened again by synonyms.
    assert term_present("全世界|世界", "全球") == 0.0


def test_synonym_lets_a_paraphrased_question_be_answered():
    art = one_article("u", "铀价上涨", "据悉，哈萨克斯坦是全球最大铀生产国，产量占全球40%，其中5成卖给中共国。近日由于动乱加剧，本周铀价上涨约8%。", published="2022-01-07")
    a = answer_extractive("哈萨克斯坦的铀产量占全世界的百分之多少？", hits_of(art))
    check_invariants(a, {"u": art})
    assert not a.refused and "40%" in a.citations[0].quote


def test_answer_slots_are_spans_of_the_asked_kind_not_in_the_question():
    from rag.answer.question import analyze_question
    from rag.answer.slots import answer_slots

    where = analyze_question("纳扎尔巴耶夫最后一次公开露面是在哪座城市？")
    assert "圣彼得堡" in [s.text for s in answer_slots(where, "在那次圣彼得堡之行中，纳扎尔巴耶夫会见了普京。")]
    assert answer_slots(where, "纳扎尔巴耶夫最后一次公开露面是在12月底。") == ()
    who = analyze_question("福布斯记者Ardak Bukeyeva采访的那位目击者叫什么名字？")
    assert answer_slots(who, "福布斯记者Ardak Bukeyeva会见了阿拉木图“反恐”行动的目击者。") == ()
    money = analyze_question("她在伦敦买的那座豪宅花了多少钱？")
    assert answer_slots(money, "她在伦敦北部购买了一座豪宅。") == ()
    assert [s.text for s in answer_slots(money, "那座房子花费了875万英镑。")] == ["875万英镑"]
    share = analyze_question("田吉兹油田每年贡献哈萨克斯坦多少石油开采？")
    assert answer_slots(share, "每年为哈萨克斯坦贡献了大约三分之一的石油开采。")
    people = analyze_question("在中国生活的哈萨克族有多少人？")
    assert [s.text for s in answer_slots(people, "约有160万哈萨克族人生活在中共国。")] == ["160万"]


def test_who_question_without_a_new_name_is_refused():
    art = one_article("f", "福布斯记者会见目击者", "福布斯哈萨克斯坦记者Ardak Bukeyeva会见了阿拉木图“反恐”行动的目击者。目击者讲述了当晚的枪声。", published="2022-01-13")
    a = answer_extractive("Ardak Bukeyeva采访的目击者叫什么名字？", hits_of(art))
    assert a.refused and a.citations == ()


def test_focus_is_the_asked_thing_only_when_nothing_but_a_copula_follows_it():
    from rag.answer.question import focus_terms

    assert focus_terms("集安组织维和部队的指挥官是谁？") == ("指挥官",)
    # 局势 is followed by a verb phrase: the question asks about 措施, so 局势 is not required.
    assert focus_terms("美国国务院针对哈萨克斯坦的局势对本国公民采取了什么措施？") == ()


def test_followup_keeps_the_borrowed_terms_when_its_own_are_few():
    art = one_article("oil", "哈萨克斯坦，对中国有多重要？", "哈萨克斯坦境内矿产、石油天然气资源丰富。目前哈萨克斯坦石油可采储量40亿吨，天然气可采储量3万亿立方米。当主要的天然气生产商停产维修时，市场短缺进一步恶化。", published="2022-01-09", outlet="观察者网", format="C")
    from rag.answer.extractive import analyze

    q = analyze("那天然气呢？", ["哈萨克斯坦已探明的石油可采储量有多少？"])
    assert "可采储量" in q.context and "天然气" not in q.context
    a = answer_extractive("那天然气呢？", hits_of(art), ["哈萨克斯坦已探明的石油可采储量有多少？"])
    check_invariants(a, {"oil": art})
    assert not a.refused and "3万亿立方米" in a.citations[0].quote


def test_figure_sentence_may_leave_the_question_context_to_its_neighbour():
    art = one_article("mvd2", "内政部通报", "哈萨克斯坦内政部周日上午宣布，在暴力反政府抗议活动中被逮捕的人数已经超过5000人。被拘留者将面临暴力、流氓行为、谋杀和盗窃的指控，125项审前调查已经开始。", published="2022-01-09")
    a = answer_extractive("哈萨克斯坦内政部宣布被捕人数超过5000人时，已经启动了多少项审前调查？", hits_of(art))
    check_invariants(a, {"mvd2": art})
    assert not a.refused and "125项" in a.text


def test_long_question_is_not_expected_to_be_echoed_in_full():
    from rag.answer.scoring import coverage

    short = ("托卡耶夫", "逮捕")
    assert coverage(short, "托卡耶夫说") == 0.6  # short questions: plain weighted share (1.5 of 2.5)
    long = ("外交部", "发言人", "例行", "记者会", "表态", "中方", "愿意", "帮助", "哈萨克斯坦", "渡过", "难关")
    text = "外交部发言人汪文斌表示，中方愿意帮助哈萨克斯坦。"
    plain = sum(t in text for t in long) / len(long)  # every term here weighs 1.0 or 1.5
    assert plain < coverage(long, text) < 1.0


def test_percentage_question_needs_a_percentage():
    from rag.answer.compare import asked_unit_class
    from rag.answer.question import analyze_question
    from rag.answer.slots import answer_slots

    q = analyze_question("骚乱期间坚戈对美元贬值了百分之多少？")
    assert asked_unit_class(q.text) == "%"
    assert answer_slots(q, "该国骚乱造成的损失总额达2.12亿美元。") == ()
    assert [s.text for s in answer_slots(q, "坚戈对美元一度贬值约3%。")] == ["约3%"]


def test_unseen_first_prefers_new_quotes_above_the_threshold():
    from rag.answer.candidates import Candidate
    from rag.answer.learned import Scored, unseen_first
    from rag.answer.plan import make_plan
    from rag.types import Answer, Article, Chunk, Citation, Hit

    art = Article(article_id="x", title="t", outlet="o", text="甲说了一句话。乙说了另一句话。", source_path="x.md", format="markdown")
    hit = Hit(rank=1, score=1.0, chunk=Chunk("x#0", "x", 0, len(art.text), art.text), article=art)
    old, new = (Scored(Candidate(hit=hit, start=s, end=e, text=art.text[s:e], folded=art.text[s:e], position=i), p) for i, (s, e, p) in enumerate(((0, 7, 0.9), (7, 15, 0.8))))
    earlier = Answer("q", "a", False, "extractive", (Citation(1, "x", "o", "t", None, "", "x.md", art.text[0:7], 0, 7),))
    plan = make_plan("那乙呢？", [("甲说了什么？", earlier)])
    assert unseen_first(plan, [old, new], threshold=0.5) == [new]
    assert unseen_first(plan, [old, new], threshold=0.85) == [old, new]  # nothing new answers: repeat
    assert unseen_first(make_plan("甲说了什么？"), [old, new], threshold=0.5) == [old, new]


def _scored_sentences(*specs):
    """Scored candidates for select(): (article id, outlet, text, p) each, one sentence per article text."""
    from rag.answer.candidates import Candidate
    from rag.answer.learned import Scored
    from rag.types import Article, Chunk, Hit

    texts: dict[str, str] = {}
    for aid, _, sentence, _ in specs:
        texts[aid] = texts.get(aid, "") + sentence
    out, used = [], {}
    for rank, (aid, outlet, sentence, p) in enumerate(specs, start=1):
        art = Article(article_id=aid, title="t", outlet=outlet, text=texts[aid], source_path=f"{aid}.md", format="markdown")
        hit = Hit(rank=rank, score=1.0, chunk=Chunk(f"{aid}#0", aid, 0, len(art.text), art.text), article=art)
        start = art.text.index(sentence, used.get(aid, 0))
        used[aid] = start + len(sentence)
        out.append(Scored(Candidate(hit=hit, start=start, end=start + len(sentence), text=sentence, folded=sentence, position=0), p))
    return out


def test_learned_select_quotes_a_near_equal_sentence_of_the_same_article_once():
    from rag.answer.learned import LearnedConfig, select
    from rag.answer.plan import make_plan

    scored = _scored_sentences(("a", "晨报", "部长周一接受了采访。", 0.9), ("a", "晨报", "他说约有1.2万人被转移。", 0.8),
                               ("b", "晨报", "部长周一接受了采访。", 0.85), ("c", "晚报", "天气预计好转。", 0.2))
    chosen, _ = select(make_plan("部长说转移了多少人？"), scored, 0.5, LearnedConfig())
    texts = [s.cand.text for s in chosen]
    assert "他说约有1.2万人被转移。" in texts  # the same article's next sentence: quoted
    assert texts.count("部长周一接受了采访。") == 1  # its republication (article b): not quoted again
    assert "天气预计好转。" not in texts  # under the bar


def test_learned_select_compares_articles_of_one_outlet():
    from rag.answer.learned import LearnedConfig, select
    from rag.answer.plan import make_plan

    scored = _scored_sentences(("a", "GNews", "路透社称有5000人被捕。", 0.9), ("a", "GNews", "路透社还说局势平静。", 0.5),
                               ("b", "GNews", "美联社称近8000人被捕。", 0.4))
    plan = make_plan("路透社和美联社说的被捕人数对得上吗？")
    assert plan.compare
    chosen, _ = select(plan, scored, 0.5, LearnedConfig())
    assert {s.cand.hit.article.article_id for s in chosen} == {"a", "b"}
