"""A MANIFEST.tsv beside the files fills in dates the files lack, and says so."""

from __future__ import annotations

from rag.ingest import read_file

from conftest import CORPUS


def test_manifest_date_used_only_when_the_file_has_none(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("---\ntitle: 无日期的文章\n---\n\n这篇文章本身没有日期。它只有正文。\n", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("---\ntitle: 有日期\ndate: 2021-05-06\n---\n\n正文里没有日期。但前言有。\n", encoding="utf-8")
    (tmp_path / "MANIFEST.tsv").write_text(
        "file\tdate_guess\tnote\nsub/a.md\t2022-01-03\tgnews_id=1; date from first-commit(UTC)\nsub/b.md\t2022-01-04\tx\n",
        encoding="utf-8",
    )
    a = read_file(tmp_path, "sub/a.md")
    assert (a.published, a.date_source) == ("2022-01-03", "manifest: first-commit(UTC)")
    b = read_file(tmp_path, "sub/b.md")
    assert b.published == "2021-05-06" and not b.date_source.startswith("manifest")


def test_bundled_gnews_reposts_get_dated_from_the_manifest():
    # this repost has no date of its own; the manifest records its first commit, 2022-01-05
    art = read_file(CORPUS / "kazakhstan-2022", "ourhimalayas+ourhimalayas.github.io/gnews/2__g1823979.md")
    assert art.published == "2022-01-05" and art.date_source == "manifest: first-commit(UTC)"
