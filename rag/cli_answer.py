"""`newsrag ask` (answers with citations) and `newsrag eval` (dev-set metrics)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.cli_index import add_filter_args, add_index_arg, filters_from
from rag.errors import BadQuestionError, NewsragError


def register(sub) -> None:
    p = sub.add_parser("ask", help="answer a question from the corpus, citing outlet, article and passage")
    p.add_argument("question", nargs="?", help="the question (zh or en)")
    p.add_argument("--questions", metavar="FILE", help="answer every line of FILE (UTF-8, one question per line), in order")
    add_index_arg(p)
    add_filter_args(p)
    p.add_argument("-k", type=int, default=8, help="passages retrieved per question (default 8)")
    p.add_argument("--mode", choices=("extractive", "llm"), default="extractive", help="extractive (offline, default) or llm (falls back to extractive)")
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.set_defaults(func=run_ask)

    p = sub.add_parser("eval", help="evaluate answering on a dev set (JSONL): recall@5, key facts, citations, refusals, latency")
    p.add_argument("devset", metavar="FILE")
    add_index_arg(p)
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--mode", choices=("extractive", "llm"), default="extractive")
    p.add_argument("--calibrate", action="store_true", help="also print the refusal calibration curve (false refusals vs unsupported answers)")
    p.add_argument("--details", action="store_true", help="print each question's outcome")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_eval)


def _open(args):
    from rag.service import Newsrag

    return Newsrag.open(args.index)


def answer_json(answer) -> dict:
    """The fixed `ask --json` shape."""
    d = answer.to_dict()
    return {k: d[k] for k in ("question", "answer", "refused", "mode", "citations")}


def _print_text(answer) -> None:
    print(answer.text)
    if answer.citations:
        print()
    for c in answer.citations:
        date = c.published or "日期不详"
        print(f"[{c.n}] {c.outlet or '?'} · {c.title} · {date}")
        print(f"    {c.source_path} [{c.start}:{c.end}]" + (f" {c.url}" if c.url else ""))
    if answer.notice:
        print(f"({answer.notice})")


def run_ask(args: argparse.Namespace) -> int:
    if bool(args.question) == bool(args.questions):
        raise BadQuestionError('give either a question or --questions FILE, e.g. newsrag ask "集安组织派了多少兵？"')
    if args.questions:
        path = Path(args.questions)
        if not path.is_file():
            raise NewsragError(f"no questions file at {path}; pass a UTF-8 text file with one question per line")
        try:
            questions = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except UnicodeDecodeError:
            raise NewsragError(f"{path} is not UTF-8; save it as UTF-8 and retry") from None
    else:
        questions = [args.question]
    filters = filters_from(args)
    service = _open(args)
    for q in questions:
        answer = service.ask(q, filters=filters, k=args.k, mode=args.mode)
        if args.json:
            print(json.dumps(answer_json(answer), ensure_ascii=False), flush=True)
        else:
            _print_text(answer)
            if len(questions) > 1:
                print("\n---")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import calibrate, evaluate, load_devset

    devset = load_devset(args.devset)
    service = _open(args)
    report = evaluate(service, devset, k=args.k, mode=args.mode)
    curve = calibrate(service, devset, [round(0.30 + 0.05 * i, 2) for i in range(11)], k=args.k) if args.calibrate else []
    if args.json:
        d = report.to_dict(with_results=args.details)
        if curve:
            d["calibration"] = [vars(p) for p in curve]
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return 0
    print(report.summary())
    if curve:
        print("\nrefusal threshold  false refusals  unsupported answers")
        for p in curve:
            print(f"  {p.threshold:.2f}            {p.false_refusals}/{p.answerable}           {p.unsupported_answers}/{p.unanswerable}")
    if args.details:
        for r in report.results:
            flag = "REFUSED" if r.refused else "answered"
            print(f"\n{r.id} [{r.type}] {flag} facts {r.facts_found}/{r.facts_total} recall@5 {r.recall_at_5} {r.latency_ms:.0f} ms\n  Q: {r.question}\n  A: {r.answer.replace(chr(10), chr(10) + '     ')}")
    return 0
