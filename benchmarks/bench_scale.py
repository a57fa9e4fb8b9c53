"""Search cost at 10k, 100k and 1M chunks: BM25 and FAISS build time, RSS, latency, HNSW vs exact.

Chunks are real: news-sample (read with rag.ingest) plus CRUD-RAG docs.jsonl, chunked and
tokenised by newsrag itself, shuffled with a fixed seed. 10k and 100k are prefixes of that
list; 1M is the 100k prefix tiled x10 (the same tokens and texts under new ids).

Dense vectors: a chunk whose vector is in the embedding cache gets its real vector. All the
others get a *stand-in*: a real vector from the cache (bundled corpus, CMRC, CRUD subset)
plus Gaussian noise, renormalised. The noise is calibrated so that a stand-in's cosine to its
source equals the median cosine between real vectors and their nearest real neighbour, i.e.
copies sit as far apart as real neighbours do. The base is fixed on first use
(`<work>/scale/base_vectors.npy`, at least NEWSRAG_BENCH_MIN_BASE = 1000 vectors, encoding a sample of
the bundled corpus if the cache holds fewer); delete that file to draw a new, larger base.
Latency of flat search does not depend on the values; HNSW latency and recall do, so HNSW
recall on stand-ins is an estimate (said so in docs/BENCHMARKS.md).

Each size runs in two fresh processes: `--build N` (BM25, flat and HNSW build times, peak RSS,
files under the work dir) and `--serve N` (load the files as newsrag would, RSS after load,
warm query encoder, `Retriever.search` p50/p95 with flat and HNSW, HNSW recall@10).

    .venv/bin/python benchmarks/bench_scale.py --json /tmp/scale.json            # all sizes
    .venv/bin/python benchmarks/bench_scale.py --sizes 10000 100000 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from rag.chunk import ChunkSettings, chunk_article  # noqa: E402
from rag.types import Article, Chunk  # noqa: E402

REAL_CAP = 100_000  # the 1M set tiles this many real chunks
MIN_BASE = int(os.environ.get("NEWSRAG_BENCH_MIN_BASE", "1000"))  # real vectors the stand-ins are drawn from, at least
N_QUERIES = 200
SEED = 0
WORK = Path(os.environ.get("NEWSRAG_BENCH_DIR", "/tmp/newsrag-bench")) / "scale"


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


# ---------------------------------------------------------------- Step 1: real chunks, once
def prepare(work: Path = WORK) -> dict:
    """Read, chunk and tokenise news-sample + CRUD docs once; cached under `work/real`."""
    from rag.ingest import read_corpus
    from rag.text.tokens import tokenize
    from rag.index.store import write_jsonl

    real = work / "real"
    if (real / "done.json").is_file():
        return json.loads((real / "done.json").read_text())
    real.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rep = read_corpus(SHARED / "corpus" / "news-sample")
    arts = [a for a in rep.articles if not a.duplicate_of]
    t_read = time.perf_counter() - t0
    with open(SHARED / "data" / "crud-rag" / "docs.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            arts.append(Article(article_id="crud:" + d["doc_id"], title="", outlet=d.get("source", ""), text=d["text"],
                                source_path=d["origin"], format="text", published=d.get("date")))
    chunks = [c for a in arts for c in chunk_article(a, ChunkSettings())]
    titles = {a.article_id: a.title for a in arts}
    rng = random.Random(SEED)
    rng.shuffle(chunks)
    t0 = time.perf_counter()
    tokens = [tokenize(titles[c.article_id] + "\n" + c.text) if c.start == 0 else tokenize(c.text) for c in chunks]
    t_tok = time.perf_counter() - t0
    write_jsonl(real / "articles.jsonl", (a.to_dict() for a in arts))
    write_jsonl(real / "chunks.jsonl", ({"chunk_id": c.chunk_id, "article_id": c.article_id, "start": c.start, "end": c.end} for c in chunks))
    with open(real / "tokens.txt", "w", encoding="utf-8") as f:
        f.writelines(" ".join(t) + "\n" for t in tokens)
    info = {
        "news_sample_articles": len(rep.articles),
        "news_sample_canonical": sum(1 for a in rep.articles if not a.duplicate_of),
        "crud_docs": sum(1 for a in arts if a.article_id.startswith("crud:")),
        "chunks": len(chunks),
        "chunk_chars": sum(len(c.text) for c in chunks),
        "read_seconds": round(t_read, 1),
        "tokenize_seconds": round(t_tok, 1),
        "load_at_prepare": os.getloadavg()[0],
    }
    (real / "done.json").write_text(json.dumps(info))
    return info


def load_real(work: Path = WORK, limit: int | None = None) -> tuple[dict[str, Article], list[Chunk], list[list[str]]]:
    """The prepared real chunks (the first `limit` of them), their tokens and only their articles."""
    import itertools

    real = work / "real"
    with open(real / "chunks.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, limit)]
    with open(real / "tokens.txt", encoding="utf-8") as f:
        tokens = [line.rstrip("\n").split(" ") if line.strip() else [] for line in itertools.islice(f, limit)]
    need = {r["article_id"] for r in rows}
    articles = {}
    with open(real / "articles.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["article_id"] in need:
                articles[d["article_id"]] = Article(**d)
    chunks = [Chunk(r["chunk_id"], r["article_id"], r["start"], r["end"], articles[r["article_id"]].text[r["start"]:r["end"]]) for r in rows]
    return articles, chunks, tokens


def take(n: int, articles: dict[str, Article], chunks: list[Chunk], tokens: list[list[str]]):
    """The first n real chunks, or the first REAL_CAP tiled up to n (ids get a `~t` suffix)."""
    if n <= len(chunks) and n <= REAL_CAP:
        sel = chunks[:n]
        return {c.article_id: articles[c.article_id] for c in sel}, sel, tokens[:n], 1
    base, base_tok = chunks[:REAL_CAP], tokens[:REAL_CAP]
    reps = -(-n // len(base))
    out_a: dict[str, Article] = {}
    out_c: list[Chunk] = []
    out_t: list[list[str]] = []
    for t in range(reps):
        for c, tok in zip(base, base_tok):
            if len(out_c) == n:
                break
            aid = c.article_id if t == 0 else f"{c.article_id}~{t}"
            if aid not in out_a:
                a = articles[c.article_id]
                out_a[aid] = a if t == 0 else Article(aid, a.title, a.outlet, a.text, a.source_path, a.format, published=a.published)
            out_c.append(Chunk(c.chunk_id if t == 0 else f"{c.chunk_id}~{t}", aid, c.start, c.end, c.text))
            out_t.append(tok)
    return out_a, out_c, out_t, reps


# ---------------------------------------------------------------- Step 2: vectors
def base_vectors(embedder, min_base: int = MIN_BASE) -> np.ndarray:
    """Real vectors already in the embedding cache: bundled corpus, CMRC dev, CRUD 2.5k subset."""
    from rag.embed.cache import EmbeddingCache, passage_key
    from rag.ingest import read_corpus

    import bench_retrieval as br

    cache = EmbeddingCache.for_embedder(embedder)
    texts: list[str] = []
    rep = read_corpus(ROOT / "corpus")
    texts += [c.text for a in rep.articles if not a.duplicate_of for c in chunk_article(a)]
    n_bundled = len(texts)
    for docs in (br.load_cmrc()[0], br.load_crud("quest1doc", subset=True)[0]):
        for did, text in docs.items():
            art = Article(article_id=did, title="", outlet="", text=text, source_path=did, format="text")
            texts += [c.text for c in chunk_article(art)]
    keys = list(dict.fromkeys(passage_key(t, embedder.passage_prompt) for t in texts))
    got = cache.get_many(keys)
    if len(got) < min_base:
        # Too few real vectors cached yet: encode a seeded sample of the bundled corpus (cached for next time).
        from rag.embed.cache import embed_passages_cached

        bundled = list(dict.fromkeys(texts[:n_bundled]))
        sample = random.Random(SEED).sample(bundled, min(len(bundled), min_base - len(got)))
        print(f"only {len(got)} real vectors cached; encoding {len(sample)} bundled-corpus chunks", file=sys.stderr)
        embed_passages_cached(embedder, sample, cache)
        got = cache.get_many(keys)
    return np.stack([got[k] for k in keys if k in got])


def noise_sigma(base: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Per-dimension noise so that cos(stand-in, source) = median real nearest-neighbour cosine."""
    sample = base[rng.choice(len(base), size=min(2000, len(base)), replace=False)]
    sims = sample @ base.T
    sims[sims > 0.9999] = -1  # itself (and exact duplicates)
    nn = float(np.median(sims.max(axis=1)))
    # |v| = 1, noise norm = sigma*sqrt(d): cos = 1 / sqrt(1 + sigma^2 d)
    d = base.shape[1]
    return float(np.sqrt((1 / nn**2 - 1) / d)), nn


def vectors_for(chunks: list[Chunk], embedder, base: np.ndarray, sigma: float, seed: int) -> tuple[np.ndarray, int]:
    """Real cached vectors where present, stand-ins elsewhere; returns (vectors, how many real)."""
    from rag.embed.cache import EmbeddingCache, passage_key

    cache = EmbeddingCache.for_embedder(embedder)
    real_keys = {}
    for c in chunks:
        if "~" not in c.chunk_id:
            real_keys.setdefault(passage_key(c.text, embedder.passage_prompt), None)
    got = cache.get_many(list(real_keys))
    rng = np.random.default_rng(seed)
    n, d = len(chunks), base.shape[1]
    out = np.empty((n, d), np.float32)
    block = 65536
    for s in range(0, n, block):
        e = min(n, s + block)
        v = base[rng.integers(0, len(base), e - s)] + rng.normal(0, sigma, (e - s, d)).astype(np.float32)
        out[s:e] = v / np.linalg.norm(v, axis=1, keepdims=True)
    n_real = 0
    for i, c in enumerate(chunks):
        if "~" in c.chunk_id:
            continue
        v = got.get(passage_key(c.text, embedder.passage_prompt))
        if v is not None:
            out[i] = v
            n_real += 1
    return out, n_real


# ---------------------------------------------------------------- Step 3: build (fresh process)
def run_build(n: int, work: Path = WORK) -> dict:
    import faiss

    from rag.index.dense import HNSW_EF_CONSTRUCTION, HNSW_M, DenseIndex
    from rag.embed import load_embedder
    from rag.index.lexical import LexicalIndex

    out_dir = work / f"n{n}"
    out_dir.mkdir(parents=True, exist_ok=True)
    articles, chunks, tokens = load_real(work, min(n, REAL_CAP))
    arts, sel, toks, reps = take(n, articles, chunks, tokens)
    del articles, chunks, tokens
    embedder = load_embedder()
    base_file = work / "base_vectors.npy"  # fixed on first use, so every size draws from the same base
    if base_file.is_file():
        base = np.load(base_file, allow_pickle=False)
    else:
        base = base_vectors(embedder)
        np.save(base_file, base, allow_pickle=False)
    rng = np.random.default_rng(SEED)
    sigma, nn_cos = noise_sigma(base, rng)
    vecs, n_real = vectors_for(sel, embedder, base, sigma, seed=n)
    np.save(out_dir / "vectors.npy", vecs, allow_pickle=False)
    rss0 = rss_mb()

    t0 = time.perf_counter()
    lex = LexicalIndex.build(toks)
    t_bm25 = time.perf_counter() - t0
    (out_dir / "bm25").mkdir(exist_ok=True)
    lex.save(out_dir / "bm25")
    del lex
    gc.collect()

    t0 = time.perf_counter()
    flat = DenseIndex.build(vecs, "flat")
    t_flat = time.perf_counter() - t0
    del flat
    t0 = time.perf_counter()
    hnsw = DenseIndex.build(vecs, "hnsw")
    t_hnsw = time.perf_counter() - t0
    faiss.write_index(hnsw._index, str(out_dir / "dense.faiss"))
    res = {
        "n": n,
        "tiles": reps,
        "real_chunks": sum(1 for c in sel if "~" not in c.chunk_id),
        "real_vectors": n_real,
        "standin_vectors": n - n_real,
        "base_vectors": int(len(base)),
        "noise_sigma": round(sigma, 5),
        "nn_cosine_median": round(nn_cos, 4),
        "bm25_build_s": round(t_bm25, 2),
        "flat_build_s": round(t_flat, 2),
        "hnsw_build_s": round(t_hnsw, 2),
        "hnsw_params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
        "faiss_threads": faiss.omp_get_max_threads(),
        "rss_before_build_mb": round(rss0),
        "peak_rss_build_mb": round(peak_rss_mb()),
        "load_avg": os.getloadavg()[0],
    }
    (out_dir / "build.json").write_text(json.dumps(res))
    return res


# ---------------------------------------------------------------- Step 4: serve (fresh process)
def crud_questions(k: int = N_QUERIES) -> list[str]:
    with open(SHARED / "data" / "crud-rag" / "qa.jsonl", encoding="utf-8") as f:
        qs = [json.loads(line)["question"] for line in f]
    return random.Random(SEED).sample(qs, k)


def time_each(fn, items, warm: int = 10) -> list[float]:
    for x in items[:warm]:
        fn(x)
    out = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict:
    return {"p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "mean_ms": round(float(np.mean(ms)), 2)}


def run_serve(n: int, work: Path = WORK, ef_values: tuple[int, ...] = (64, 128, 256)) -> dict:
    import faiss

    from rag.index.dense import HNSW_EF_SEARCH, DenseIndex
    from rag.embed import load_embedder
    from rag.index.lexical import LexicalIndex
    from rag.retrieve import Retriever
    from rag.index.store import LoadedIndex
    from rag.index.manifest import Counts, Manifest

    out_dir = work / f"n{n}"
    embedder = load_embedder()
    questions = crud_questions()
    embedder.encode_queries(questions[:2])
    rss_model = rss_mb()

    t0 = time.perf_counter()
    articles, chunks, tokens = load_real(work, min(n, REAL_CAP))
    arts, sel, _, _ = take(n, articles, chunks, tokens)
    del articles, chunks, tokens, _
    gc.collect()
    t_meta = time.perf_counter() - t0
    rss_meta = rss_mb()
    t0 = time.perf_counter()
    lex = LexicalIndex.load(out_dir / "bm25")
    flat = DenseIndex.load(out_dir, "flat")  # reads vectors.npy, builds IndexFlatIP
    t_load = time.perf_counter() - t0
    idx = LoadedIndex(root=out_dir, manifest=Manifest(corpus_root="", corpus_fingerprint="", counts=Counts()), articles=arts, chunks=sel, lexical=lex, dense=flat)
    gc.collect()
    rss_flat = rss_mb()
    hnsw_index = faiss.read_index(str(out_dir / "dense.faiss"))
    hnsw_index.hnsw.efSearch = HNSW_EF_SEARCH
    hnsw = DenseIndex(flat.vectors, hnsw_index, "hnsw")
    rss_hnsw = rss_mb()

    qvecs = embedder.encode_queries(questions)
    res: dict = {"n": n, "queries": len(questions), "load_avg_start": os.getloadavg()[0], "meta_load_s": round(t_meta, 1),
                 "index_load_s": round(t_load, 1), "rss_model_mb": round(rss_model), "rss_chunks_mb": round(rss_meta),
                 "rss_flat_mb": round(rss_flat), "rss_flat_hnsw_mb": round(rss_hnsw)}

    # Step 4a: end-to-end Retriever.search (query encoding included), flat and HNSW.
    lexical_only = Retriever(idx, None)
    res["encode_query"] = summary(time_each(lambda q: embedder.encode_queries([q]), questions))
    res["search_lexical"] = summary(time_each(lambda q: lexical_only.search(q, 10), questions))
    hybrid = Retriever(idx, embedder)
    res["search_hybrid_flat"] = summary(time_each(lambda q: hybrid.search(q, 10), questions))
    flat_hits = [[h.chunk.chunk_id for h in hybrid.search(q, 10)] for q in questions]
    idx.dense = hnsw
    hybrid_h = Retriever(idx, embedder)
    res["search_hybrid_hnsw"] = summary(time_each(lambda q: hybrid_h.search(q, 10), questions))
    hnsw_hits = [[h.chunk.chunk_id for h in hybrid_h.search(q, 10)] for q in questions]
    res["hybrid_top10_overlap_hnsw_vs_flat"] = round(float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(flat_hits, hnsw_hits)])), 4)
    idx.dense = flat

    # Step 4b: the dense side alone (top-100 pool, as Retriever asks), flat vs HNSW, and recall.
    pool = hybrid.fusion.pool
    res["dense_flat_top100"] = summary(time_each(lambda v: flat.search(v, pool), list(qvecs)))
    _, exact = flat._index.search(qvecs, pool)
    res["hnsw"] = {}
    for ef in ef_values:
        hnsw_index.hnsw.efSearch = ef
        lat = summary(time_each(lambda v: hnsw.search(v, pool), list(qvecs)))
        _, approx = hnsw_index.search(qvecs, pool)
        r10 = np.mean([len(set(a[:10]) & set(e[:10])) / 10 for a, e in zip(approx, exact)])
        r100 = np.mean([len(set(a) & set(e)) / pool for a, e in zip(approx, exact)])
        res["hnsw"][str(ef)] = {**lat, "recall@10": round(float(r10), 4), "recall@100": round(float(r100), 4)}
    hnsw_index.hnsw.efSearch = HNSW_EF_SEARCH
    res["hnsw_default_ef"] = HNSW_EF_SEARCH

    # Step 4c: the same with FAISS on one OpenMP thread. A single-query flat search is split across
    # threads; when another process keeps the other core busy, the threads wait on each other.
    omp_default = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    one = {"search_hybrid_flat": summary(time_each(lambda q: hybrid.search(q, 10), questions)),
           "dense_flat_top100": summary(time_each(lambda v: flat.search(v, pool), list(qvecs)))}
    idx.dense = hnsw
    one["search_hybrid_hnsw"] = summary(time_each(lambda q: hybrid.search(q, 10), questions))
    one["dense_hnsw_top100"] = summary(time_each(lambda v: hnsw.search(v, pool), list(qvecs)))
    idx.dense = flat
    faiss.omp_set_num_threads(omp_default)
    res["faiss_1_thread"] = one
    res["faiss_threads_default"] = omp_default
    res["peak_rss_mb"] = round(peak_rss_mb())
    res["load_avg_end"] = os.getloadavg()[0]
    return res


# ---------------------------------------------------------------- driver
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--json", type=Path, help="write all results here")
    ap.add_argument("--build", type=int, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--serve-again", action="store_true", help="only re-run the serving measurements of --sizes from files kept with --keep, updating --json")
    ap.add_argument("--append", action="store_true", help="keep the other sizes already in --json")
    ap.add_argument("--keep", action="store_true", help="keep the per-size index files under the work dir")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.build:
        print(json.dumps(run_build(args.build)))
        return 0
    if args.serve:
        print(json.dumps(run_serve(args.serve)))
        return 0
    if args.serve_again:  # re-measure serving from kept build files (e.g. when the machine is quieter)
        results = json.loads(args.json.read_text())
        for row in results["sizes"]:
            if row["build"]["n"] in args.sizes and (WORK / f"n{row['build']['n']}").is_dir():
                print(f"== {row['build']['n']}: serve again (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
                p = subprocess.run([sys.executable, __file__, "--serve", str(row["build"]["n"])], capture_output=True, text=True)
                if p.returncode != 0:
                    raise SystemExit(p.stderr[-3000:])
                row["serve"] = json.loads(p.stdout.strip().splitlines()[-1])
        args.json.write_text(json.dumps(results, indent=1))
        return 0
    t0 = time.perf_counter()
    info = prepare()
    print(f"real chunks: {info}", file=sys.stderr)
    results = {"real": info, "sizes": []}
    if args.append and args.json and args.json.is_file():  # add sizes to an earlier run's results
        results["sizes"] = [r for r in json.loads(args.json.read_text())["sizes"] if r["build"]["n"] not in args.sizes]
    for n in args.sizes:
        row = {}
        for phase in ("build", "serve"):
            print(f"== {n}: {phase} (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
            p = subprocess.run([sys.executable, __file__, f"--{phase}", str(n)], capture_output=True, text=True)
            if p.returncode != 0:
                print(p.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{phase} {n} failed")
            row[phase] = json.loads(p.stdout.strip().splitlines()[-1])
            print(json.dumps(row[phase]), file=sys.stderr)
        results["sizes"].append(row)
        results["sizes"].sort(key=lambda r: r["build"]["n"])
        if not args.keep:
            import shutil

            shutil.rmtree(WORK / f"n{n}", ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    results["seconds"] = round(time.perf_counter() - t0)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
