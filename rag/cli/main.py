"""`newsrag` command line: one subcommand per user task; each command group lives in a module of rag.cli.

Only the rag.cli modules print. Errors a user can fix exit with code 2 and one
line saying what to do.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rag import __version__
from rag.errors import NewsragError

# Each module has register(subparsers) adding its subcommands with set_defaults(func=...).
_COMMAND_MODULES = ("rag.cli.corpus", "rag.cli.index", "rag.cli.answer", "rag.cli.chat", "rag.cli.lookup", "rag.cli.serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsrag", description="Question answering over a Chinese news archive, with citations.")
    parser.add_argument("--version", action="version", version=f"newsrag {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and decisions to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command still being written must not break the others
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from rag.quiet import set_verbose

    set_verbose(args.verbose)  # model-loading progress bars only with -v
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NewsragError as exc:
        print(f"newsrag: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
