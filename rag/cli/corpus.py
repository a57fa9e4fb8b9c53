"""`newsrag corpus list CORPUS_DIR [--json]`: what the ingest stage makes of a folder of news files."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    corpus = subparsers.add_parser("corpus", help="inspect a corpus of news files", description="Inspect a corpus of news files.")
    sub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION")
    corpus.set_defaults(func=lambda args: (corpus.print_help(), 2)[1])
    lst = sub.add_parser(
        "list",
        help="list every article with outlet, date, URL and format, then a summary",
        description="Read every file under CORPUS_DIR and list the articles the ingest stage makes of them.",
    )
    lst.add_argument("corpus_dir", metavar="CORPUS_DIR", type=Path, help="folder holding the news files")
    lst.add_argument("--json", action="store_true", help='print one JSON object {"articles": [...], "summary": {...}}')
    lst.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    lst.set_defaults(func=run_list)
    show = sub.add_parser("show", help="one indexed article with its clean text (to check any citation against its source)")
    show.add_argument("article_id", metavar="ARTICLE_ID")
    show.add_argument("--index", default=None, help="index directory (default: $NEWSRAG_INDEX or ./index)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)


_FIELDS = (
    "article_id",
    "title",
    "outlet",
    "byline",
    "original_source",
    "published",
    "date_source",
    "url",
    "source_path",
    "format",
    "duplicate_of",
)


def run_list(args: argparse.Namespace) -> int:
    from rag.ingest import read_corpus, summarize  # lazy: keep `newsrag --help` fast

    report = read_corpus(args.corpus_dir, progress=args.progress)
    summary = summarize(report)
    try:
        _print_list(report, summary, as_json=args.json)
    except BrokenPipeError:  # `newsrag corpus list … | head` closed the pipe: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


# (header, display width) of the padded columns of `corpus list`; url and source_path follow unpadded.
_COLUMNS = (("article_id", 16), ("fmt", 8), ("published", 10), ("outlet", 12), ("via", 10), ("dup", 3), ("title", 40))


def _print_list(report, summary: dict, as_json: bool) -> None:
    if as_json:
        records = [{k: getattr(a, k) for k in _FIELDS} for a in report.articles]
        json.dump({"articles": records, "summary": summary}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    out = sys.stdout
    out.write(list_row([h for h, _ in _COLUMNS]) + " | url | source_path\n")
    for a in report.articles:
        out.write(list_row(list_cells(a)) + f" | {a.url or '-'} | {a.source_path}\n")
    _write_summary(summary, report.articles, out)


def list_cells(a) -> list[str]:
    """The padded columns of one article in `corpus list` (see _COLUMNS)."""
    from rag.types import outlet_label

    return [a.article_id, a.format, a.published or "-", outlet_label(a), a.original_source or "-", "dup" if a.duplicate_of else "", a.title or "-"]


def list_row(cells: list[str]) -> str:
    """Cells clipped and padded to their column's display width, two spaces apart."""
    return "  ".join(pad(clip(c, w), w) for c, (_, w) in zip(cells, _COLUMNS))


def _write_summary(s: dict, articles, out) -> None:
    from collections import Counter

    from rag.types import outlet_label

    per_outlet = Counter(outlet_label(a) for a in articles).most_common()  # the same labels as the list's outlet column
    out.write(
        f"\n{s['articles']} articles ({s['unique_articles']} unique, {s['duplicates']} duplicates) from {s['root']}\n"
    )
    out.write("per outlet: " + ", ".join(f"{k} {v}" for k, v in per_outlet) + "\n")
    out.write("per format: " + ", ".join(f"{k} {v}" for k, v in s["per_format"].items()) + "\n")
    out.write(f"missing date: {s['missing_date_share']:.1%}   missing URL: {s['missing_url_share']:.1%}\n")
    out.write(f"skipped files: {len(s['skipped'])}\n")
    for item in s["skipped"]:
        out.write(f"  {item['source_path']}: {item['reason']}\n")


def char_width(ch: str) -> int:
    """Terminal columns of one character: 2 for East Asian wide/fullwidth, 0 for combining and control marks."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(s: str) -> int:
    """Terminal columns `s` takes.

    Example:
        >>> display_width("看中国 VOA")
        10
    """
    return sum(char_width(ch) for ch in s)


def clip(s: str, width: int) -> str:
    """`s` cut to at most `width` columns, ending in "…" when cut (tabs and newlines become spaces).

    Example:
        >>> clip("哈哈哈哈ab", 6)
        '哈哈…'
    """
    s = " ".join(s.split())
    if display_width(s) <= width:
        return s
    out, used = [], 0
    for ch in s:
        w = char_width(ch)
        if used + w > width - 1:  # keep one column for the ellipsis
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def pad(s: str, width: int) -> str:
    """`s` followed by spaces up to `width` display columns."""
    return s + " " * max(0, width - display_width(s))


def run_show(args: argparse.Namespace) -> int:
    """Print the article record, with `text`, from the index (not from the corpus files)."""
    import json

    from rag.config import default_index_dir
    from rag.errors import NewsragError
    from rag.index.store import load_index

    index = load_index(args.index or default_index_dir())
    try:
        article = index.article(args.article_id)
    except KeyError as exc:
        raise NewsragError(exc.args[0]) from None
    record = article.to_dict()
    record["republications"] = [a.article_id for a in index.republications(article.article_id)]
    if args.json:
        print(json.dumps(record, ensure_ascii=False, indent=1))
        return 0
    from rag.types import outlet_label

    record["outlet"] = outlet_label(article)
    for key in ("article_id", "title", "outlet", "byline", "original_source", "published", "date_source", "url", "source_path", "format", "duplicate_of"):
        print(f"{key:16} {record[key] if record[key] not in (None, '') else '-'}")
    print()
    print(article.text)
    return 0
