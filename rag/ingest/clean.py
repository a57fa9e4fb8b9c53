"""Pure text cleaning: HTML to text, markdown to text, boilerplate removal, paragraph layout."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from rag.text.lang import HAN

_BLOCK = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li ul ol blockquote figure figcaption table tr section article header footer "
    "center pre hr dl dt dd aside main nav address".split()
)
_SKIP = frozenset("script style ins svg noscript iframe button input form select textarea object video audio head title".split())
_VOID = frozenset("img br hr input meta link area base col embed source track wbr param".split())
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)
_AD_ID = re.compile(r"div-gpt-ad|adsbygoogle|^ad[-_]|google_ads|\bcaption\b|wp-caption|headerimg|^published$", re.I)

# Between two CJK characters (or CJK punctuation), whitespace that contained a newline is only
# pretty-printing of the HTML source and must vanish; elsewhere it becomes one space.
_CJK = HAN + r"\u2e80-\u33ff\uff00-\uffef\u3000-\u303f\u2018-\u201f\u2026\u00b7"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NL_SPACE = re.compile(r"[ \t\r\f\v\u00a0]*\n\s*")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")


def _join_ws(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        s, e = m.start(), m.end()
        before = text[s - 1] if s else ""
        after = text[e] if e < len(text) else ""
        if not before or not after:
            return ""
        if _CJK_CHAR.match(before) or _CJK_CHAR.match(after):
            return ""
        return " "

    text = _NL_SPACE.sub(repl, text)
    return _SPACES.sub(" ", text)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_stack:
            if tag not in _VOID:
                self.skip_stack.append(tag)
            return
        a = dict(attrs)
        if tag in _SKIP or _HIDDEN_STYLE.search(a.get("style") or "") or _AD_ID.search(a.get("id") or a.get("class") or ""):
            if tag not in _VOID:
                self.skip_stack.append(tag)
            return
        if tag == "br":
            self.parts.append("\x00BR\x00")
        elif tag in _BLOCK:
            self.parts.append("\x00P\x00")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip_stack:
            if tag == "br":
                self.parts.append("\x00BR\x00")
            elif tag in _BLOCK:
                self.parts.append("\x00P\x00")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_stack:
            # Tolerate unbalanced markup: pop to the matching open tag if it is on the stack.
            if tag in self.skip_stack:
                while self.skip_stack and self.skip_stack.pop() != tag:
                    pass
            return
        if tag in _BLOCK:
            self.parts.append("\x00P\x00")

    def handle_data(self, data: str) -> None:
        if not self.skip_stack:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment: blocks become paragraphs, <br> a line break.

    Example:
        >>> html_to_text("<p>近 8000 人</p><p>第二段<br>下一行</p>")
        '近 8000 人\\n\\n第二段\\n下一行'
    """
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    raw = "".join(parser.parts)
    paragraphs = []
    for block in raw.split("\x00P\x00"):
        lines = [_join_ws(line).strip() for line in block.split("\x00BR\x00")]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


_MD_IMAGE_LINK = re.compile(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)")
_MD_IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\]]*\])*\]\([^)]*\)")
_IPFS = re.compile(r"ipfs://\S+")
_NUM_ENTITY = re.compile(r"&#(?:\d{2,7}|x[0-9a-fA-F]{2,6});")
_IMG_SOURCE = re.compile(r"\[\s*\*?\s*图片来源\s*\*?\s*\]\([^)]*\)")
_WIKI = re.compile(r"\[\[(?:zh:|en:)?([^\]|]*)(?:\|([^\]]*))?\]\]")
_MD_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_BR = re.compile(r"<br\s*/?>", re.I)
_EMPHASIS = re.compile(r"(\*{2,}|_{2,}|~~)")
_LINE_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?=\S))")
_EDGE_STAR = re.compile(r"^\*(?=\S)|(?<=\S)\*$")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")


def markdown_to_text(md: str) -> str:
    """Plain text of a markdown body: images dropped, links keep their anchor text, wiki links their text."""
    md = _BR.sub("\n", md)
    md = md.replace("!\\[", "![").replace("\\[", "[").replace("\\]", "]")
    md = _MD_IMAGE_LINK.sub("", md)
    md = _MD_IMAGE.sub("", md)
    md = _IMG_SOURCE.sub("", md)
    md = _IPFS.sub("", md)
    md = _WIKI.sub(lambda m: m.group(2) or m.group(1), md)
    for _ in range(2):  # links inside emphasis inside links
        md = _MD_LINK.sub(lambda m: m.group(1), md)
    md = _AUTOLINK.sub(r"\1", md)
    md = _TAG.sub("", md)
    md = html.unescape(md)
    out = []
    for line in md.split("\n"):
        if _RULE.match(line):
            out.append("")
            continue
        line = _EMPHASIS.sub("", line)
        line = _LINE_PREFIX.sub("", line)
        line = _EDGE_STAR.sub("", line.strip())
        line = _ESCAPE.sub(r"\1", line)
        out.append(line.replace("\u00a0", " ").strip())
    return "\n".join(out)


def tidy(text: str) -> str:
    """Trim lines, collapse blank runs to one blank line (the paragraph separator), strip the ends."""
    text = _NUM_ENTITY.sub(lambda m: html.unescape(m.group(0)), text.replace("\u200b", ""))
    lines = [line.strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


# Lines that are never article text, wherever they appear.
_DROP_LINE = re.compile(
    r"^(?:"
    r"ROL Foundation|ROL Society|Terms of use|Privacy Policy|"
    r"延展阅读|延伸阅读|相关阅读|推荐阅读|相关新闻|相关链接|"
    r"本文短网址|手机上长按|长按并复制|分享本文|点击(?:这里|此处)|"
    r"欢迎加入.{0,20}农场|关注我们|Discord\s*账号|Gettr\s*账号|GETTR\s*账号|Telegram|"
    r"这是一张|This image has an empty alt|"
    r"我们的标准|汤森路透“信任原则”|"
    r"[（(]?版权归.{1,12}所有|版权所有|严禁建立镜像|"
    r"原文連接$|原文连接$|"
    r"💌|🎬|🔥|💥|.{0,4}退出中共组织，良心的选择|"
    r"\(?图片来源\)?$|"
    r"[（(](?:文章|本文)(?:只|仅)代表.{0,20}[）)]$|"
    r"附：不同清晰度的视频下载链接|(?:1080p，)?720p，480p|点击下载视频$|"
    r"[\W_]{1,12}$"
    r")",
    re.I,
)
# Lines from which everything to the end is footer: disclaimers, appeals, share blocks.
_END_MARK = re.compile(
    r"^(?:\**免责声明|【诚征荣誉会员】|本文短网址|手机上长按|"
    r"本文系观察者网独家稿件|本文系.{1,10}独家稿件|"
    r"版权所有，任何形式转载|欢迎加入.{0,20}农场|更多资讯，(?:更多|请)关注|欢迎喜联盟进驻|"
    r"更多.{0,24}的频道，请关注|本文章或节目经.{0,10}编辑制作|希望之声版权所有|荣誉会员招募中|"
    r"和我们一起守护香港|点击阅读.{0,20}在G-News|点击观看.{0,20}在G-TV|.{0,12}农场欢迎您加入|"
    r"《看中国》作为一家不受中共审查)"
)


def strip_boilerplate(text: str, *, min_keep: float = 0.3) -> str:
    """Drop boilerplate lines, then cut the footer at the first end marker in the last 70% of the text."""
    lines = text.split("\n")
    total = sum(len(line) for line in lines) or 1
    seen = 0
    kept: list[str] = []
    for line in lines:
        s = line.strip()
        if s and _END_MARK.match(s):
            if seen >= min_keep * total:
                break
            continue  # too early to be the footer: drop just this line
        seen += len(line)
        if s and _DROP_LINE.match(s):
            continue
        kept.append(line)
    return tidy("\n".join(kept))


def drop_title_echo(text: str, title: str) -> str:
    """Remove the first paragraph when it only repeats the title."""
    if not title or not text:
        return text
    first, sep, rest = text.partition("\n\n")
    if _norm(first) == _norm(title):
        return rest.strip()
    line, sep2, rest2 = text.partition("\n")
    if _norm(line) == _norm(title):
        return rest2.strip()
    return text


_NORM_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def _norm(s: str) -> str:
    return _NORM_DROP.sub("", s).lower()
