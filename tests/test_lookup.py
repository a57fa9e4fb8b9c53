"""Citation lookup over the bundled corpus: exact (after folding), fuzzy, semantic; earliest carrier marked."""

from __future__ import annotations

import argparse
import json

import pytest

from rag.errors import BadQuestionError
from rag.lookup import LookupMatch, lookup

SEED_004 = "004_56ee838238a0b77d.txt"  # 半岛电视台
QUOTE_004 = "托卡耶夫补充说，他的国家拥有外国恐怖分子参与骚乱的证据"


@pytest.fixture(scope="module")
def index(lexical_index):
    from rag.index.store import load_index

    return load_index(lexical_index)


@pytest.fixture(scope="module")
def seed004(index):
    return next(a for a in index.articles.values() if a.source_path.endswith(SEED_004))


def assert_verbatim(matches: list[LookupMatch]) -> None:
    for m in matches:
        assert m.passage == m.article.text[m.start : m.end]
        assert m.match in ("exact", "fuzzy", "semantic") and 0 < m.score <= 1


def test_exact_quote_found_with_offsets(index, seed004):
    matches = lookup(QUOTE_004, index)
    assert_verbatim(matches)
    top = matches[0]
    assert (top.match, top.score, top.article.article_id) == ("exact", 1.0, seed004.article_id)
    assert top.start == seed004.text.index(QUOTE_004) and top.passage == QUOTE_004
    assert top.article.outlet == "半岛电视台" and top.earliest


@pytest.mark.parametrize(
    "variant",
    [
        "托卡耶夫補充說，他的國家擁有外國恐怖分子參與騷亂的證據",  # traditional characters
        "托卡耶夫补充说,他的国家拥有外国恐怖分子参与骚乱的证据",  # ASCII comma
        "「托卡耶夫补充说：他的国家拥有外国恐怖分子参与骚乱的证据。」",  # other punctuation around and inside
        "托卡耶夫补充说 他的国家 拥有外国恐怖分子参与骚乱的证据",  # spaces
        "托卡耶夫补充说，他的国家拥有外国恐怖分子参与骚乱的证据（ＣＳＴＯ）"[:-6],  # full-width forms nearby
    ],
)
def test_normalised_variants_are_exact(variant, index, seed004):
    top = lookup(variant, index)[0]
    assert (top.match, top.article.article_id) == ("exact", seed004.article_id)
    assert top.passage == QUOTE_004  # the source's own text, not the variant


def test_full_width_latin_and_digits_fold(index):
    text = next(a.text for a in index.articles.values() if "近 8000 人" in a.text)
    quote = "他们已经逮捕了与该国长达一周骚乱有关的近８０００人"
    top = lookup(quote, index)[0]
    assert top.match == "exact" and top.passage == "他们已经逮捕了与该国长达一周骚乱有关的近 8000 人"
    assert top.article.text == text


def test_two_changed_characters_is_fuzzy(index, seed004):
    edited = QUOTE_004.replace("补充", "还").replace("证据", "證明")  # 2 edits (one deletion, one change + trad)
    matches = lookup(edited, index)
    assert_verbatim(matches)
    top = matches[0]
    assert top.match == "fuzzy" and top.article.article_id == seed004.article_id and top.score >= 0.85
    start = seed004.text.index(QUOTE_004)
    assert abs(top.start - start) <= 3 and abs(top.end - (start + len(QUOTE_004))) <= 3


def test_republication_pair_marks_the_earliest(index):
    original = next(a for a in index.articles.values() if a.source_path.endswith("gnews/2__g1823979.md"))
    copy = next(a for a in index.articles.values() if a.source_path.endswith("gnews/2/README__g1823979.md"))
    assert copy.duplicate_of == original.article_id
    quote = "在该国最大城市阿拉木图市和曼吉斯陶州，有数千人参加因燃料价格上涨引发的示威活动。"
    matches = lookup(quote, index)
    assert_verbatim(matches)
    exact = {m.article.article_id: m for m in matches if m.match == "exact"}
    assert {original.article_id, copy.article_id} <= set(exact)
    earliest = [m for m in matches if m.earliest]
    assert len(earliest) == 1
    dated = sorted(m.article.published for m in exact.values() if m.article.published)
    if dated:  # with dates, the earliest date wins; otherwise the original beats its republication
        assert earliest[0].article.published == dated[0]
    else:
        assert earliest[0].article.article_id == original.article_id
    assert matches[0].earliest  # the earliest carrier is listed first among equal scores


def test_earliest_date_wins_across_outlets(index):
    # 观察者网 published this route twice (首页 / 头条), both dated: exactly one is marked.
    arts = [a for a in index.articles.values() if a.source_path.endswith("哈萨克斯坦，对中国有多重要？.md")]
    assert len(arts) == 2
    sentence = arts[0].text.strip().split("。")[0][:40]
    matches = [m for m in lookup(sentence, index) if m.match == "exact"]
    assert {m.article.article_id for m in matches} >= {a.article_id for a in arts}
    assert sum(m.earliest for m in matches) == 1


def test_nonsense_finds_nothing(index):
    assert lookup("量子计算机在火星上种植了紫色的土豆并出口到木星", index) == []


@pytest.mark.parametrize("bad", ["", "   ", "，。！？", "字" * 2001])
def test_bad_quotes_raise_a_clear_error(bad, index):
    with pytest.raises(BadQuestionError, match="quote"):
        lookup(bad, index)


def test_to_dict_has_the_cli_fields(index):
    d = lookup(QUOTE_004, index)[0].to_json()
    assert list(d) == ["article_id", "outlet", "title", "published", "url", "source_path", "passage", "start", "end", "match", "score", "earliest"]
    json.dumps(d, ensure_ascii=False)


def _cli(argv: list[str]) -> int:
    from rag.cli import lookup as cli_lookup

    parser = argparse.ArgumentParser(prog="newsrag")
    cli_lookup.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_json_contract(lexical_index, capsys, seed004):
    assert _cli(["lookup", "這是一場未遂的政變", "--index", str(lexical_index), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == "這是一場未遂的政變" and out["matches"]
    m = out["matches"][0]
    assert m["match"] == "exact" and m["passage"] == "这是一场未遂的政变" and m["outlet"] == "观察者网"
    assert _cli(["lookup", QUOTE_004, "--index", str(lexical_index)]) == 0
    text = capsys.readouterr().out
    assert "exact 1.00  半岛电视台" in text and "earliest" in text and SEED_004 in text


@pytest.fixture(scope="module")
def seeds_hybrid(tmp_path_factory, seeds_corpus):
    """The five seeds indexed with the real offline embedder (small: seconds once the model is cached)."""
    from rag.index.build import build_index

    out = tmp_path_factory.mktemp("lookup") / "hybrid"
    build_index(seeds_corpus, out, None)
    return out


@pytest.mark.slow
def test_paraphrase_is_semantic_with_the_real_embedder(seeds_hybrid):
    from rag.service import Newsrag

    svc = Newsrag.open(seeds_hybrid)
    assert svc.retriever.mode == "hybrid"
    matches = svc.lookup("托卡耶夫表示，这是一次没有成功的政变图谋。")
    assert_verbatim(matches)
    assert matches and all(m.match == "semantic" for m in matches)
    top = matches[0]
    assert top.article.outlet == "观察者网" and "未遂的政变" in top.passage and top.score >= 0.92
    assert svc.lookup("量子计算机在火星上种植了紫色的土豆并出口到木星") == []
    # Exact still wins over semantic for a verbatim quote, with the embedder on.
    verbatim = svc.lookup(QUOTE_004)
    assert verbatim[0].match == "exact"
    # Beside the verbatim carrier, a same-topic sentence is no paraphrase (the calibrated, higher bar).
    from rag.lookup import SEMANTIC_MIN_BESIDE_EXACT

    assert all(m.score >= SEMANTIC_MIN_BESIDE_EXACT for m in verbatim if m.match == "semantic")
