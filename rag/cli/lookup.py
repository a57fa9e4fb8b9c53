"""`newsrag lookup "QUOTE"`: which outlets carry a quote (exact, fuzzy, semantic), earliest marked."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("lookup", help="find who said a quote: exact, near and paraphrased matches, earliest publication marked")
    p.add_argument("quote", help="the sentence or phrase to trace (simplified or traditional Chinese)")
    p.add_argument("--index", default=None, help="index directory (default: $NEWSRAG_INDEX or ./index)")
    p.add_argument("-k", type=_positive, default=10, help="at most this many matches (default 10)")
    p.add_argument("--json", action="store_true", help='print {"query", "matches": [...]} as JSON')
    p.set_defaults(func=run_lookup)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"-k must be a positive whole number, got {value!r}")
    return n


def run_lookup(args) -> int:
    from rag.cli.index import running_server
    from rag.types import outlet_label

    server = running_server(args)
    if server is not None:  # the server's warm models: no model load here
        data = server.call("/lookup", {"quote": args.quote, "k": args.k})
    else:
        from rag.service import Newsrag

        data = {"query": args.quote, "matches": [m.to_json() for m in Newsrag.open(args.index).lookup(args.quote, k=args.k)]}
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    if not data["matches"]:
        print("no article carries this quote (no exact, near or paraphrased match)")
        return 0
    for i, m in enumerate(data["matches"], start=1):
        mark = "  ★ earliest" if m["earliest"] else ""
        kind = "possible paraphrase" if m["match"] == "semantic" else m["match"]  # semantic: similar wording, not proof
        print(f"[{i}] {kind} {m['score']:.2f}  {outlet_label(m['outlet'])}  {m['published'] or '----------'}  {m['title']}{mark}")
        print(f"    {m['source_path']} [{m['start']}:{m['end']}]")
        print("    " + m["passage"].replace("\n", " ")[:200])
    return 0
