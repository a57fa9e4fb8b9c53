"""Whole real sets: the bundled Kazakhstan set and the 7,722-file shared news sample, checked against their manifests."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from rag.ingest import read_corpus, summarize

ROOT = Path(__file__).resolve().parents[1]
KZ = ROOT / "corpus" / "kazakhstan-2022"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE = SHARED / "corpus" / "news-sample"

# Where the manifest says its date came from the file itself (not from a git commit).
FILE_DATE_SOURCES = ("byline", "dateline", "<time datetime>", "rfa-id in url", "date from url", "file name", "front-matter date")


def _manifest(root: Path) -> dict[str, dict[str, str]]:
    with open(root / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {r["file"]: r for r in rows if not r["file"].startswith("EXCLUDED-SEED:")}


def _date_from_file(note: str) -> bool:
    return "first" not in note and any(s in note for s in FILE_DATE_SOURCES)


@pytest.fixture(scope="module")
def kz():
    return read_corpus(KZ)


@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.is_dir():
        pytest.skip("needs ../shared/corpus (the large shared sets); CI always has it")
    return read_corpus(SAMPLE)


def _check_against_manifest(report, root: Path, min_format: float, min_date: float) -> None:
    manifest = _manifest(root)
    arts = {a.source_path: a for a in report.articles}
    assert not report.skipped or all(s.reason for s in report.skipped)
    # Formats: counts per format, and per-file agreement.
    expected = Counter(r["format"].split(":")[0] for r in manifest.values())
    got = Counter(a.format for a in report.articles)
    for fmt, n in expected.items():
        assert abs(got[fmt] - n) <= max(1, 0.01 * n), (fmt, got[fmt], n)
    agree = sum(1 for f, r in manifest.items() if f in arts and arts[f].format == r["format"].split(":")[0])
    assert agree / len(manifest) >= min_format
    # Titles and outlets for everything but transcripts.
    non_a3 = [a for a in report.articles if a.format != "A3"]
    lacking = sum(1 for a in non_a3 if not a.title or not a.outlet)
    assert lacking / len(non_a3) < 0.02
    # Dates, where the manifest took them from the file.
    dated = [(f, r) for f, r in manifest.items() if _date_from_file(r["note"]) and f in arts]
    same = sum(1 for f, r in dated if arts[f].published == r["date_guess"])
    assert dated and same / len(dated) >= min_date, (same, len(dated))


def test_kazakhstan_set_reads_clean(kz):
    assert len(kz.articles) == 222 and not kz.skipped
    _check_against_manifest(kz, KZ, min_format=1.0, min_date=1.0)
    counts = Counter(a.format for a in kz.articles)
    assert counts == {"A": 166, "A2": 45, "A3": 8, "C": 3}
    assert Counter(a.outlet for a in kz.articles) == {"GNews": 211, "GTV": 8, "观察者网": 3}


def test_kazakhstan_a2_copies_are_duplicates_of_a(kz):
    by_id = {a.article_id: a for a in kz.articles}
    a2 = [a for a in kz.articles if a.format == "A2"]
    assert len(a2) == 45
    assert all(a.duplicate_of and by_id[a.duplicate_of].format == "A" and by_id[a.duplicate_of].url == a.url for a in a2)
    assert all(not a.duplicate_of for a in kz.articles if a.format == "A" and a.url in {x.url for x in a2})


def test_kazakhstan_route_duplicate_is_detected(kz):
    c = {a.source_path.split("/观察者网/")[1]: a for a in kz.articles if a.format == "C"}
    first, top = c["首页/哈萨克斯坦，对中国有多重要？.md"], c["头条/哈萨克斯坦，对中国有多重要？.md"]
    assert (first.duplicate_of, top.duplicate_of).count(None) == 1
    assert {first.duplicate_of, top.duplicate_of} - {None} <= {first.article_id, top.article_id}
    assert c["首页/习近平向哈萨克斯坦总统托卡耶夫致口信.md"].duplicate_of is None


def test_kazakhstan_transcripts_dated_from_file_name(kz):
    for a in kz.articles:
        if a.format == "A3":
            assert a.outlet == "GTV" and a.date_source == "filename"
            assert a.published == "-".join((Path(a.source_path).name[:4], Path(a.source_path).name[4:6], Path(a.source_path).name[6:8]))


@pytest.mark.shared
def test_news_sample_reads_without_crashes(sample):
    manifest = _manifest(SAMPLE)
    assert len(sample.articles) + len(sample.skipped) == len(manifest) == 7722
    assert not sample.skipped, sample.skipped[:5]
    # Video-only posts (GNews video items, infographics) keep their title as their text.
    title_only = [a for a in sample.articles if a.text == a.title]
    assert len(title_only) <= 0.01 * len(manifest)
    _check_against_manifest(sample, SAMPLE, min_format=0.99, min_date=0.99)


@pytest.mark.shared
def test_news_sample_outlets_and_duplicates(sample):
    summary = summarize(sample)
    outlets = summary["per_outlet"]
    for name in ("GNews", "大纪元", "看中国", "新唐人", "希望之声", "自由亚洲电台", "美国之音", "路透中文网", "GTV", "半岛电视台", "cnBeta"):
        assert outlets.get(name), name
    assert "(unknown)" not in outlets
    # The 100 deliberate A/A2 pairs share a GNews URL: each A2 copy points at its A original.
    by_id = {a.article_id: a for a in sample.articles}
    a2_dups = [a for a in sample.articles if a.format == "A2" and a.duplicate_of and by_id[a.duplicate_of].format == "A"]
    assert len(a2_dups) >= 99
    assert summary["missing_url_share"] < 0.03


@pytest.mark.shared
def test_news_sample_bodies_are_clean(sample):
    junk = ("ROL Foundation", "Terms of use", "手机上长按", "本文短网址", "诚征荣誉会员", "退出中共组织，良心的选择", "<div", "<p>", "](http", "![", "[[zh:", "ipfs://")
    dirty = [(a.source_path, j) for a in sample.articles for j in junk if j in a.text]
    assert len(dirty) <= 0.005 * len(sample.articles), dirty[:10]
