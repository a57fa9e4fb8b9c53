"""The seed articles: outlet, date, URL, byline and clean body as a citation needs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest import article_id_for, load_registry, read_file

SEEDS = Path(__file__).resolve().parents[1] / "corpus" / "seeds"
FOOTER_JUNK = ("退出中共组织", "诚征荣誉会员", "手机上长按", "本文短网址", "ROL Foundation", "Terms of use", "免责声明")


def _seed(prefix: str) -> str:
    (name,) = [p.name for p in SEEDS.iterdir() if p.name.startswith(prefix)]
    return name


@pytest.fixture(scope="module")
def seeds():
    registry = load_registry(SEEDS)
    return {p: read_file(SEEDS, _seed(p), registry) for p in ("000", "001", "002", "003", "004")}


def test_002_secretchina_republishing_voa(seeds):
    a = seeds["002"]
    assert a.format == "B"
    assert a.outlet == "看中国"
    assert a.original_source == "美国之音"
    assert a.published == "2022-01-13"
    assert a.url == "https://www.secretchina.com/news/gb/2022/01/13/994979.html"
    assert a.text.startswith("哈萨克斯坦局势牵涉各大国")
    for junk in FOOTER_JUNK:
        assert junk not in a.text
    assert "<" not in a.text and "](" not in a.text
    assert a.text.endswith("似乎也不太可能。")


def test_003_guancha(seeds):
    a = seeds["003"]
    assert (a.format, a.outlet, a.published, a.url) == ("C", "观察者网", "2022-01-10", "")
    assert "鞠峰" in a.byline
    assert "本文系观察者网独家稿件" not in a.text
    assert a.title == "托卡耶夫定性：未遂政变"
    assert a.text.startswith("经过约1周的骚乱后")


def test_004_aljazeera_keeps_numbers_verbatim(seeds):
    a = seeds["004"]
    assert (a.format, a.outlet, a.published) == ("C", "半岛电视台", "2022-01-10")
    assert "1.75 亿欧元" in a.text
    assert "近 8000 人" in a.text
    assert "<" not in a.text


@pytest.mark.parametrize(
    ("prefix", "url"),
    [("000", "https://gnews.org/zh-hans/1842979/"), ("001", "https://gnews.org/zh-hans/1829080/")],
)
def test_gnews_seeds(seeds, prefix, url):
    a = seeds[prefix]
    assert a.format == "A"
    assert a.outlet == "GNews"
    assert "东京樱花团" in a.byline
    assert "東京櫻花団-Tokyo Sakura Group" in a.byline  # as printed, too
    assert a.url == url
    for junk in FOOTER_JUNK:
        assert junk not in a.text
    assert "![](" not in a.text and "图片来源" not in a.text and "https://" not in a.text
    assert not a.text.startswith(a.title)


def test_000_date_from_signature(seeds):
    assert seeds["000"].published == "2022-01-10"
    assert seeds["000"].text.startswith("哈萨克斯坦局势仍旧动荡")


def test_001_signed_with_last_years_number_is_corrected(seeds):
    # Signed "2021年1月6日", but its own images were uploaded in 2021/12: the year is a typo.
    assert seeds["001"].published == "2022-01-06"
    assert seeds["001"].date_source == "signature (year corrected)"


def test_text_layout(seeds):
    for a in seeds.values():
        assert a.text == a.text.strip()
        assert "\n\n\n" not in a.text
        assert a.article_id == article_id_for(a.source_path)
