"""End to end: retrieval over an index of the bundled corpus, then the extractive answerer."""

from __future__ import annotations

import json

import pytest

from rag.answer import answer_extractive, markers, rewrite_query
from rag.answer.citations import verify_citation


@pytest.fixture(scope="session")
def lexical_service(lexical_index):
    from rag.service import Newsrag

    return Newsrag.open(lexical_index)


def _check(answer, index):
    assert set(markers(answer.text)) == {c.n for c in answer.citations}
    for c in answer.citations:
        article = index.article(c.article_id)
        assert article.text[c.start : c.end] == c.quote and verify_citation(c, article)
        assert c.source_path == article.source_path and not c.source_path.startswith("/")


@pytest.mark.parametrize(
    "question,fact",
    [
        ("集安组织出动了多少名士兵？", "2030"),
        ("哈萨克斯坦全境的紧急状态将持续到哪一天？", "1月19日"),
        ("哈薩克斯坦衛生部說騷亂導致多少人死亡？", "164"),
        ("哪家媒体报道了近8000人被捕？", "半岛电视台"),
    ],
)
def test_answers_over_lexical_index(lexical_service, question, fact):
    answer = lexical_service.ask(question)
    _check(answer, lexical_service.index)
    assert not answer.refused and fact in answer.text


def test_followup_retrieves_with_history(lexical_service):
    history = ["集安组织派了多少兵？"]
    query = rewrite_query("他们会在哈萨克斯坦停留多久？", history)
    assert "集安组织" in query
    hits = lexical_service.search(query, k=8)
    answer = answer_extractive("他们会在哈萨克斯坦停留多久？", hits, history)
    _check(answer, lexical_service.index)
    assert not answer.refused


def test_unanswerable_is_refused(lexical_service):
    answer = lexical_service.ask("哈萨克斯坦足球联赛的冠军是哪支球队？")
    assert answer.refused and answer.citations == ()


def test_cli_ask_json_contract(lexical_index, tmp_path, capsys):
    from rag.cli import main

    qfile = tmp_path / "q.txt"
    qfile.write_text("集安组织出动了多少名士兵？\n哈萨克斯坦足球联赛的冠军是哪支球队？\n", encoding="utf-8")
    assert main(["ask", "--questions", str(qfile), "--index", str(lexical_index), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert set(first) == {"question", "answer", "refused", "mode", "citations"}
    assert first["question"] == "集安组织出动了多少名士兵？" and not first["refused"]
    for c in first["citations"]:
        assert set(c) == {"n", "article_id", "outlet", "title", "published", "url", "source_path", "quote", "start", "end"}
    assert second["refused"] and second["citations"] == []


def test_cli_ask_needs_a_question(lexical_index, capsys):
    from rag.cli import main

    assert main(["ask", "--index", str(lexical_index)]) == 2
    assert "give either a question" in capsys.readouterr().err


@pytest.mark.slow
def test_english_question_over_hybrid_index(hybrid_index):
    from rag.service import Newsrag

    service = Newsrag.open(hybrid_index)
    answer = service.ask("How many soldiers did the CSTO send to Kazakhstan?")
    _check(answer, service.index)
    assert not answer.refused and answer.text.startswith("According to") and "2030" in answer.text


def test_question_naming_outlets_compares_just_those(lexical_service):
    q = "关于被捕人数，观察者网和半岛电视台的说法有何不同？"
    named, rest = lexical_service.named_outlets(q)
    assert set(named) == {"观察者网", "半岛电视台"} and "观察者网" not in rest and "半岛电视台" not in rest
    answer = lexical_service.ask(q)
    _check(answer, lexical_service.index)
    assert not answer.refused and {c.outlet for c in answer.citations} == {"观察者网", "半岛电视台"}
    assert "5135" in answer.text and "8000" in answer.text and answer.disagreement
    # Attribution questions name no outlet to restrict to; an explicit --outlet filter wins.
    assert lexical_service.named_outlets("集安组织派了多少兵？") == ((), "集安组织派了多少兵？")


def test_unknown_outlet_filter_names_the_known_ones(lexical_service):
    from rag.errors import BadQuestionError
    from rag.retrieve import Filters

    with pytest.raises(BadQuestionError, match="no articles from BBC.*outlets it knows: .*半岛电视台"):
        lexical_service.ask("逮捕了多少人？", filters=Filters(outlets=("BBC",)))


@pytest.mark.parametrize("mode", ["extractive", "rules"])
def test_every_answer_mode_cites_verbatim(lexical_service, mode):
    answer = lexical_service.ask("哪家媒体报道了近8000人被捕？", mode=mode)
    _check(answer, lexical_service.index)
    assert answer.mode == "extractive" and not answer.refused
