"""The one benchmark entry point: runs every part and writes docs/BENCHMARKS.md.

Parts (each a script in benchmarks/, run as a subprocess, one after the other, results as JSON):
  retrieval  bench_retrieval.py   quality on CMRC-2018 dev and CRUD-RAG: newsrag vs BM25 vs dense
  langchain  bench_langchain.py   newsrag vs LangChain EnsembleRetriever: quality, build, latency, RSS
  index      bench_index.py       indexing throughput vs raw model.encode; search and ask latency
  scale      bench_scale.py       10k / 100k / 1M chunks: build, RSS, latency, HNSW vs flat

    .venv/bin/python benchmarks/run_all.py                  # everything (hours on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick          # CMRC only, bundled-corpus subset, 10k/100k
    .venv/bin/python benchmarks/run_all.py --parts scale index
    .venv/bin/python benchmarks/run_all.py --render-only    # rebuild the page from saved JSON

Needs the `bench` extra (pip install -e '.[bench]') and ../shared/data. Raw results are kept in
$NEWSRAG_BENCH_DIR/results (default /tmp/newsrag-bench/results); parts not run this time are
rendered from there when present, with their own date and machine load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("NEWSRAG_BENCH_DIR", "/tmp/newsrag-bench")) / "results"
PARTS = ("retrieval", "langchain", "index", "scale")


def commands(quick: bool, scale_sizes: list[int] | None = None, langchain_sets: list[str] | None = None) -> dict[str, list[str]]:
    py = sys.executable
    cmds = commands(quick) if scale_sizes or langchain_sets else None
    if scale_sizes:
        cmds["scale"] = [py, str(BENCH / "bench_scale.py"), "--sizes", *map(str, scale_sizes), "--append"]
    if langchain_sets:
        cmds["langchain"] = [py, str(BENCH / "bench_langchain.py"), "--sets", *langchain_sets, "--append"]
    if cmds:
        return cmds
    if quick:
        return {
            "retrieval": [py, str(BENCH / "bench_retrieval.py"), "--sets", "cmrc"],
            "langchain": [py, str(BENCH / "bench_langchain.py"), "--sets", "cmrc", "--latency-queries", "100"],
            "index": [py, str(BENCH / "bench_index.py"), "--quick"],
            "scale": [py, str(BENCH / "bench_scale.py"), "--sizes", "10000", "100000"],
        }
    return {
        "retrieval": [py, str(BENCH / "bench_retrieval.py")],
        "langchain": [py, str(BENCH / "bench_langchain.py"), "--sets", "cmrc", "crud"],
        "index": [py, str(BENCH / "bench_index.py")],
        "scale": [py, str(BENCH / "bench_scale.py"), "--sizes", "10000", "100000", "1000000"],
    }


def machine() -> dict:
    import psutil

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), platform.processor())
    versions = {}
    for dist in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "jieba", "numpy", "langchain-core", "langchain-community", "langchain-classic", "rank-bm25"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "-"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": commit,
    }


def run_part(name: str, cmd: list[str]) -> dict:
    out = RESULTS / f"{name}.json"
    cmd = cmd + ["--json", str(out)]
    print(f"== {name}: {shlex.join(cmd)}", file=sys.stderr)
    load0 = os.getloadavg()
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    meta = {
        "command": shlex.join([Path(c).relative_to(ROOT).as_posix() if c.startswith(str(ROOT)) else c for c in cmd[:-2]]),
        "started": started,
        "seconds": round(time.perf_counter() - t0),
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "returncode": p.returncode,
    }
    path = RESULTS / f"{name}.meta.json"
    runs = [meta]
    if "--append" in cmd and path.is_file():  # this run added to earlier results: keep their provenance too
        old = json.loads(path.read_text())
        runs = (old if isinstance(old, list) else [old]) + runs
    path.write_text(json.dumps(runs if len(runs) > 1 else meta, indent=1))
    return meta


def load_part(name: str) -> tuple[dict | None, dict | None]:
    data, meta = RESULTS / f"{name}.json", RESULTS / f"{name}.meta.json"
    return (json.loads(data.read_text()) if data.is_file() else None, json.loads(meta.read_text()) if meta.is_file() else None)


# ------------------------------------------------------------------------------- rendering
def table(header: list[str], rows: list[list]) -> str:
    def cell(x):
        if isinstance(x, float):
            return f"{x:.3f}" if abs(x) < 1 else f"{x:.2f}" if abs(x) < 10 else f"{x:,.1f}"
        if isinstance(x, int):
            return f"{x:,}"
        return "" if x is None else str(x)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def provenance(meta: dict | list | None) -> str:
    if not meta:
        return "_(no run metadata)_"
    if isinstance(meta, list):
        return "\n\n".join(provenance(m) for m in meta)
    return (f"Command: `{meta['command']}` — started {meta['started']}, {meta['seconds']:,} s, "
            f"load average {meta['load_before'][0]:.2f} before / {meta['load_after'][0]:.2f} after"
            + ("" if meta.get("returncode", 0) == 0 else f" — **exit code {meta['returncode']}**"))


def default_weight() -> float:
    sys.path.insert(0, str(ROOT))
    from rag.retrieve import FusionConfig

    return FusionConfig().lexical_weight


def render_retrieval(data, meta, lc) -> str:
    out = ["## Retrieval quality (CMRC-2018 dev, CRUD-RAG)", "", provenance(meta), ""]
    if not data:
        return "\n".join(out + ["_Not run yet._", ""])
    w = default_weight()
    newsrag_key = f"hybrid w={w:.2f}"
    out += [f"Documents rank by their best chunk (newsrag's chunker, 150-350 characters). newsrag = the shipped fusion "
            f"(lexical weight {w:.2f}, rising to 0.90 for long queries of 12-24+ distinct terms); the other `hybrid w=` rows "
            "are the weight sweep it was chosen from (each with the same long-query ramp), and `hybrid fixed w=0.60` is the "
            "shipped weight without the ramp. "
            "LangChain = EnsembleRetriever(FAISS + BM25Retriever, weights [0.5, 0.5], k=10 per side) on the same chunks, "
            "tokens and vectors (benchmarks/bench_langchain.py). CRUD sets use the 2,500-document subset "
            "(`subset2500_doc_ids.txt`); `crud20k-bm25` (when run) is BM25 alone over all 20,000 documents.", ""]
    lc_task = {}
    for set_name, row in (lc or {}).items():
        for task, q in row["langchain"]["quality"].items():
            lc_task[task] = q
    for set_name, res in data.items():
        if "all" in res:
            runs = res["all"]
            order = [k for k in (newsrag_key, "bm25", "dense") if k in runs] + [k for k in runs if k not in (newsrag_key, "bm25", "dense")]
            rows = []
            for k in order:
                label = f"**newsrag** ({k})" if k == newsrag_key else k
                rows.append([label, runs[k]["R@1"], runs[k]["R@5"], runs[k]["MRR@10"]])
            if set_name in lc_task:
                q = lc_task[set_name]
                rows.insert(min(3, len(rows)), ["LangChain EnsembleRetriever", q["R@1"], q["R@5"], q["MRR@10"]])
            out += [f"### {set_name} ({res.get('n', '?'):,} queries)" if isinstance(res.get("n"), int) else f"### {set_name}", "",
                    table(["run", "R@1", "R@5", "MRR@10"], rows), ""]
        else:
            rows = [[task, k, v["R@1"], v["R@5"], v["MRR@10"]] for task, runs in res.items() for k, v in runs.items()]
            out += [f"### {set_name}", "", table(["task", "run", "R@1", "R@5", "MRR@10"], rows), ""]
    return "\n".join(out)


def render_langchain(data, meta) -> str:
    out = ["## newsrag vs LangChain: build, latency, memory (same chunks, same embedder)", "", provenance(meta), ""]
    if not data:
        return "\n".join(out + ["_Not run yet._", ""])
    first = next(iter(data.values()))
    v = first["langchain"].get("versions", {})
    out += ["Each pipeline runs in its own process with the model loaded and warm. Build = from chunk texts to a "
            "searchable index, chunk vectors read from the embedding cache on both sides (no encoding), so it "
            "measures tokenising + BM25 + FAISS. Latency = one query end to end (query encoding included; newsrag "
            "`Retriever.search(q, 10)`, LangChain `EnsembleRetriever.invoke(q)`), both pipelines in one process, "
            "alternating query by query so both see the same load. RSS includes the model "
            f"(about {first['newsrag']['rss_model_mb']} MB on its own). LangChain versions: "
            + ", ".join(f"{k} {val}" for k, val in v.items()) + ".", ""]
    rows = []
    for set_name, row in data.items():
        for p in ("newsrag", "langchain"):
            r = row[p]
            rows.append([set_name, p, r["chunks"], r["build_s"], r["latency"]["p50_ms"], r["latency"]["p95_ms"],
                         r["rss_after_build_mb"], r.get("peak_rss_build_mb", r.get("peak_rss_mb")),
                         f"{r['load_avg_start']:.2f} / {row.get('latency_load', [0])[0]:.2f}"])
        ratio = row["ratios"]
        rows.append([set_name, "**ratio LangChain / newsrag**", "", ratio["build_langchain_over_newsrag"],
                     ratio["latency_p50_langchain_over_newsrag"], ratio["latency_p95_langchain_over_newsrag"], "", "", ""])
    out += [table(["set", "pipeline", "chunks", "build s", "p50 ms", "p95 ms", "RSS after build MB", "peak RSS to build MB", "load (build / latency)"], rows), ""]
    q_rows = []
    for set_name, row in data.items():
        for p in ("newsrag", "langchain"):
            for task, q in row[p]["quality"].items():
                q_rows.append([task, p, q["n"], q["R@1"], q["R@5"], q["MRR@10"]])
    out += ["Quality measured in the same run (newsrag here = `Retriever.scores` over its candidate pool, as bench_retrieval.py):", "",
            table(["task", "pipeline", "queries", "R@1", "R@5", "MRR@10"], q_rows), ""]
    return "\n".join(out)


def render_index(data, meta) -> str:
    out = ["## Indexing throughput and query / answer latency (bundled corpus)", "", provenance(meta), ""]
    if not data:
        return "\n".join(out + ["_Not run yet._", ""])
    i, r = data["index"], data["raw_encode"]
    out += [f"Corpus: {data['corpus']} — {i['articles']} articles, {i['chunks']:,} chunks. `build_index` (what "
            "`newsrag index` runs) in a fresh process with a cold embedding cache (the converted model is reused); "
            "raw = `SentenceTransformer.encode` of the same chunk texts, same prompt, batch 32, in the same run.", ""]
    rows = [["newsrag index (whole build, incl. model load, read, chunk, tokenise, BM25, FAISS, write)", i["total_s"], i["chunks_per_s"], i.get("load_avg_before")],
            ["newsrag index, embedding stage only", i.get("embed_stage_s"), i.get("embed_chunks_per_s"), ""],
            ["raw model.encode, same texts", r["seconds"], r["chunks_per_s"], r["load_avg_before"]]]
    out += [table(["what", "seconds", "chunks/s", "load"], rows), "",
            f"**Ratio newsrag index / raw encode: {data['ratio_index_vs_raw']:.0%}** (embedding stage alone: "
            f"{data.get('ratio_embed_stage_vs_raw', float('nan')):.0%}); goal ≥ 90 %. Stages (s): "
            + ", ".join(f"{k} {v}" for k, v in i.get("stages", {}).items()) + f"; indexer peak RSS {i['peak_rss_mb']} MB.", ""]
    rows = []
    for name in ("search", "ask"):
        s = data.get(name, {})
        if "error" in s:
            rows.append([name, "", "", "", f"not measured: {s['error'][:120]}"])
        elif s:
            rows.append([name, s["p50_ms"], s["p95_ms"], s["n"], f"load {s['load_avg_before']:.2f}"])
    q = data.get("questions", {})
    out += [f"Latency with the model warm, through `rag.service.Newsrag` (`search(q, 10)`; `ask(q)` extractive), "
            f"{q.get('n')} timings over {q.get('distinct')} distinct questions of tests/data/devset.jsonl. "
            f"Process RSS after `Newsrag.open`: {data.get('rss_after_open_mb')} MB; peak {data.get('peak_rss_mb')} MB.", "",
            table(["call", "p50 ms", "p95 ms", "n", "note"], rows), ""]
    return "\n".join(out)


def render_scale(data, meta) -> str:
    out = ["## Scale: 10k / 100k / 1M chunks", "", provenance(meta), ""]
    if not data:
        return "\n".join(out + ["_Not run yet._", ""])
    real = data["real"]
    sizes = data["sizes"]
    b0 = sizes[0]["build"]
    out += [f"Chunks: {real['chunks']:,} real chunks ({real['chunk_chars']:,} characters) from news-sample "
            f"({real['news_sample_canonical']:,} canonical articles read with rag.ingest) and CRUD-RAG docs.jsonl "
            f"({real['crud_docs']:,} documents), chunked and tokenised by newsrag, shuffled (seed 0). 10k and 100k are "
            "prefixes; 1M is the 100k prefix tiled ×10 (same texts and tokens, new ids).", "",
            f"**Stored vectors stand in for dense vectors**: chunks whose vector is in the embedding cache keep it "
            f"(real vectors per size in the table); every other chunk gets one of {b0['base_vectors']:,} real cached vectors "
            f"(bundled corpus, CMRC, CRUD subset) plus Gaussian noise (σ = {b0['noise_sigma']} per dimension), renormalised, "
            f"so that a stand-in's cosine to its source equals the median real nearest-neighbour cosine ({b0['nn_cosine_median']}). "
            "Flat-search latency does not depend on the values; HNSW latency and recall do, so the HNSW recall below is an "
            "estimate on this synthetic neighbourhood structure.", "",
            f"Queries: {sizes[0]['serve']['queries']} CRUD-RAG questions (qa.jsonl, seeded sample), one at a time, "
            "query encoder warm; latency includes encoding the query. Each size is built in one fresh process and "
            "served from the saved files in another (RSS after load = what a newsrag process holds).", ""]
    rows = []
    for s in sizes:
        b, v = s["build"], s["serve"]
        rows.append([f"{s['build']['n']:,}", b["real_vectors"], b["bm25_build_s"], b["flat_build_s"], b["hnsw_build_s"],
                     b["peak_rss_build_mb"], v["rss_model_mb"], v["rss_flat_mb"], v["rss_flat_hnsw_mb"], b["load_avg"]])
    out += ["### Build and memory", "",
            table(["chunks", "real vectors", "BM25 build s", "flat build s", f"HNSW build s (M={b0['hnsw_params']['M']}, efC={b0['hnsw_params']['efConstruction']})",
                   "peak RSS build MB", "RSS model only MB", "RSS after load (flat) MB", "+ HNSW MB", "load"], rows), ""]
    rows = []
    for s in sizes:
        v = s["serve"]
        rows.append([f"{v['n']:,}", v["search_hybrid_flat"]["p50_ms"], v["search_hybrid_flat"]["p95_ms"],
                     v["search_hybrid_hnsw"]["p50_ms"], v["search_hybrid_hnsw"]["p95_ms"],
                     v["search_lexical"]["p50_ms"], v["search_lexical"]["p95_ms"], v["encode_query"]["p50_ms"],
                     v["hybrid_top10_overlap_hnsw_vs_flat"], f"{v['load_avg_start']:.2f}-{v['load_avg_end']:.2f}"])
    out += ["### Search latency (ms), `Retriever.search(q, 10)`", "",
            table(["chunks", "hybrid flat p50", "hybrid flat p95", "hybrid HNSW p50", "hybrid HNSW p95", "BM25-only p50",
                   "BM25-only p95", "query encode p50", "top-10 overlap HNSW vs flat", "load"], rows), "",
            "Goal at 100k chunks: p50 ≤ 40 ms, p95 ≤ 100 ms.", ""]
    rows = []
    for s in sizes:
        v = s["serve"]
        one = v.get("faiss_1_thread")
        if not one:
            continue
        rows.append([f"{v['n']:,}", v["search_hybrid_flat"]["p50_ms"], v["search_hybrid_flat"]["p95_ms"],
                     one["search_hybrid_flat"]["p50_ms"], one["search_hybrid_flat"]["p95_ms"],
                     one["search_hybrid_hnsw"]["p50_ms"], one["search_hybrid_hnsw"]["p95_ms"],
                     v["dense_flat_top100"]["p50_ms"], one["dense_flat_top100"]["p50_ms"], one["dense_hnsw_top100"]["p50_ms"]])
    if rows:
        out += ["### FAISS OpenMP threads: default vs one thread per query", "",
                f"FAISS splits a single-query flat search over its OpenMP threads (default {next((x['serve']['faiss_threads_default'] for x in sizes if 'faiss_threads_default' in x['serve']), '?')}); "
                "when other processes keep the cores busy the threads wait on each other. Same queries, same process, "
                "after `faiss.omp_set_num_threads(1)`:", "",
                table(["chunks", "hybrid flat p50 (default)", "p95 (default)", "hybrid flat p50 (1 thread)", "p95 (1 thread)",
                       "hybrid HNSW p50 (1 thread)", "p95 (1 thread)", "dense flat top-100 p50 (default)", "(1 thread)", "dense HNSW top-100 p50 (1 thread)"], rows), ""]
    rows = []
    for s in sizes:
        v = s["serve"]
        d = v["dense_flat_top100"]
        rows.append([f"{v['n']:,}", "flat (exact)", "", d["p50_ms"], d["p95_ms"], 1.0, 1.0])
        for ef, h in v["hnsw"].items():
            rows.append([f"{v['n']:,}", "HNSW" + (" (default)" if int(ef) == v["hnsw_default_ef"] else ""), ef, h["p50_ms"], h["p95_ms"], h["recall@10"], h["recall@100"]])
    out += ["### Dense side alone: flat vs HNSW (top-100 pool, as the retriever asks)", "",
            table(["chunks", "index", "efSearch", "p50 ms", "p95 ms", "recall@10 vs exact", "recall@100 vs exact"], rows), ""]
    fits = [(x["serve"]["n"], x["serve"]["faiss_1_thread"]["dense_flat_top100"]["p50_ms"]) for x in sizes if "faiss_1_thread" in x["serve"]]
    if fits:
        n_big, ms_big = max(fits)
        per_100k = ms_big / n_big * 100_000
        out += ["### Where exact search stops being cheap", "",
                f"Flat search is a linear scan: on one thread it cost {ms_big:.1f} ms (p50) for {n_big:,} vectors, about "
                f"{per_100k:.1f} ms per 100k vectors, so it reaches 10 ms near {round(10 / per_100k * 10) * 10_000:,} vectors and 20 ms near "
                f"{round(20 / per_100k * 10) * 10_000:,}; HNSW stays around a millisecond but costs a rebuild of the graph "
                "(see Build and memory), memory, and some recall. The threshold in use is given in the Summary.", ""]
    return "\n".join(out)


def render_summary(parts: dict) -> str:
    """Key figures against the goals, computed from whatever parts have results."""
    lines = ["## Summary", ""]
    idx = parts["index"][0]
    if idx:
        lines.append(f"- Indexing: `newsrag index` embeds at {idx['index'].get('embed_chunks_per_s')} chunks/s vs raw `model.encode` "
                     f"{idx['raw_encode']['chunks_per_s']} chunks/s on the same {idx['index']['chunks']:,} chunks: "
                     f"**{idx.get('ratio_embed_stage_vs_raw', idx['ratio_index_vs_raw']):.0%}** of raw (whole build {idx['ratio_index_vs_raw']:.0%}); goal ≥ 90 %.")
        if "p50_ms" in idx.get("search", {}):
            lines.append(f"- Bundled corpus, model warm: search p50 {idx['search']['p50_ms']} ms / p95 {idx['search']['p95_ms']} ms; "
                         + (f"ask p50 {idx['ask']['p50_ms']} ms / p95 {idx['ask']['p95_ms']} ms." if "p50_ms" in idx.get("ask", {}) else "ask not measured."))
    lc = parts["langchain"][0]
    if lc:
        for name, row in lc.items():
            r = row["ratios"]
            lines.append(f"- vs LangChain EnsembleRetriever ({name}): LangChain latency is {r['latency_p50_langchain_over_newsrag']}× newsrag's at p50 "
                         f"({r['latency_p95_langchain_over_newsrag']}× at p95), build {r['build_langchain_over_newsrag']}×.")
    sc = parts["scale"][0]
    if sc:
        for x in sc["sizes"]:
            v = x["serve"]
            one = v.get("faiss_1_thread", {})
            lines.append(f"- {v['n']:,} chunks: hybrid search p50 {v['search_hybrid_flat']['p50_ms']} / p95 {v['search_hybrid_flat']['p95_ms']} ms (flat)"
                         + (f", {one['search_hybrid_hnsw']['p50_ms']} / {one['search_hybrid_hnsw']['p95_ms']} ms (HNSW, FAISS 1 thread)" if one else "")
                         + f", of which query encoding p50 {v['encode_query']['p50_ms']} ms (load {v['load_avg_start']:.1f}); RSS after load {v['rss_flat_mb']:,} MB.")
    try:
        sys.path.insert(0, str(ROOT))
        from rag.index.dense import HNSW_EF_SEARCH, HNSW_THRESHOLD

        lines.append(f"- Dense index: exact (flat) below `rag.index.dense.HNSW_THRESHOLD` = {HNSW_THRESHOLD:,} chunks, HNSW (efSearch {HNSW_EF_SEARCH}) from there; "
                     "measurements in the Scale section.")
    except ImportError:
        pass
    lines.append("")
    return "\n".join(lines)


def render(m: dict, quick: bool) -> str:
    parts = {name: load_part(name) for name in PARTS}
    now = dt.datetime.now().astimezone()
    head = [
        "# Benchmarks",
        "",
        f"Written by `benchmarks/run_all.py` on {now:%Y-%m-%d %H:%M %Z}. "
        "Each section names the command that produced it, when it ran and the machine load at the time "
        "(other jobs share this machine, so timings are noisy; compare rows measured in the same run).",
        "",
        "## Machine",
        "",
        table(["", ""], [["CPU", m["cpu"]], ["cores (nproc)", m["nproc"]], ["RAM", f"{m['ram_gib']} GiB"],
                         ["OS / Python", f"{m['os']} / {m['python']}"], ["load average now", " ".join(f"{x:.2f}" for x in os.getloadavg())],
                         ["git commit", m["commit"]], ["versions", ", ".join(f"{k} {v}" for k, v in m["versions"].items())]]),
        "",
        "Reproduce: `pip install -e '.[bench]'`, then `.venv/bin/python benchmarks/run_all.py` (add `--quick` for a "
        "smaller run). The parts can be run alone; their commands are listed in each section.",
        "",
    ]
    body = [
        render_summary(parts),
        render_retrieval(*parts["retrieval"], parts["langchain"][0]),
        render_langchain(*parts["langchain"]),
        render_index(*parts["index"]),
        render_scale(*parts["scale"]),
    ]
    return "\n".join(head) + "\n" + "\n".join(body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller run: CMRC only, part of the bundled corpus, 10k and 100k chunks")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--scale-sizes", nargs="+", type=int, help="run only these sizes of the scale part, keeping the others' saved results")
    ap.add_argument("--langchain-sets", nargs="+", choices=["cmrc", "crud"], help="run only these sets of the langchain part, keeping the others' saved results")
    ap.add_argument("--render-only", action="store_true", help="do not run anything; rebuild the page from saved results")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    m = machine()
    if not args.render_only:
        cmds = commands(args.quick, args.scale_sizes, args.langchain_sets)
        for name in args.parts:  # sequential: parts would disturb each other's timings
            meta = run_part(name, cmds[name])
            if meta["returncode"] != 0:
                print(f"{name} failed (exit {meta['returncode']}); continuing with the others", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(m, args.quick), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
