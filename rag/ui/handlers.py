"""What the web app does per request, apart from layout: chat streaming, the JSON API, lookup, corpus.

Each handler catches its own failures and renders them, so one bad request never breaks a session.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from typing import Any, Iterator

from rag.errors import NewsragError
from rag import validate
from rag.retrieve import Filters
from rag.validate import MAX_QUERY_CHARS
from rag.types import UNKNOWN_OUTLET_UI, Answer, outlet_label
from rag.ui import render

log = logging.getLogger(__name__)

MAX_K = 30
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
REVEAL_CHARS = 14  # extractive answers are ready at once; reveal them in small steps for the stream
REVEAL_PAUSE = 0.015


class UserError(NewsragError):
    """A request the user can fix (empty or long question, bad date); shown as a clear message."""


def check_question(question: str | None) -> str:
    try:
        return validate.check_question(question)
    except NewsragError as exc:
        raise UserError(str(exc)) from None


def make_filters(outlets: Any, since: str | None, until: str | None) -> Filters:
    try:
        dates = [validate.check_date(since, "since"), validate.check_date(until, "until")]
    except NewsragError as exc:
        raise UserError(str(exc)) from None
    if isinstance(outlets, str):
        outlets = [outlets] if outlets else []
    return Filters(tuple(o for o in (outlets or []) if o), dates[0], dates[1])


MAX_HISTORY = 20  # earlier questions an API caller may send; the follow-up rewrite reads only the last few


def make_history(history: Any) -> tuple[str, ...]:
    """The API's `history` (earlier questions, oldest first) as the service takes it; empty items dropped."""
    if history is None or history == "":
        return ()
    if isinstance(history, str):
        history = [history]
    if not isinstance(history, (list, tuple)) or not all(isinstance(h, str) for h in history):
        raise UserError("history must be a list of the conversation's earlier questions (strings), oldest first")
    items = tuple(h.strip() for h in history if h.strip())[-MAX_HISTORY:]
    for h in items:
        if len(h) > MAX_QUERY_CHARS:
            raise UserError(f"a history question is {len(h)} characters long; send at most {MAX_QUERY_CHARS}")
    return items


def make_k(k: Any) -> int:
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise UserError(f"the number of sources must be a whole number, got {k!r}") from None
    return max(1, min(MAX_K, k))


def answer_modes(llm_ok: bool, llm_label: str) -> list[tuple[str, str]]:
    """(label, mode) choices for the answer-mode control, from the answerer registry; the LLM
    mode only when an endpoint is configured."""
    from rag.answer.registry import ANSWERERS, make_answerer

    out = []
    for mode in ANSWERERS:
        if mode == "llm":
            if llm_ok:
                out.append((llm_label, mode))
        else:
            out.append((make_answerer(mode).label, mode))
    return out


def _mode(mode: str | None) -> str:
    from rag.answer.registry import ANSWERERS, DEFAULT_MODE

    return mode if mode in ANSWERERS else DEFAULT_MODE


def llm_available() -> tuple[bool, str]:
    """(configured, label) for the answer-mode control."""
    try:
        from rag.answer.llm import LLMConfig

        cfg = LLMConfig.from_env()
    except Exception as exc:  # a malformed config must not stop the app; the label says why
        return False, f"LLM (misconfigured: {exc})"
    return (True, f"LLM ({cfg.model})") if cfg else (False, "LLM (set NEWSRAG_LLM_BASE_URL and NEWSRAG_LLM_MODEL)")


class Handlers:
    """Request handlers bound to one IndexManager (whose `service` may be reloaded at any time)."""

    def __init__(self, manager) -> None:
        self.manager = manager

    @property
    def service(self):
        return self.manager.service

    # -- chat -------------------------------------------------------------------------------
    def chat(self, question: str, turns: list[str], history: list[str], outlets, since, until, k, mode) -> Iterator[tuple[str, list[str], list[str], str]]:
        """Yield (chat html, turns, history, question box) while the answer streams in."""
        turns, history = list(turns or []), list(history or [])
        turn = f"t{len(turns)}"
        shown_q = (question or "").strip() or "(empty question)"
        try:
            q = check_question(question)
            filters, k = make_filters(outlets, since, until), make_k(k)
        except UserError as exc:
            turns.append(render.render_turn(shown_q[:300], render.render_error(str(exc))))
            yield render.render_chat(turns), turns, history, question or ""
            return
        pending = lambda text, status="": render.render_chat(turns + [render.render_turn(q, render.render_streaming(text, status))])  # noqa: E731
        yield pending("", f"Searching the archive ({self.service.mode} retrieval)…"), turns, history, ""
        text, answer, last = "", None, 0.0
        try:
            for part in self.service.ask_stream(q, history, filters, k, _mode(mode)):
                if isinstance(part, Answer):
                    answer = part
                    break
                text += part
                if time.monotonic() - last > 0.05:
                    last = time.monotonic()
                    yield pending(text), turns, history, ""
            if answer is None:
                raise RuntimeError("the answerer ended without an answer")
            if not text and not answer.refused:
                for i in range(REVEAL_CHARS, len(answer.text), REVEAL_CHARS):
                    yield pending(answer.text[:i]), turns, history, ""
                    time.sleep(REVEAL_PAUSE)
            html = render.render_answer(answer, turn, self.service.index.articles)
            history.append((q, answer))  # the answer too: a follow-up does not repeat its quotes
        except NewsragError as exc:
            html = render.render_error(str(exc))
        except Exception as exc:  # never let one request break the session
            log.exception("chat request failed: %r", q)
            html = render.render_error(f"Something went wrong answering this question ({type(exc).__name__}). Try again or rephrase. · 出错了，请重试。")
        turns.append(render.render_turn(q, html))
        yield render.render_chat(turns), turns, history, ""

    # -- JSON API ---------------------------------------------------------------------------
    def ask_json(self, question: str, outlets: list[str] | None = None, since: str | None = None, until: str | None = None, k: int = 8, mode: str = "extractive", history: list[str] | None = None) -> dict:
        """The answer as the `newsrag ask --json` object; `history` = the conversation's earlier questions, oldest first."""
        q = check_question(question)
        answer = self.service.ask(q, make_history(history), make_filters(outlets, since, until), make_k(k), _mode(mode))
        return answer.to_json()

    def lookup_json(self, quote: str, k: int = 10) -> dict:
        q = (quote or "").strip()
        if not q:
            raise UserError("Paste a sentence or phrase to look up. · 请粘贴要查找的句子。")
        if len(q) > MAX_QUERY_CHARS:
            raise UserError(f"The quote is {len(q)} characters long; paste at most {MAX_QUERY_CHARS}.")
        matches = self.service.lookup(q, k=make_k(k))
        return {"query": q, "matches": [m.to_json() for m in matches]}

    def lookup_html(self, quote: str, k: int = 10) -> str:
        try:
            res = self.lookup_json(quote, k)
            return render.render_lookup(res["query"], res["matches"], self.service.index.articles)
        except (NewsragError, ModuleNotFoundError) as exc:
            return render.render_error(str(exc))
        except Exception as exc:
            log.exception("lookup failed")
            return render.render_error(f"Lookup failed ({type(exc).__name__}); try a shorter quote.")

    # -- corpus -----------------------------------------------------------------------------
    def outlets(self) -> list[str]:
        counts = Counter(a.outlet for a in self.service.index.articles.values() if a.outlet)
        return [o for o, _ in counts.most_common()]

    def article_rows(self, text_filter: str = "", outlet: str | None = None) -> list[list[str]]:
        needle = (text_filter or "").strip().lower()
        rows = []
        for a in self.service.index.articles.values():
            if outlet and a.outlet != outlet:
                continue
            if needle and needle not in a.title.lower() and needle not in a.source_path.lower():
                continue
            rows.append([a.published or "", outlet_label(a, UNKNOWN_OUTLET_UI), a.title, "republication" if a.duplicate_of else "", a.article_id])
        rows.sort(key=lambda r: (r[0] == "", r[0], r[1], r[2]))
        return rows

    def outlet_stats_html(self) -> str:
        arts = list(self.service.index.articles.values())
        by = Counter(outlet_label(a, UNKNOWN_OUTLET_UI) for a in arts)
        canon = Counter(outlet_label(a, UNKNOWN_OUTLET_UI) for a in arts if not a.duplicate_of)
        dated = Counter(outlet_label(a, UNKNOWN_OUTLET_UI) for a in arts if a.published)
        rows = "".join(
            f"<tr><td>{render.esc(o)}</td><td>{n}</td><td>{canon[o]}</td><td>{dated[o]}</td></tr>" for o, n in by.most_common()
        )
        return (
            '<table class="stats"><tr><th>Outlet</th><th>Articles</th><th>Unique</th><th>Dated</th></tr>'
            f"{rows}<tr><th>Total</th><th>{len(arts)}</th><th>{sum(canon.values())}</th><th>{sum(dated.values())}</th></tr></table>"
        )

    def timeline(self):
        import pandas as pd

        counts = Counter((a.published, outlet_label(a, UNKNOWN_OUTLET_UI)) for a in self.service.index.articles.values() if a.published)
        rows = [{"date": d, "outlet": o, "articles": n} for (d, o), n in sorted(counts.items())]
        return pd.DataFrame(rows, columns=["date", "outlet", "articles"])

    def article_html(self, article_id: str) -> str:
        idx = self.service.index
        try:
            art = idx.article(article_id)
        except KeyError as exc:
            return render.render_error(str(exc.args[0]) if exc.args else "unknown article")
        return render.render_article(art, idx.republications(article_id))

    # -- status -----------------------------------------------------------------------------
    def status_html(self, detailed: bool = False) -> str:
        s = self.manager.summary()
        mode = s.get("mode", "…")
        busy = s["state"] in ("building-lexical", "embedding", "updating") and s.get("total")
        label = {"embedding": "dense embeddings", "updating": "re-indexing", "building-lexical": "lexical index"}.get(s["state"], s["state"])
        stage = s.get("stage", "")
        eta = f" · about {s['eta_s']:.0f} s left" if s.get("eta_s") else ""
        bar = render.render_progress(f"{label}: {stage}", s["done"], s["total"], eta) if busy else ""
        mode_txt = "hybrid (BM25 + dense)" if mode == "hybrid" else "lexical (BM25) — switches to hybrid when embeddings are ready" if self.manager.background_embed and s["state"] != "error" else mode
        head = (
            f'<div class="status" data-mode="{render.esc(mode)}" data-state="{render.esc(s["state"])}">'
            f'Retrieval: <b>{render.esc(mode_txt)}</b> · {render.esc(s.get("articles", "?"))} articles · '
            f'{render.esc(s.get("chunks", "?"))} chunks · <span class="muted">{render.esc(s.get("message", ""))}</span>{bar}</div>'
        )
        if not detailed:
            return head
        facts = [
            ("Articles", s.get("articles")), ("Unique articles", s.get("canonical_articles")), ("Chunks", s.get("chunks")),
            ("Skipped files", s.get("skipped")), ("Embedder", s.get("embedder")), ("Retrieval mode", mode),
            ("Built at", s.get("built_at")), ("Build time", f"{s.get('build_seconds')} s"), ("Corpus", s.get("corpus")), ("Index", s.get("index")),
        ]
        table = "".join(f"<tr><th>{render.esc(k)}</th><td>{render.esc(v)}</td></tr>" for k, v in facts)
        hist = "".join(f"<li>{render.esc(h)}</li>" for h in self.manager.status().history[-8:])
        return f'{head}<table class="stats" id="index-facts">{table}</table><ul class="muted">{hist}</ul>'
