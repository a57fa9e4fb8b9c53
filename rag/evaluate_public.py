"""Answer quality on public QA sets: CMRC-2018 dev and CRUD-RAG quest1doc, through the real pipeline.

Each set becomes a corpus folder of small markdown files (front matter with the title) under the
cache, indexed with `rag.index.build.build_index` like any user's archive (lexical only by default;
`dense=True` embeds it with the default encoder, minutes to an hour on a CPU), then every question
is asked through `Newsrag.ask` in each answer mode. Metrics per mode:

- answer_in_answer: a gold answer string occurs in the answer (text and quotes, folded by `squash`);
- false_refusals: share of questions refused (every question of these sets has an answer);
- gold_cited: a citation points at the gold document;
- verbatim: share of citations whose quote is exactly article.text[start:end];
- latency p50/p95 of `ask`, warm.

Sets (from ../shared/data or $NEWSRAG_SHARED_DATA):
- "cmrc2018": CMRC-2018 dev, 3,219 questions; corpus = its 848 paragraphs.
- "crud-quest1doc": CRUD-RAG quest1doc, the 427 questions of the *odd* half of its events
  (int(crud_id, 16) % 2 == 1; the even half trains the scorer); corpus = the 2,500-document subset
  (every gold article plus seeded distractors).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.config import cache_dir
from rag.errors import NewsragError
from rag.text.fold import squash

PUBLIC_SETS = ("cmrc2018", "crud-quest1doc")


@dataclass(frozen=True)
class PublicQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    gold: str  # source_path of the gold document in the built corpus


@dataclass(frozen=True)
class ModeReport:
    mode: str
    questions: int
    answer_in_answer: float
    false_refusals: float
    gold_cited: float
    verbatim: float
    latency_p50_ms: float
    latency_p95_ms: float


def shared_data() -> Path:
    env = os.environ.get("NEWSRAG_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        raise NewsragError(f"{path} not found; public QA sets live in ../shared/data (or set NEWSRAG_SHARED_DATA)")
    return path


def load_public(name: str, data: Path | None = None) -> tuple[dict[str, tuple[str, str]], list[PublicQuestion]]:
    """({file name: (title, text)}, questions) for a public set."""
    data = data or shared_data()
    if name == "cmrc2018":
        raw = json.loads(_need(data / "cmrc2018" / "cmrc2018_dev.json").read_text(encoding="utf-8"))["data"]
        docs, qs = {}, []
        for art in raw:
            for i, par in enumerate(art["paragraphs"]):
                fname = f"{par['id']}.md"
                docs[fname] = (art.get("title", ""), par["context"])
                qs += [PublicQuestion(qa["id"], qa["question"], tuple(a["text"] for a in qa["answers"]), fname) for qa in par["qas"]]
        return docs, qs
    if name == "crud-quest1doc":
        base = data / "crud-rag"
        keep = set(_need(base / "subset2500_doc_ids.txt").read_text().split())
        docs = {}
        with open(_need(base / "docs.jsonl"), encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d["doc_id"] in keep:
                    docs[f"{d['doc_id']}.md"] = ("", d["text"])
        qs = []
        with open(base / "qa.jsonl", encoding="utf-8") as fh:
            for line in fh:
                q = json.loads(line)
                if q["task"] == "quest1doc" and int(q["crud_id"], 16) % 2 == 1 and f"{q['gold_doc_ids'][0]}.md" in docs:
                    qs.append(PublicQuestion(q["id"], q["question"], (q["answer"],), f"{q['gold_doc_ids'][0]}.md"))
        return docs, qs
    raise NewsragError(f"unknown public set {name!r}; use one of: {', '.join(PUBLIC_SETS)}")


def materialise(name: str, docs: dict[str, tuple[str, str]], root: Path | None = None) -> Path:
    """Write the set's documents as a corpus folder (once; unchanged files are left alone)."""
    folder = (root or cache_dir() / "public") / name / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for fname, (title, text) in docs.items():
        path = folder / fname
        body = f"---\ntitle: {json.dumps(title or fname[:-3], ensure_ascii=False)}\n---\n\n{text}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    return folder


def answer_hit(answers: Sequence[str], answer_text: str, quotes: Sequence[str]) -> bool:
    blob = squash(answer_text + "\n" + "\n".join(quotes))
    return any(squash(a) and squash(a) in blob for a in answers)


def _pct(xs: Sequence[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))] if xs else 0.0


def run_public(name: str, modes: Sequence[str] = ("extractive", "rules"), limit: int = 0, dense: bool = False,
               seed: int = 7, on_question: Callable[[str, int, int], None] | None = None) -> list[ModeReport]:
    """Build (or reuse) the set's index and measure every mode on the same questions.

    Args:
        limit: a seeded sample of this many questions (0 = all).
        dense: hybrid retrieval with the default encoder instead of BM25 alone.
    """
    from rag.index.build import build_index
    from rag.service import Newsrag

    docs, questions = load_public(name)
    corpus = materialise(name, docs)
    index = corpus.parent / ("index-hybrid" if dense else "index-lexical")
    build_index(corpus, index, None if dense else "none")
    service = Newsrag.open(index)
    if limit and limit < len(questions):
        questions = random.Random(seed).sample(questions, limit)
    reports = []
    for mode in modes:
        service.ask(questions[0].question, mode=mode)  # warm: models, jieba, caches
        hits = refused = cited = cites = verbatim = 0
        lat: list[float] = []
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            ans = service.ask(q.question, mode=mode)
            lat.append((time.perf_counter() - t0) * 1000)
            refused += ans.refused
            hits += (not ans.refused) and answer_hit(q.answers, ans.text, [c.quote for c in ans.citations])
            cited += any(c.source_path == q.gold for c in ans.citations)
            cites += len(ans.citations)
            verbatim += sum(service.index.article(c.article_id).text[c.start : c.end] == c.quote for c in ans.citations)
            if on_question:
                on_question(mode, i + 1, len(questions))
        n = len(questions)
        reports.append(ModeReport(mode, n, hits / n, refused / n, cited / n, verbatim / cites if cites else 1.0,
                                  statistics.median(lat), _pct(lat, 95)))
    return reports
