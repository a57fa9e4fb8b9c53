"""`newsrag` command line: the parser and dispatch (main), one module per command group
(corpus, index, answer, lookup, serve). Only these modules print."""

from rag.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
