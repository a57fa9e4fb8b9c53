"""Evaluate question answering on a dev set (JSONL) against a loaded Newsrag service.

Dev set rows: {"id", "question", "history": [earlier questions], "answerable": bool,
"gold_articles": [source_path, ...], "key_facts": [str, ...], "type": str}.

Metrics (answerable = questions with "answerable": true):
- recall_at_5: share of an answerable question's gold articles among the top-5 retrieved
  (a republished copy listed in a hit's `also_in` counts), averaged over questions.
- key_fact_accuracy: share of all key facts of answerable questions found in the answer text
  (compared after `squash`: traditional/simplified, width, punctuation and spaces folded).
- verbatim_share: share of citations whose quote is exactly article.text[start:end].
- supported_share: share of cited answer statements whose quoted content occurs in the cited
  passage (see `statement_supported`).
- refusal_accuracy: share of unanswerable questions refused.
- false_refusal_rate: share of answerable questions refused.
- latency p50/p95: wall time of `service.ask` per question, after one warm-up question.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.answer.citations import MARKER_RE
from rag.errors import NewsragError
from rag.text.fold import squash
from rag.types import Answer, Hit, History


class DevsetError(NewsragError):
    pass


class Service(Protocol):  # what rag.service.Newsrag offers
    index: Any

    def ask(self, question: str, history: History = (), **kw) -> Answer: ...
    def search(self, query: str, k: int = 10, **kw) -> list[Hit]: ...
    def plan(self, question: str, history: History = (), **kw) -> Any: ...
    def retrieve(self, plan: Any, k: int = 8) -> list[Hit]: ...
    def answerer(self, mode: str = "extractive") -> Any: ...


@dataclass(frozen=True)
class DevQuestion:
    id: str
    question: str
    history: tuple[str, ...]
    answerable: bool
    gold_articles: tuple[str, ...]
    key_facts: tuple[str, ...]
    type: str


@dataclass(frozen=True)
class QuestionResult:
    id: str
    type: str
    question: str
    answerable: bool
    refused: bool
    recall_at_5: float | None
    facts_found: int
    facts_total: int
    citations: int
    verbatim: int
    statements: int
    supported: int
    latency_ms: float
    answer: str
    gold_cited: bool = False  # a citation (or a republication of it) is one of the gold articles

    @property
    def right(self) -> bool:
        """Answered with every key fact and a gold article among the citations."""
        return self.answerable and not self.refused and self.facts_found == self.facts_total and self.gold_cited


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    recall_at_5: float
    key_fact_accuracy: float
    verbatim_share: float
    supported_share: float
    refusal_accuracy: float
    false_refusal_rate: float
    right_share: float  # answerable questions answered with every key fact and a gold article cited
    latency_p50_ms: float
    latency_p95_ms: float
    mode: str
    results: tuple[QuestionResult, ...]

    def to_dict(self, with_results: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_results:
            d.pop("results")
        return d

    def summary(self) -> str:
        return "\n".join(
            [
                f"questions           {self.questions} ({self.answerable} answerable, {self.unanswerable} unanswerable; retrieval {self.mode})",
                f"gold recall@5       {self.recall_at_5:.3f}",
                f"key-fact accuracy   {self.key_fact_accuracy:.3f}",
                f"right (facts+gold)  {self.right_share:.3f}",
                f"citations verbatim  {self.verbatim_share:.3f}",
                f"statements supported {self.supported_share:.3f}",
                f"refusal accuracy    {self.refusal_accuracy:.3f}",
                f"false refusals      {self.false_refusal_rate:.3f}",
                f"latency p50 / p95   {self.latency_p50_ms:.1f} / {self.latency_p95_ms:.1f} ms",
            ]
        )


def load_devset(path: Path | str) -> list[DevQuestion]:
    """Read a dev set JSONL file.

    Raises:
        DevsetError: the file is missing or a line is not a valid dev question.
    """
    path = Path(path)
    if not path.is_file():
        raise DevsetError(f"no dev set at {path}; pass a JSONL file such as tests/data/devset.jsonl")
    out: list[DevQuestion] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                DevQuestion(
                    id=str(row.get("id", lineno)),
                    question=row["question"],
                    history=tuple(row.get("history", ())),
                    answerable=bool(row["answerable"]),
                    gold_articles=tuple(row.get("gold_articles", ())),
                    key_facts=tuple(row.get("key_facts", ())),
                    type=row.get("type", ""),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DevsetError(f"{path}:{lineno}: not a dev question ({exc}); each line needs at least \"question\" and \"answerable\"") from None
    return out


def _retrieved_paths(hits: Iterable[Hit]) -> set[str]:
    paths: set[str] = set()
    for h in hits:
        paths.add(h.article.source_path)
        paths.update(a.source_path for a in h.also_in)
    return paths


def fact_found(fact: str, text: str) -> bool:
    """Whether a key fact occurs in a text, ignoring script, width, case, punctuation and spaces."""
    return squash(fact) in squash(text)


_FRAME_RE = re.compile(r"^(据.{0,40}?报道，|According to .{0,60}?:\s*)")


def statements(answer: Answer) -> list[tuple[str, list[int]]]:
    """The cited statements of an answer: (text before a marker group, its marker numbers)."""
    out: list[tuple[str, list[int]]] = []
    pos = 0
    text = answer.text
    for m in re.finditer(r"(?:\[\d{1,3}\])+", text):
        body = text[pos : m.start()]
        body = body.split("\n")[-1]
        body = re.split(r"(?<=[。！？])", body.strip())
        body = next((b for b in reversed(body) if b.strip()), "")
        out.append((body, [int(n) for n in MARKER_RE.findall(m.group(0))]))
        pos = m.end()
    return out


def statement_supported(body: str, quotes: Sequence[str]) -> bool:
    """A statement is supported when, framing removed, it occurs in its cited quotes, or (for
    paraphrase) 80% of its character bigrams do and every number in it occurs in them."""
    content = squash(_FRAME_RE.sub("", body.strip()).strip("「」"))
    if not content:
        return True
    joined = squash("".join(quotes))
    if content in joined:
        return True
    grams = {content[i : i + 2] for i in range(len(content) - 1)}
    share = sum(g in joined for g in grams) / max(1, len(grams))
    numbers = re.findall(r"\d+(?:\.\d+)?", content)
    return share >= 0.8 and all(n in joined for n in numbers)


def _percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    i = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[i]


def evaluate_question(service: Service, q: DevQuestion, k: int = 8, mode: str = "extractive") -> QuestionResult:
    """Run one dev question: retrieval recall, the answer and its checks."""
    recall = None
    if q.answerable and q.gold_articles:
        hits = service.search(service.plan(q.question, q.history).query, k=5)
        got = _retrieved_paths(hits)
        recall = sum(g in got for g in q.gold_articles) / len(q.gold_articles)
    t0 = time.perf_counter()
    answer = service.ask(q.question, history=list(q.history), k=k, mode=mode)
    latency = (time.perf_counter() - t0) * 1000
    verbatim = sum(service.index.article(c.article_id).text[c.start : c.end] == c.quote for c in answer.citations)
    by_n = {c.n: c.quote for c in answer.citations}
    stmts = [] if answer.refused else statements(answer)
    supported = sum(statement_supported(body, [by_n.get(n, "") for n in ns]) for body, ns in stmts)
    found = 0 if answer.refused else sum(fact_found(f, answer.text) for f in q.key_facts)
    cited_paths = set()
    for c in answer.citations:  # a republished copy of a gold article counts, as in recall
        art = service.index.article(c.article_id)
        canonical = service.index.article(art.duplicate_of) if art.duplicate_of else art
        cited_paths |= {canonical.source_path} | {a.source_path for a in service.index.republications(canonical.article_id)}
    gold_cited = bool(cited_paths & set(q.gold_articles))
    return QuestionResult(
        id=q.id, type=q.type, question=q.question, answerable=q.answerable, refused=answer.refused,
        recall_at_5=recall, facts_found=found, facts_total=len(q.key_facts) if q.answerable else 0,
        citations=len(answer.citations), verbatim=verbatim, statements=len(stmts), supported=supported,
        latency_ms=latency, answer=answer.text, gold_cited=gold_cited,
    )


def evaluate(service: Service, devset: Sequence[DevQuestion], k: int = 8, mode: str = "extractive") -> EvalReport:
    """Evaluate every dev question; the first question is asked once beforehand to warm caches."""
    if not devset:
        raise DevsetError("the dev set is empty; add at least one question")
    service.ask(devset[0].question, k=k, mode=mode)  # warm-up: model, jieba, sentence caches
    results = [evaluate_question(service, q, k, mode) for q in devset]
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    recalls = [r.recall_at_5 for r in answerable if r.recall_at_5 is not None]
    facts_total = sum(r.facts_total for r in answerable)
    cites = sum(r.citations for r in results)
    stmts = sum(r.statements for r in results)
    lat = [r.latency_ms for r in results]
    return EvalReport(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        recall_at_5=statistics.fmean(recalls) if recalls else 0.0,
        key_fact_accuracy=sum(r.facts_found for r in answerable) / facts_total if facts_total else 0.0,
        verbatim_share=sum(r.verbatim for r in results) / cites if cites else 1.0,
        supported_share=sum(r.supported for r in results) / stmts if stmts else 1.0,
        refusal_accuracy=sum(r.refused for r in unanswerable) / len(unanswerable) if unanswerable else 1.0,
        false_refusal_rate=sum(r.refused for r in answerable) / len(answerable) if answerable else 0.0,
        right_share=sum(r.right for r in answerable) / len(answerable) if answerable else 0.0,
        latency_p50_ms=_percentile(lat, 50),
        latency_p95_ms=_percentile(lat, 95),
        mode=getattr(service, "mode", "?"),
        results=tuple(results),
    )


@dataclass(frozen=True)
class CalibrationPoint:
    threshold: float
    false_refusals: int  # answerable questions that would be refused
    unsupported_answers: int  # unanswerable questions that would be answered
    answerable: int
    unanswerable: int


def calibrate(service: Service, devset: Sequence[DevQuestion], thresholds: Sequence[float], k: int = 8, mode: str = "extractive") -> list[CalibrationPoint]:
    """Refusal trade-off over thresholds, from each question's best-candidate score under `mode`."""
    answerer = service.answerer(mode)
    if not hasattr(answerer, "best_score"):
        raise DevsetError(f"answer mode {mode!r} has no refusal score to calibrate; use extractive or rules")
    supports = []
    for q in devset:
        plan = service.plan(q.question, q.history)
        supports.append((q.answerable, answerer.best_score(plan, service.retrieve(plan, k))))  # the passages `ask` uses
    n_a = sum(a for a, _ in supports)
    n_u = len(supports) - n_a
    return [
        CalibrationPoint(t, sum(1 for a, s in supports if a and s < t), sum(1 for a, s in supports if not a and s >= t), n_a, n_u)
        for t in thresholds
    ]
