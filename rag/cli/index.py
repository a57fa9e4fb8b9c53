"""`newsrag index` (build/update) and `newsrag search` (ranked passages)."""

from __future__ import annotations

import argparse
import json
import sys

from rag.config import default_index_dir


def add_index_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", default=None, help="index directory (default: $NEWSRAG_INDEX or ./index)")


def add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outlet", action="append", default=[], metavar="NAME", help="only this outlet (repeatable), e.g. 半岛电视台")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after this date")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before this date")


def filters_from(args):
    from rag.retrieve import Filters
    from rag.validate import check_date

    return Filters(tuple(args.outlet), check_date(args.since, "--since"), check_date(args.until, "--until"))


STORE_CHOICES = ("faiss", "milvus")  # rag.index.vectorstore.STORES, spelled out so --help imports nothing


def store_from(args):
    """The StoreConfig that `--store` / `--milvus-uri` ask for, or None (keep the index's own)."""
    from rag.errors import ConfigError
    from rag.index.vectorstore import StoreConfig

    name = args.store or ("milvus" if args.milvus_uri else None)
    if name is None:
        return None
    if args.milvus_uri and name != "milvus":
        raise ConfigError(f"--milvus-uri goes with --store milvus, not --store {name}; drop one of them")
    return StoreConfig(name, args.milvus_uri or "")


MAX_K = 100  # passages per question; more only slows answering down


def k_from(args) -> int:
    """`-k`, checked before anything is loaded.

    Raises:
        BadQuestionError: below 1 or above MAX_K.
    """
    from rag.errors import BadQuestionError

    if not 1 <= args.k <= MAX_K:
        raise BadQuestionError(f"-k {args.k} is out of range; pass a number of passages from 1 to {MAX_K}, e.g. -k 8")
    return args.k


def register(sub) -> None:
    p = sub.add_parser("index", help="build or update the index of a corpus folder (only changed files are re-read)")
    p.add_argument("corpus", metavar="CORPUS_DIR")
    add_index_arg(p)
    p.add_argument("--embedder", default=None, help="sentence-transformers model id or path; 'none' for a lexical-only index (default: $NEWSRAG_EMBEDDER or the bundled multilingual-e5-small)")
    p.add_argument("--rebuild", action="store_true", help="ignore the previous build and start over")
    p.add_argument("--store", choices=STORE_CHOICES, default=None,
                   help="where the vectors go: faiss (files in the index, the default) or milvus; later builds, ask, search, lookup and serve use what the index records")
    p.add_argument("--milvus-uri", default=None, metavar="URI",
                   help="milvus: a local path ending in .db (embedded milvus-lite; default INDEX/milvus.db) or http://HOST:19530 (token from $NEWSRAG_MILVUS_TOKEN); implies --store milvus")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=run_index)

    p = sub.add_parser("search", help="ranked passages for a query (no answer composition)")
    p.add_argument("query")
    add_index_arg(p)
    p.add_argument("-k", type=int, default=10, help="number of passages (default 10)")
    add_filter_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_search)


def run_index(args) -> int:
    from rag.index.build import build_index

    index_dir = args.index or default_index_dir()
    bars = not args.json and sys.stderr.isatty()

    def step(stage: str, done: int, total: int) -> None:  # the model load has no bar of its own: say it
        if bars and stage == "loading the embedding model":
            print(f"loading the embedding model ({total} chunks to embed)…", file=sys.stderr, flush=True)

    rep = build_index(args.corpus, index_dir, args.embedder, rebuild=args.rebuild, progress=bars, on_progress=step, store=store_from(args))
    m = rep.manifest.to_json()
    if args.json:
        out = {
            "index": str(index_dir),
            "added": list(rep.added),
            "changed": list(rep.changed),
            "deleted": list(rep.deleted),
            "unchanged": rep.unchanged,
            "embedded_chunks": rep.embedded,
            "skipped": [{"source_path": p, "reason": r} for p, r in rep.skipped],
            "counts": m["counts"],
            "embedder": m["embedder"],
            "dense": m["dense"],
            "seconds": round(rep.seconds, 2),
        }
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    c = m["counts"]
    emb = m["embedder"]["model_id"] if m["embedder"] else "none (lexical only)"
    dense = rep.manifest.dense
    where = f", vectors in milvus {dense.uri} ({dense.collection})" if dense is not None and dense.store != "faiss" else ""
    print(f"index {index_dir}: {c['articles']} articles ({c['republications']} republications), {c['chunks']} chunks, embedder {emb}{where}")
    print(f"  files: {len(rep.added)} added, {len(rep.changed)} changed, {len(rep.deleted)} deleted, {rep.unchanged} unchanged; {rep.embedded} chunks embedded; {rep.seconds:.1f} s")
    for path, reason in rep.skipped:
        print(f"  skipped {path}: {reason}")
    return 0


def running_server(args):
    """A client for the `newsrag serve` of this index when one is running (rag.localapi), else None."""
    from rag import localapi

    return localapi.client_for(args.index or default_index_dir())


def filters_json(filters) -> dict:
    return {"outlets": list(filters.outlets), "since": filters.since, "until": filters.until}


def run_search(args) -> int:
    from rag.validate import check_question

    query, k, filters = check_question(args.query), k_from(args), filters_from(args)
    server = running_server(args)
    if server is not None:  # the server's warm models: no model load here
        data = server.call("/search", {"query": query, "k": k, **filters_json(filters)})
    else:
        from rag.service import Newsrag

        data = {"query": query, "hits": [h.to_json() for h in Newsrag.open(args.index).search(query, k=k, filters=filters)]}
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    from rag.types import outlet_label

    if not data["hits"]:
        print("no passages match (check the filters)")
    for h in data["hits"]:
        print(f"[{h['rank']}] {h['score']:.3f}  {outlet_label(h['outlet'])}  {h['published'] or '----------'}  {h['title']}")
        print(f"    {h['source_path']} [{h['start']}:{h['end']}]")
        print("    " + h["text"].replace("\n", " ")[:160])
        if h["also_in"]:
            print("    also in: " + ", ".join(f"{outlet_label(o['outlet'])} {o['source_path']}" for o in h["also_in"]))
    return 0
