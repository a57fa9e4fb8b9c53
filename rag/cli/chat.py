"""`newsrag chat`: a conversation in the terminal; follow-up questions are read with the earlier ones.

Type a question and press Enter. /new starts over, /json toggles JSON lines (the `ask --json`
object), /quit or Ctrl-D ends; Ctrl-C cancels the line being typed or the answer being made.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace

from rag.cli.answer import add_answer_args
from rag.cli.index import filters_from, k_from
from rag.errors import NewsragError

HELP = "commands: /new starts over · /json toggles JSON output · /quit (or Ctrl-D) ends · /help shows this"
COMMANDS = ("/new", "/json", "/quit", "/exit", "/help")


def register(sub) -> None:
    p = sub.add_parser("chat", help="a conversation in the terminal: follow-up questions use the earlier ones (/new, /json, /quit)")
    add_answer_args(p)
    p.add_argument("--json", action="store_true", help="start with JSON output (one `ask --json` object per answer; /json toggles)")
    p.set_defaults(func=run_chat)


@dataclass(frozen=True)
class Conversation:
    """What the chat remembers: the (question, Answer) turns so far (oldest first) and the output form.

    The answers travel with the questions so that a follow-up quotes something new (rag.answer.plan).
    """

    history: tuple = ()
    as_json: bool = False


@dataclass(frozen=True)
class Command:
    """One input line, interpreted: kind is "ask", "new", "json", "quit", "help" or "unknown"."""

    kind: str
    text: str = ""


def interpret(line: str) -> Command:
    """What a typed line asks for.

    Example:
        >>> interpret(" /JSON ")
        Command(kind='json', text='')
        >>> interpret("他们会待多久？")
        Command(kind='ask', text='他们会待多久？')
    """
    word = line.strip()
    if word.startswith("/") and " " not in word:
        name = word.lower()
        if name in COMMANDS:
            return Command("quit" if name == "/exit" else name[1:])
        return Command("unknown", word)
    return Command("ask", line)


def apply(conv: Conversation, cmd: Command) -> tuple[Conversation, str]:
    """The conversation after a non-question command, and the line to tell the user."""
    if cmd.kind == "new":
        return replace(conv, history=()), "(new conversation: earlier questions forgotten)"
    if cmd.kind == "json":
        return replace(conv, as_json=not conv.as_json), f"(JSON output {'on' if not conv.as_json else 'off'})"
    if cmd.kind == "help":
        return conv, HELP
    if cmd.kind == "unknown":
        return conv, f"unknown command {cmd.text}; {HELP}"
    return conv, ""


def _read_line(prompt: str) -> str | None:
    """One line from the user; None at end of input (Ctrl-D, or the pipe is done)."""
    try:
        return input(prompt)
    except EOFError:
        return None


def run_chat(args: argparse.Namespace) -> int:
    from rag.cli.answer import print_answer
    from rag.validate import check_question

    k, filters = k_from(args), filters_from(args)  # before the index and models load
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:  # e.g. Windows without pyreadline: plain input still works
            pass
        print("newsrag: loading the index…", file=sys.stderr, flush=True)
    from rag.service import Newsrag

    service = Newsrag.open(args.index)
    if interactive:
        print(f"newsrag chat · {service.mode} retrieval · {HELP}", file=sys.stderr, flush=True)
    prompt = "问> " if interactive else ""  # a pipe gets only answers on stdout
    conv = Conversation(as_json=args.json)
    while True:
        try:
            line = _read_line(prompt)
        except KeyboardInterrupt:  # Ctrl-C at the prompt cancels the line
            print(file=sys.stderr)
            continue
        if line is None:
            if interactive:
                print(file=sys.stderr)
            return 0
        cmd = interpret(line)
        if cmd.kind == "quit":
            return 0
        if cmd.kind != "ask":
            conv, note = apply(conv, cmd)
            print(note, file=sys.stderr, flush=True)
            continue
        try:
            question = check_question(cmd.text)
            answer = service.ask(question, history=conv.history, filters=filters, k=k, mode=args.mode)
        except NewsragError as exc:  # say what to fix and keep the conversation going
            print(f"newsrag: {exc}", file=sys.stderr, flush=True)
            continue
        except KeyboardInterrupt:
            print("(cancelled)", file=sys.stderr, flush=True)
            continue
        conv = replace(conv, history=conv.history + ((question, answer),))
        if conv.as_json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print_answer(answer)
            print(flush=True)
