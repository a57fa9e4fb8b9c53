"""Ingest building blocks on tiny fixtures: decoding, front matter, cleaning, registry, duplicates, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.ingest import (
    CorpusError,
    SkipFile,
    article_id_for,
    list_corpus_files,
    load_registry,
    mark_duplicates,
    read_corpus,
    read_file,
    summarize,
)
from rag.ingest.clean import html_to_text, markdown_to_text
from rag.ingest.decode import decode_bytes
from rag.ingest.frontmatter import split_front_matter
from rag.types import Article

DATA = Path(__file__).resolve().parent / "data" / "ingest"


# --- decoding ----------------------------------------------------------------------------------


def test_gbk_file_decodes():
    a = read_file(DATA, "encodings/gbk_article.md")
    assert a.title == "哈萨克斯坦局势测试稿（GBK编码）"
    assert "集安组织部队将在两周内撤离" in a.text
    assert "近 8000 人" in a.text and "1.75 亿欧元" in a.text
    assert (a.format, a.outlet, a.published) == ("A", "GNews", "2022-01-11")


def test_big5_file_decodes():
    a = read_file(DATA, "encodings/big5_article.md")
    assert a.title == "測試：臺灣與香港的新聞自由"
    assert "新聞自由在過去一年明顯倒退" in a.text
    assert a.outlet == "大纪元" and a.published == "2022-01-12"


def test_utf8_bom_and_plain_markdown():
    a = read_file(DATA, "encodings/utf8_bom.md")
    assert a.title == "带BOM的文章"
    assert a.format == "markdown"  # title-only front matter without transcript cues is not A3
    assert "\ufeff" not in a.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad/empty.md", "empty"),
        ("bad/blank.md", "empty"),
        ("bad/image.png", "binary"),
        ("bad/cover.md", "binary"),
        ("bad/truncated.md", "truncated"),
        ("bad/truncated_frontmatter.md", "truncated"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(name, reason):
    with pytest.raises(SkipFile, match=reason):
        read_file(DATA, name)


def test_decode_gb18030_vs_big5_on_short_text():
    assert decode_bytes("中国的经济".encode("gbk"))[0] == "中国的经济"
    assert decode_bytes("這個國家的經濟".encode("big5"))[0] == "這個國家的經濟"


def test_one_bad_file_does_not_stop_the_others():
    report = read_corpus(DATA)
    summary = summarize(report)
    skipped = {s["source_path"]: s["reason"] for s in summary["skipped"]}
    assert set(skipped) == {f"bad/{n}" for n in ("empty.md", "blank.md", "image.png", "cover.md", "truncated.md", "truncated_frontmatter.md")}
    assert all(skipped.values())
    assert len(report.articles) == len(list_corpus_files(DATA)) - len(skipped)
    assert summary["per_format"]["C"] == 1


# --- front matter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("frontmatter/colon_title.md", "秘翻在线: AI独角兽“商汤”赴港上市"),
        ("frontmatter/amp_title.md", "“潘多拉文件”曝光董建华家族海外离岸资产"),
        ("frontmatter/hash_title.md", "#灭共者徽章,第五枚“名启石”抽奖已开启报名"),
    ],
)
def test_front_matter_titles_that_break_yaml(name, title):
    a = read_file(DATA, name)
    assert a.title == title
    assert a.format == "A" and a.outlet == "GNews"


def test_front_matter_blank_first_line_and_lists():
    fm = split_front_matter("\n---\ntitle: 'It''s: ok'\ncategories: \n - 新媒体\n - 观察者网\ndate: Mon, 10 Jan 2022 20:00:16 GMT\n---\n\n<p>x</p>")
    assert fm.present
    assert fm.data["title"] == "It's: ok"
    assert fm.data["categories"] == ["新媒体", "观察者网"]
    assert fm.body.strip() == "<p>x</p>"


def test_markdown_rule_on_line_two_is_not_front_matter():
    fm = split_front_matter("###  [:house:返回](README.md)\n---\n\n## 标题\n")
    assert not fm.present


# --- cleaning ------------------------------------------------------------------------------------


def test_html_whitespace_between_cjk_vanishes_but_inline_spaces_stay():
    html = "<p>\n  【看中国】\n  <ok>\n   哈萨克斯坦\n  </ok>\n  局势 1.75 亿欧元, John\n Smith</p><p>第二段<br/>下一行</p>"
    assert html_to_text(html) == "【看中国】哈萨克斯坦局势 1.75 亿欧元, John Smith\n\n第二段\n下一行"


def test_html_skips_scripts_ads_and_hidden():
    html = '<p>正文&#8220;引号&#8221;</p><script>x()</script><div id="div-gpt-ad-1"><p>广告</p></div><span style="display:none">隐藏</span>'
    assert html_to_text(html) == "正文“引号”"


def test_markdown_cleanup():
    md = "![](https://a/b.png)[*图片来源*](https://x)\n**粗体**和[[zh:美国]]、[链接文字](https://example.com/a_(b))。\n![](ipfs://Qm123)\n- 列表项"
    assert markdown_to_text(md).strip() == "粗体和美国、链接文字。\n\n列表项"


# --- registry ------------------------------------------------------------------------------------


def test_registry_aliases_and_domains():
    reg = load_registry()
    assert reg.find_in("Aljazeera 半岛网").name == "半岛电视台"
    assert reg.find_in("Aljazeera 半岛网").en == "Al Jazeera"
    assert reg.from_url("https://chinese.aljazeera.net/news/x").name == "半岛电视台"
    assert reg.from_url("http://kzg.io/gb4Aq3").name == "看中国"
    assert reg.find_in("secretchina").name == "看中国"
    assert reg.find_in("guancha").name == "观察者网"
    assert reg.find_in("VOA").name == reg.from_url("https://www.voachinese.com/a/x").name == "美国之音"
    for url, name in [
        ("https://www.epochtimes.com/gb/1.htm", "大纪元"),
        ("https://www.ntdtv.com/gb/1.html", "新唐人"),
        ("https://www.soundofhope.org/post/1", "希望之声"),
        ("https://www.rfa.org/mandarin/1.html", "自由亚洲电台"),
        ("https://cn.reuters.com/article/x", "路透中文网"),
        ("http://www.news.cn/2021-10/07/c_1.htm", "新华社"),
        ("https://www.cnbeta.com/articles/1.htm", "cnBeta"),
        ("https://www.bbc.com/zhongwen/simp/world-1", "BBC中文"),
        ("https://cn.nytimes.com/world/20220110/x/", "纽约时报中文网"),
        ("https://www.dw.com/zh/x/a-1", "德国之声"),
        ("https://gnews.org/zh-hans/1842979/", "GNews"),
    ]:
        assert reg.from_url(url).name == name, url
    assert reg.find_in("GTV").name == "GTV"


def test_registry_extension_from_corpus_root_and_env(tmp_path, monkeypatch):
    (tmp_path / "outlets.yaml").write_text(
        "outlets:\n  - name: 测试日报\n    aliases: [Test Daily]\n    domains: [testdaily.example]\n"
        "  - name: 看中国\n    en: Vision Times\n    aliases: [看中国新闻]\n",
        encoding="utf-8",
    )
    env_file = tmp_path / "more.yaml"
    env_file.write_text("outlets:\n  - name: 测试日报\n    aliases: [TD]\n", encoding="utf-8")
    monkeypatch.setenv("NEWSRAG_OUTLETS", str(env_file))
    reg = load_registry(tmp_path)
    assert reg.from_url("https://www.testdaily.example/a").name == "测试日报"
    assert reg.find_in("TD").name == "测试日报" and reg.find_in("Test Daily").name == "测试日报"
    assert reg.find_in("看中国新闻").en == "Vision Times"
    assert reg.find_in("secretchina").name == "看中国"  # built-in aliases kept


# --- corpus listing, ids, duplicates ------------------------------------------------------------


def test_list_corpus_files_ignores_root_readme_manifest_and_dotfiles(tmp_path):
    for rel in ["README.md", "MANIFEST.tsv", "outlets.yaml", ".git/x", ".hidden.md", "content/gnews/5/README.md", "a/b.txt", "c.html"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x", encoding="utf-8")
    assert list_corpus_files(tmp_path) == ["a/b.txt", "c.html", "content/gnews/5/README.md"]
    with pytest.raises(CorpusError, match="does not exist"):
        list_corpus_files(tmp_path / "missing")


def test_article_id_is_stable_across_edits(tmp_path):
    shutil.copy(DATA / "real" / "b0_voa_4555264.md", tmp_path / "a.md")
    first = read_file(tmp_path, "a.md")
    (tmp_path / "a.md").write_text((tmp_path / "a.md").read_text(encoding="utf-8") + "\n<p>补充一段。</p>\n", encoding="utf-8")
    assert read_file(tmp_path, "a.md").article_id == first.article_id == article_id_for("a.md")


def _art(path: str, text: str, url: str = "", published: str | None = None, title: str = "标题") -> Article:
    return Article(article_id=article_id_for(path), title=title, outlet="X", text=text, source_path=path, format="text", url=url, published=published)


def test_mark_duplicates_canonical_choice():
    body = "哈萨克斯坦总统托卡耶夫表示集安组织部队将在两周内撤离。" * 12
    arts = [
        _art("b.md", body, published="2022-01-11"),
        _art("a.md", body + "补充", published="2022-01-10"),  # earliest wins
        _art("c.md", body, url="https://x.example/1", published="2022-01-11"),
        _art("d.md", "完全不同的另一篇文章内容，讲的是别的事情。" * 12),
    ]
    out = mark_duplicates(arts)
    assert out[1].duplicate_of is None
    assert out[0].duplicate_of == out[2].duplicate_of == arts[1].article_id
    assert out[3].duplicate_of is None


def test_mark_duplicates_same_url_and_tie_break():
    arts = [_art("z.md", "甲" * 30, url="https://gnews.org/zh-hans/1/"), _art("y.md", "乙" * 30, url="http://gnews.org/zh-hans/1")]
    out = mark_duplicates(arts)
    assert out[0].duplicate_of == arts[1].article_id and out[1].duplicate_of is None


def test_short_shared_credits_are_not_duplicates():
    credits = "视频剪辑：某某；发布：某某。更多资讯，请关注农场。"
    arts = [_art("a.md", credits, title="视频一"), _art("b.md", credits, title="视频二")]
    assert all(a.duplicate_of is None for a in mark_duplicates(arts))


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_corpus_list_json(capsys):
    from rag.cli import main

    assert main(["corpus", "list", str(DATA), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"articles", "summary"} <= set(data)
    first = data["articles"][0]
    assert set(first) == {
        "article_id", "title", "outlet", "byline", "original_source", "published",
        "date_source", "url", "source_path", "format", "duplicate_of",
    }
    assert len(data["summary"]["skipped"]) == 6
    assert "missing_date_share" in data["summary"] and "per_outlet" in data["summary"]


def test_cli_corpus_list_text(capsys):
    from rag.cli import main

    assert main(["corpus", "list", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "encodings/gbk_article.md" in out and "per format:" in out and "skipped files: 6" in out


def test_cli_missing_dir_exits_2(capsys):
    from rag.cli import main

    assert main(["corpus", "list", str(DATA / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_video_only_post_keeps_its_title_as_text(tmp_path):
    (tmp_path / "v.md").write_text(
        "---\ntitle: 1/09/2022 文贵直播： 昆仑山跟哈萨克斯坦有什么联系？\n---\n"
        "`秘密翻译组-北美组` [轉載自GNews](https://gnews.org/zh-hans/1843466/)\n\n秘密翻译组-北美组\n\n \n\n"
        "免责声明：本文内容仅代表作者个人观点，平台不承担任何法律风险。\n\n- [ROL Foundation](https://rolfoundation.org/)\n",
        encoding="utf-8",
    )
    a = read_file(tmp_path, "v.md")
    assert a.text == a.title == "1/09/2022 文贵直播： 昆仑山跟哈萨克斯坦有什么联系？"
    assert a.byline == "秘密翻译组-北美组" and a.url == "https://gnews.org/zh-hans/1843466/"


def test_source_footer_names_original_outlet(tmp_path):
    (tmp_path / "b.md").write_text(
        "### 标题\n------------------------\n\n<p>【看中国2022年1月13日讯】正文第一段，内容足够长。</p>\n"
        "<p>来源:<span>美国之音</span></p>\n<p>本文短网址: http://kzg.io/x</p>\n"
        "原文地址（需翻墙访问）：https://www.secretchina.com/news/gb/2022/01/13/1.html\n",
        encoding="utf-8",
    )
    a = read_file(tmp_path, "b.md")
    assert (a.outlet, a.original_source, a.published, a.date_source) == ("看中国", "美国之音", "2022-01-13", "dateline")
    assert a.text == "正文第一段，内容足够长。"
