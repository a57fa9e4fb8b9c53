"""The dev-set evaluation: metric plumbing (fast, lexical) and the goals (slow, real embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.evaluate import evaluate, load_devset, statement_supported

DEVSET = Path(__file__).parent / "data" / "devset.jsonl"


def test_devset_shape():
    dev = load_devset(DEVSET)
    assert len(dev) >= 40
    assert sum(not q.answerable for q in dev) >= 8
    types = {q.type for q in dev}
    assert {"number", "date", "compare", "attribution", "english", "traditional", "followup", "unanswerable"} <= types
    assert all(q.gold_articles and q.key_facts for q in dev if q.answerable)
    assert len({q.id for q in dev}) == len(dev)


def test_statement_support_check():
    assert statement_supported("据半岛电视台（2022-01-10）报道，当局已逮捕近 8000 人", ["当局已逮捕近 8000 人。"])
    assert not statement_supported("据半岛电视台（2022-01-10）报道，当局已逮捕近 9000 人", ["当局已逮捕近 8000 人。"])


# Question sets written blind by someone who never ran the system (docs/BENCHMARKS.md): quality
# on them is reported, not asserted, but the citation invariants must hold on any question.
HELDOUT = sorted(DEVSET.parent.glob("heldout*.jsonl"))


@pytest.mark.parametrize("path", [DEVSET, *HELDOUT], ids=lambda p: p.stem)
def test_eval_invariants_on_lexical_index(lexical_index, path):
    from rag.service import Newsrag

    questions = load_devset(path)
    report = evaluate(Newsrag.open(lexical_index), questions)
    assert report.verbatim_share == 1.0
    assert report.supported_share == 1.0
    assert report.questions == len(questions)


@pytest.fixture(scope="session")
def hybrid_service(hybrid_index):
    from rag.service import Newsrag

    return Newsrag.open(hybrid_index)


@pytest.fixture(scope="session")
def hybrid_report(hybrid_service):
    report = evaluate(hybrid_service, load_devset(DEVSET))  # the default answerer: the learned scorer
    print(report.summary())
    return report


@pytest.mark.slow
def test_eval_citations_on_hybrid_index(hybrid_report):
    assert hybrid_report.verbatim_share == 1.0
    assert hybrid_report.supported_share == 1.0


@pytest.mark.slow
def test_learned_answerer_on_dev_set(hybrid_report):
    """The learned answerer on the dev set (measured 0.86 key facts, 0/42 false refusals; issue
    12's goal of .95 key facts is not met, see docs/BENCHMARKS.md). Unanswerables are not asserted:
    the refusal threshold is set for at most 10 % false refusals (scripts/calibrate_scorer.py), and at
    that threshold (0.45) 4 of the 9 are refused; the scorer does not yet tell a tempting unanswerable
    from an answerable question (docs/BENCHMARKS.md, "Session 6")."""
    assert hybrid_report.key_fact_accuracy >= 0.80
    assert hybrid_report.false_refusal_rate <= 0.05
    assert hybrid_report.recall_at_5 >= 0.85


@pytest.mark.slow
def test_rules_answerer_keeps_issue_4_goals(hybrid_service):
    """Issue 4's goals for the lexical rules answerer on the dev set it was tuned on (measured:
    key facts 1.00, refusals 9/9, false refusals 0/42)."""
    report = evaluate(hybrid_service, load_devset(DEVSET), mode="rules")
    assert report.key_fact_accuracy >= 0.95
    assert report.refusal_accuracy == 1.0
    assert report.false_refusal_rate <= 0.05
    assert report.recall_at_5 >= 0.85
    assert report.latency_p50_ms <= 150  # goal 60 ms with the model warm on an idle machine: see BENCHMARKS
