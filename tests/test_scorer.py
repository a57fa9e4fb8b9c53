"""The learned answer scorer: loads the shipped file (real model, checked), and oracle answers on tiny fixtures."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.answer.learned import LearnedAnswerer
from rag.answer.plan import make_plan
from rag.answer.scorer import CARD_FILE, SCORER_DIR, ScorerCard, load_scorer, pair_text, read_scorer
from rag.errors import ModelError
from rag.types import Article, Chunk, Hit

pytestmark = pytest.mark.slow

FLOOD = Article(
    article_id="a1", title="暴雨致河堤决口", outlet="晨报", published="2021-07-21", source_path="a1.md", format="markdown",
    text="周二夜间，特大暴雨袭击了河西市。市防汛指挥部通报，城区一段河堤决口，约1.2万名居民被紧急转移到安置点。"
         "交通部门表示，地铁二号线暂停运营。气象台预计降雨将持续到周五。",
)
FLOOD_B = Article(
    article_id="b1", title="河西洪灾：转移人数上升", outlet="晚报", published="2021-07-22", source_path="b1.md", format="markdown",
    text="据当地官员介绍，受灾最重的是老城区。截至周三上午，已有近2万人被转移安置。救援队伍仍在排查险情。",
)


def _hits(*articles: Article) -> list[Hit]:
    return [Hit(rank=i, score=1.0 / i, chunk=Chunk(f"{a.article_id}#0", a.article_id, 0, len(a.text), a.text), article=a)
            for i, a in enumerate(articles, start=1)]


def _named(outlets):
    def find(text: str):
        named = tuple(o for o in outlets if o in text)
        rest = text
        for o in named:
            rest = rest.replace(o, " ")
        return named, rest

    return find


@pytest.fixture(scope="module")
def answerer() -> LearnedAnswerer:
    return LearnedAnswerer(load_scorer())


def test_shipped_card_is_small_and_checked():
    card = ScorerCard.read(SCORER_DIR)
    weights = SCORER_DIR / card.weights_file
    assert weights.stat().st_size < 25 * 1024 * 1024
    assert 0.0 < card.threshold < 1.0 and card.temperature > 0
    assert (SCORER_DIR / "MODEL_CARD.md").is_file()


def test_paraphrased_question_picks_the_sentence_with_the_fact(answerer):
    # 大水 for 暴雨/河堤决口, 多少居民被转移 for 约1.2万名居民被紧急转移: answered from the right sentence.
    answer = answerer.answer(make_plan("那场大水之后，有多少居民被转移了？"), _hits(FLOOD))
    assert not answer.refused
    assert "1.2万" in answer.citations[0].quote


def test_fully_paraphrased_question_still_ranks_the_fact_first(answerer):
    # No content word in common ("离开家" for 转移到安置点): the scorer still ranks the fact first,
    # though its probability stays under the refusal threshold (a known limit, docs/BENCHMARKS.md).
    scored = answerer.scored(make_plan("听说那场大水之后很多人不得不离开家，大概有多少人？"), _hits(FLOOD))
    assert "1.2万" in scored[0].cand.text
    assert scored[0].p > 5 * scored[1].p


def test_unrelated_question_is_refused(answerer):
    plan = make_plan("这支足球队去年联赛拿了第几名，主教练是谁？")
    answer = answerer.answer(plan, _hits(FLOOD, FLOOD_B))
    assert answer.refused and answer.citations == ()


def test_question_naming_two_outlets_cites_both(answerer):
    plan = make_plan("晨报和晚报报道的转移人数一样吗？", named_outlets=_named(("晨报", "晚报")))
    assert plan.outlets == ("晨报", "晚报") and plan.compare
    answer = answerer.answer(plan, _hits(FLOOD, FLOOD_B))
    assert {c.outlet for c in answer.citations} == {"晨报", "晚报"}
    for c in answer.citations:
        art = FLOOD if c.article_id == "a1" else FLOOD_B
        assert art.text[c.start : c.end] == c.quote


def test_follow_up_does_not_repeat_a_quote_already_given(answerer):
    question, hits = "河西市有多少人被转移了？", _hits(FLOOD, FLOOD_B)
    first = answerer.answer(make_plan(question), hits)
    assert not first.refused
    given = {(c.article_id, c.start) for c in first.citations}
    follow_up = make_plan("那现在转移了多少人？", [(question, first)])
    assert {(a, s) for a, s, _ in follow_up.seen} == given
    scored = answerer.scored(follow_up, hits)
    fresh = [x for x in scored if (x.cand.hit.article.article_id, x.cand.start) not in given]
    again = answerer.answer(follow_up, hits)
    if fresh and fresh[0].p >= answerer.scorer.threshold:  # something new answers: it is quoted instead
        assert not given & {(c.article_id, c.start) for c in again.citations}
        assert again.citations[0].start == fresh[0].cand.start
    else:  # nothing new answers: the earlier quote is given again rather than a refusal
        assert given & {(c.article_id, c.start) for c in again.citations}


def test_scores_are_probabilities_and_rank_the_answer_first():
    scorer = load_scorer()
    q = "河堤决口后转移了多少居民？"
    good, bad = pair_text(q, "城区一段河堤决口，约1.2万名居民被紧急转移到安置点。"), pair_text(q, "地铁二号线暂停运营。")
    p_good, p_bad = scorer.score([good, bad])
    assert 0.0 <= p_bad < p_good <= 1.0


def test_altered_weights_are_refused_with_a_fix(tmp_path):
    folder = tmp_path / "scorer"
    shutil.copytree(SCORER_DIR, folder)
    card = ScorerCard.read(folder)
    with open(folder / card.weights_file, "r+b") as fh:
        fh.seek(-16, 2)
        fh.write(b"\x00" * 16)
    with pytest.raises(ModelError, match="sha256.*reinstall"):
        read_scorer(folder)


def test_other_format_version_is_refused(tmp_path):
    folder = tmp_path / "scorer"
    shutil.copytree(SCORER_DIR, folder)
    raw = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    raw["format_version"] = 99
    (folder / CARD_FILE).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ModelError, match="format 99.*train_scorer"):
        read_scorer(folder)


def test_missing_scorer_says_how_to_fix(tmp_path):
    with pytest.raises(ModelError, match="reinstall"):
        read_scorer(tmp_path)


def test_onnx_backend_gives_the_torch_scores_without_torch():
    onnx, torch_scorer = load_scorer(backend="onnx"), load_scorer(backend="torch")
    assert type(onnx).__name__ == "OnnxAnswerScorer" and load_scorer() is onnx  # the default backend
    q = "河堤决口后转移了多少居民？"
    pairs = [pair_text(q, "城区一段河堤决口，约1.2万名居民被紧急转移到安置点。", "暴雨致河堤决口"), pair_text(q, "地铁二号线暂停运营。"),
             pair_text("很长的问题" * 40, "短句。")]  # a question longer than max_length: both sides cut
    for a, b in zip(onnx.logits(pairs), torch_scorer.logits(pairs)):
        assert abs(a - b) < 1e-3
    import subprocess
    import sys

    code = ("import sys; from rag.answer.scorer import load_scorer, pair_text; "
            "load_scorer().score([pair_text('谁？', '他。')]); print('torch' in sys.modules)")
    for _ in range(2):  # the first run may export into this session's cache (that needs torch); the second must not
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
