"""`newsrag ask` (answers with citations) and `newsrag eval` (dev-set metrics)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from rag.cli.index import add_filter_args, add_index_arg, filters_from, filters_json, k_from, running_server
from rag.answer.registry import DEFAULT_MODE, modes
from rag.errors import BadQuestionError, NewsragError
from rag.types import Answer


def add_answer_args(p: argparse.ArgumentParser) -> None:
    """The options every answering command shares (ask, chat): index, filters, -k, --mode."""
    add_index_arg(p)
    add_filter_args(p)
    p.add_argument("-k", type=int, default=8, help="passages retrieved per question (default 8)")
    p.add_argument("--mode", choices=modes(), default=DEFAULT_MODE, help="extractive (offline, learned scorer; default), rules (the older lexical rules) or llm (falls back to extractive)")


def register(sub) -> None:
    p = sub.add_parser("ask", help="answer a question from the corpus, citing outlet, article and passage")
    p.add_argument("question", nargs="?", help="the question (zh or en)")
    p.add_argument("--history", action="append", default=[], metavar="EARLIER_QUESTION", help="an earlier question of the conversation (repeatable, oldest first), so a follow-up like 那他们呢？ is understood")
    p.add_argument("--questions", metavar="FILE", help='answer every line of FILE (UTF-8) in order: a question, or JSON {"q": "...", "history": ["...", ...]}')
    add_answer_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.set_defaults(func=run_ask)

    p = sub.add_parser("eval", help="evaluate answering on a dev set (JSONL) or a public QA set (cmrc2018, crud-quest1doc)")
    p.add_argument("devset", metavar="FILE|SET", help="a dev set JSONL file, or cmrc2018 / crud-quest1doc (from ../shared/data)")
    add_index_arg(p)
    p.add_argument("-k", type=int, default=8)
    p.add_argument("--mode", choices=modes(), default=DEFAULT_MODE)
    p.add_argument("--calibrate", action="store_true", help="also print the refusal calibration curve (false refusals vs unsupported answers)")
    p.add_argument("--details", action="store_true", help="print each question's outcome")
    p.add_argument("--json", action="store_true")
    p.add_argument("--modes", nargs="+", choices=modes(), default=None, help="public sets: the answer modes compared in one run (default: extractive rules)")
    p.add_argument("--limit", type=int, default=0, help="public sets: a seeded sample of this many questions (default: all)")
    p.add_argument("--dense", action="store_true", help="public sets: hybrid retrieval (embeds the set's corpus once; slow on a CPU) instead of BM25")
    p.set_defaults(func=run_eval)


def _preload_scorer(mode: str) -> None:
    """Start loading the learned answer scorer in a thread (rag.answer.scorer.load_scorer is locked and cached)."""
    if mode != "extractive":
        return
    import threading

    from rag.answer.scorer import load_scorer

    def load() -> None:
        try:
            load_scorer()
        except Exception:  # noqa: BLE001 - the answer itself loads it again and reports the error
            pass

    threading.Thread(target=load, name="scorer-preload", daemon=True).start()


def _open(args):
    from rag.service import Newsrag

    return Newsrag.open(args.index)


def print_answer(answer) -> None:
    """The text form of an answer: the text, then one line per citation (ask and chat)."""
    from rag.types import outlet_label

    print(answer.text)
    if answer.citations:
        print()
    for c in answer.citations:
        date = c.published or "日期不详"
        print(f"[{c.n}] {outlet_label(c)} · {c.title} · {date}")
        print(f"    {c.source_path} [{c.start}:{c.end}]" + (f" {c.url}" if c.url else ""))
    if answer.notice:
        print(f"({answer.notice})")


@dataclass(frozen=True)
class AskItem:
    """One question to answer, with the user's earlier questions (oldest first)."""

    question: str
    history: tuple[str, ...] = ()


_JSONL_SHAPE = '{"q": "问题", "history": ["更早的问题", ...]} (history is optional)'


def parse_questions(text: str, name: str = "the questions file") -> list[AskItem]:
    """The questions of a --questions file, validated: one plain question per line, or a JSON object per line.

    A line that starts with "{" is JSON: {"q": "...", "history": ["...", ...]}; blank lines are skipped.

    Raises:
        BadQuestionError: a JSON line that does not parse or has another shape, or a question (or
            earlier question) that rag.validate.check_question rejects; the message names the line.

    Example:
        >>> parse_questions('谁赢了？\\n{"q": "他们得了几票？", "history": ["谁赢了？"]}')
        [AskItem(question='谁赢了？', history=()), AskItem(question='他们得了几票？', history=('谁赢了？',))]
    """
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line:
            where = f"{name} line {n}"
            items.append(checked(_json_item(line, where) if line.startswith("{") else AskItem(line), where))
    return items


def _json_item(line: str, where: str) -> AskItem:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadQuestionError(f"{where} is not valid JSON ({exc.msg}, column {exc.colno}); write it as {_JSONL_SHAPE}, "
                               "or as a plain question that does not start with {") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("q"), str):
        raise BadQuestionError(f'{where} has no "q" string; write it as {_JSONL_SHAPE}')
    extra = sorted(set(obj) - {"q", "history"})
    if extra:
        raise BadQuestionError(f"{where} has unknown keys {', '.join(map(repr, extra))}; write it as {_JSONL_SHAPE}")
    history = obj.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise BadQuestionError(f'{where}: "history" must be a list of earlier questions (strings), oldest first; write it as {_JSONL_SHAPE}')
    return AskItem(obj["q"], tuple(history))


def checked(item: AskItem, where: str = "") -> AskItem:
    """The item with its question and history validated (rag.validate.check_question); `where` prefixes errors."""
    from rag.validate import check_question

    try:
        return AskItem(check_question(item.question), tuple(check_question(h) for h in item.history))
    except BadQuestionError as exc:
        raise BadQuestionError(f"{where}: {exc}" if where else str(exc)) from None


def _read_questions(path: Path) -> list[AskItem]:
    if not path.is_file():
        raise NewsragError(f"no questions file at {path}; pass a UTF-8 text file with one question (or one JSON object {_JSONL_SHAPE}) per line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NewsragError(f"{path} is not UTF-8; save it as UTF-8 and retry") from None
    return parse_questions(text, str(path))


def run_ask(args: argparse.Namespace) -> int:
    if bool(args.question) == bool(args.questions):
        raise BadQuestionError('give either a question or --questions FILE, e.g. newsrag ask "香港警方逮捕了多少人？"')
    if args.questions and args.history:
        raise BadQuestionError(f'--history goes with a single QUESTION; in --questions FILE give each line its own history: {_JSONL_SHAPE}')
    if args.questions:
        items = _read_questions(Path(args.questions))
        if not items:
            raise BadQuestionError(f"{args.questions} holds no questions; write one question (or JSON object {_JSONL_SHAPE}) per line")
    else:
        items = [checked(AskItem(args.question, tuple(args.history)))]
    k, filters = k_from(args), filters_from(args)  # all of it before any model or index is loaded
    server = running_server(args)
    service = None
    if server is None:
        _preload_scorer(args.mode)  # on the other core, while the index and the embedder load
        service = _open(args)
    for item in items:
        if server is not None:  # a running `newsrag serve` of this index answers with its warm models
            body = {"question": item.question, "history": list(item.history), "k": k, "mode": args.mode, **filters_json(filters)}
            answer = Answer.from_json(server.call("/ask", body))
        else:
            answer = service.ask(item.question, history=item.history, filters=filters, k=k, mode=args.mode)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print_answer(answer)
            if len(items) > 1:
                print("\n---")
    return 0


def run_public_eval(args: argparse.Namespace) -> int:
    from rag.evaluate_public import run_public

    def progress(mode: str, done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"  {mode}: {done}/{total}", file=sys.stderr, flush=True)

    reports = run_public(args.devset, args.modes or ("extractive", "rules"), args.limit, args.dense, on_question=progress)
    if args.json:
        print(json.dumps([vars(r) for r in reports], ensure_ascii=False, indent=2))
        return 0
    print(f"{args.devset}: {reports[0].questions} questions, retrieval {'hybrid' if args.dense else 'BM25'}")
    print("mode        gold answer in answer  false refusals  gold doc cited  verbatim  p50 / p95 ms")
    for r in reports:
        print(f"{r.mode:<11} {r.answer_in_answer:>21.3f}  {r.false_refusals:>14.3f}  {r.gold_cited:>14.3f}  {r.verbatim:>8.3f}  {r.latency_p50_ms:.0f} / {r.latency_p95_ms:.0f}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import calibrate, evaluate, load_devset
    from rag.evaluate_public import PUBLIC_SETS

    if args.devset in PUBLIC_SETS:
        return run_public_eval(args)

    devset = load_devset(args.devset)
    service = _open(args)
    report = evaluate(service, devset, k=args.k, mode=args.mode)
    curve = calibrate(service, devset, [round(0.05 * i, 2) for i in range(1, 20)], k=args.k, mode=args.mode) if args.calibrate else []
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
