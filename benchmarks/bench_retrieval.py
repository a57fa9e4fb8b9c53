"""Retrieval quality on CMRC-2018 dev and CRUD-RAG: BM25 vs dense vs newsrag's fused hybrid.

Runs newsrag's own chunker, tokenizer, BM25, FAISS index and Retriever (not a re-implementation)
over in-memory indexes of the benchmark documents; a document ranks by its best chunk.

    .venv/bin/python benchmarks/bench_retrieval.py                 # all sets, weight sweep
    .venv/bin/python benchmarks/bench_retrieval.py --sets cmrc --no-dense

Data: ../shared/data (see the READMEs there). Dense vectors go through the embedding cache
($NEWSRAG_CACHE), so a second run encodes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from rag.chunk import ChunkSettings, chunk_article  # noqa: E402
from rag.text.tokens import tokenize  # noqa: E402
from rag.index.lexical import LexicalIndex
from rag.retrieve import FusionConfig, Retriever  # noqa: E402
from rag.index.store import LoadedIndex  # noqa: E402
from rag.index.manifest import Counts, Manifest  # noqa: E402
from rag.types import Article  # noqa: E402


def load_cmrc() -> tuple[dict[str, str], list[tuple[str, str]]]:
    data = json.loads((SHARED / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    docs, queries = {}, []
    for art in data["data"]:
        for i, par in enumerate(art["paragraphs"]):
            did = f"{art.get('id', art.get('title'))}-{i}"
            docs[did] = par["context"]
            queries += [(qa["question"], did) for qa in par["qas"]]
    return docs, queries


def load_crud(task: str, subset: bool) -> tuple[dict[str, str], list[tuple[str, str]]]:
    base = SHARED / "crud-rag"
    keep = set((base / "subset2500_doc_ids.txt").read_text().split()) if subset else None
    docs = {}
    with open(base / "docs.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if keep is None or d["doc_id"] in keep:
                docs[d["doc_id"]] = d["text"]
    queries = []
    with open(base / "qa.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["task"] == task and len(q["gold_doc_ids"]) == 1 and q["gold_doc_ids"][0] in docs:
                queries.append((q["question"], q["gold_doc_ids"][0]))
    return docs, queries


def build(docs: dict[str, str], settings: ChunkSettings, embedder=None) -> LoadedIndex:
    articles = {did: Article(article_id=did, title="", outlet="", text=text, source_path=did, format="text") for did, text in docs.items()}
    chunks = [c for a in articles.values() for c in chunk_article(a, settings)]
    t0 = time.perf_counter()
    lexical = LexicalIndex.build([tokenize(c.text) for c in chunks])
    t_lex = time.perf_counter() - t0
    dense = None
    t_dense = 0.0
    if embedder is not None:
        from rag.index.dense import DenseIndex
        from rag.embed.cache import EmbeddingCache, embed_passages_cached

        t0 = time.perf_counter()
        cache = EmbeddingCache.for_embedder(embedder)
        vecs = embed_passages_cached(embedder, [c.text for c in chunks], cache, progress=True)
        dense = DenseIndex.build(vecs, "flat")
        t_dense = time.perf_counter() - t0
    idx = LoadedIndex(root=Path("."), manifest=Manifest(corpus_root="", corpus_fingerprint="", counts=Counts()), articles=articles, chunks=chunks, lexical=lexical, dense=dense)
    print(f"  {len(docs)} docs, {len(chunks)} chunks; BM25 built in {t_lex:.1f} s, vectors in {t_dense:.1f} s", file=sys.stderr)
    return idx


def encode_queries_cached(embedder, queries: list[str]) -> np.ndarray:
    """Query vectors through the embedding cache (keyed by prompt + text), so reruns are instant."""
    from rag.embed.cache import EmbeddingCache, passage_key

    cache = EmbeddingCache.for_embedder(embedder)
    precision = getattr(embedder, "query_precision", "float32")
    tag = embedder.query_prompt if precision == "float32" else f"{embedder.query_prompt}\x00{precision}"
    keys = [passage_key(q, tag) for q in queries]
    found = cache.get_many(keys)
    todo = [i for i, k in enumerate(keys) if k not in found]
    for b in range(0, len(todo), 256):
        rows = todo[b : b + 256]
        vecs = embedder.encode_queries([queries[i] for i in rows])
        cache.put_many([keys[i] for i in rows], vecs)
        found.update(zip((keys[i] for i in rows), vecs))
    return np.stack([found[k] for k in keys]).astype(np.float32)


def doc_ranking(rows: np.ndarray, scores: np.ndarray, idx: LoadedIndex, depth: int = 10) -> list[str]:
    order = np.argsort(-scores, kind="stable")
    seen: list[str] = []
    for j in order:
        did = idx.chunk_article_ids[int(rows[j])]
        if did not in seen:
            seen.append(did)
            if len(seen) == depth:
                break
    return seen


def evaluate(idx: LoadedIndex, queries, qvecs, weights: list[float]) -> dict[str, dict[str, float]]:
    """Metrics per run: bm25, dense, hybrid@w for each weight."""
    runs: dict[str, list[list[str]]] = {}
    lex_only = Retriever(idx, None)
    runs["bm25"] = [doc_ranking(*lex_only.scores(q, None), idx) for q, _ in queries]
    if qvecs is not None:
        dense_r = Retriever(idx, object(), FusionConfig(lexical_weight=0.0, long_query_lexical_weight=0.0))
        runs["dense"] = [doc_ranking(*dense_r.scores(q, v), idx) for (q, _), v in zip(queries, qvecs)]
        for w in weights:
            r = Retriever(idx, object(), FusionConfig(lexical_weight=w))
            runs[f"hybrid w={w:.2f}"] = [doc_ranking(*r.scores(q, v), idx) for (q, _), v in zip(queries, qvecs)]
        # The shipped setting without its long-query ramp, to show what the ramp does.
        fixed = Retriever(idx, object(), FusionConfig(long_query_lexical_weight=0.0))
        runs["hybrid fixed w=0.60"] = [doc_ranking(*fixed.scores(q, v), idx) for (q, _), v in zip(queries, qvecs)]
    out = {}
    for name, ranked in runs.items():
        ranks = [r.index(gold) + 1 if gold in r else None for r, (_, gold) in zip(ranked, queries)]
        out[name] = {
            "R@1": np.mean([x == 1 for x in ranks]),
            "R@5": np.mean([x is not None and x <= 5 for x in ranks]),
            "MRR@10": np.mean([1.0 / x if x else 0.0 for x in ranks]),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["cmrc", "crud-quest1doc", "crud-event", "crud20k-bm25"])
    ap.add_argument("--no-dense", action="store_true")
    ap.add_argument("--weights", nargs="+", type=float, default=[0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9])
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"needs {SHARED} (the shared benchmark data)", file=sys.stderr)
        return 2
    embedder = None
    if not args.no_dense:
        from rag.embed import load_embedder

        embedder = load_embedder()
    settings = ChunkSettings()
    results = {}
    for name in args.sets:
        print(f"== {name}", file=sys.stderr)
        if name == "cmrc":
            docs, queries = load_cmrc()
        elif name == "crud20k-bm25":
            docs, queries = load_crud("quest1doc", subset=False)
            docs_e, queries_e = load_crud("event", subset=False)
            idx = build(docs, settings, None)
            results[name] = {"quest1doc": evaluate(idx, queries, None, []), "event": evaluate(idx, queries_e, None, [])}
            continue
        else:
            docs, queries = load_crud(name.split("-", 1)[1], subset=True)
        idx = build(docs, settings, embedder)
        qvecs = None
        if embedder is not None:
            t0 = time.perf_counter()
            qvecs = encode_queries_cached(embedder, [q for q, _ in queries])
            print(f"  {len(queries)} queries encoded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        results[name] = {"all": evaluate(idx, queries, qvecs, args.weights), "n": len(queries)}
        print(json.dumps({name: results[name]}, default=float), file=sys.stderr)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=float))
    print(json.dumps(results, indent=1, default=float))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
