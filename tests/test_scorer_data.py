"""The training-question generators of scripts/scorer_data.py (pure functions, no model)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import scorer_data  # noqa: E402

TEXT = ("选举委员会周一公布了初步结果。全国共有1200万人参加投票，投票率为百分之六十。"
        "委员会主席王建国在发布会上说，计票将在三天内完成。反对党表示将提出上诉。")


def test_slot_question_asks_for_the_figure_without_giving_it():
    rng = random.Random(0)
    sentence = "全国共有1200万人参加投票，投票率为百分之六十。"
    made = [scorer_data.slot_question(sentence, rng) for _ in range(20)]
    made = [m for m in made if m]
    assert made, "a sentence with a figure yields a question"
    for question, answer, kind in made:
        assert answer not in question
        if kind == "number":
            assert answer.startswith("1200") and "多少" in question


def test_conversational_rewrite_keeps_the_answer_sentence_positive():
    rng = random.Random(3)
    rows = []
    for _ in range(10):
        rows = scorer_data.conversational("计票要多久完成？", "选举结果", TEXT, "三天内", None, rng, n_hard=2)
        assert rows
        question, passage, label = rows[0]
        assert label == 1.0 and "三天内" in passage
        assert all(lab == 0.0 and "三天内" not in p.split("｜")[0] for _, p, lab in rows[1:])
        assert question.startswith("query: ") and question.endswith("？")
    assert len(rows) >= 3


def test_other_article_negatives_never_contain_the_answer():
    rng = random.Random(1)
    articles = [("选举结果公布", TEXT), ("选举结果引发抗议", "数千人上街抗议选举结果。警方在广场外设置了路障。抗议持续到深夜。"),
                ("天气预报", "明天有雨。气温下降五度。")]
    grams = [scorer_data.bigrams(t) for t, _ in articles]
    rows = scorer_data.other_article_negatives("选举后有多少人抗议？", "三天内", 0, articles, grams, rng)
    assert rows and all(label == 0.0 for *_, label in rows)
    assert all("三天内" not in passage for _, passage, _ in rows)
    assert any("抗议" in passage for _, passage, _ in rows), "the most similar other article is used"


def test_erased_twin_lacks_the_answer_and_is_negative():
    text = TEXT
    pos = scorer_data.answer_sentence(text, "王建国", None)
    for seed in range(6):
        twin = scorer_data.erased("委员会主席是谁？", text, "选举", pos, "王建国", random.Random(seed))
        assert twin is not None
        question, cand, label = twin
        assert label == 0.0 and "王建国" not in cand and "计票将在三天内完成" in cand
    assert scorer_data.erased("谁？", text, "", pos, "不在句中", random.Random(0)) is None
