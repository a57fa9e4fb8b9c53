"""The Gradio app: Chat, Citation lookup, Corpus and Index tabs, plus the `ask`/`lookup`/`status` API.

Example:
    manager = IndexManager("corpus", "index"); manager.start()
    demo = build_app(manager)
    launch_app(demo, host="127.0.0.1", port=7860)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rag.errors import NewsragError
from rag.types import UNKNOWN_OUTLET_UI, outlet_label
from rag.ui import render
from rag.ui.handlers import Handlers, answer_modes, llm_available
from rag.ui.theme import CITE_CLICK_JS, CSS

log = logging.getLogger(__name__)

EXAMPLES_FILE = "examples.txt"  # in the corpus root: example questions shown under the chat box, one per line
MAX_EXAMPLES = 6


def example_questions(corpus_dir: Path) -> tuple[str, ...]:
    """The corpus's own example questions (corpus/examples.txt), or none."""
    try:
        lines = (Path(corpus_dir) / EXAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple(q.strip() for q in lines if q.strip() and not q.startswith("#"))[:MAX_EXAMPLES]


ARTICLE_HEADERS = ["date", "outlet", "title", "note", "article_id"]
# Requests answered at once per event (chat, /ask, ...); the rest wait in Gradio's unbounded queue.
# Answering is CPU-bound, so more workers than this only share the same cores: 50 concurrent API
# conversations on 2 cores finish with no errors at 8 (benchmarks/bench_ui_load.py, docs/BENCHMARKS.md).
QUEUE_CONCURRENCY = 8


def build_app(manager, title: str = "newsrag") -> Any:
    """Build the Blocks app around an IndexManager (anything with .service, .summary(), .status())."""
    import gradio as gr

    h = Handlers(manager)
    llm_ok, llm_label = llm_available()
    corpus_dir = getattr(manager, "corpus_dir", None)
    examples = example_questions(corpus_dir) if corpus_dir else ()

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown("## newsrag · 新闻问答 — answers quoted from the archive, with the outlet, article and passage")
        status_bar = gr.HTML(h.status_html(), elem_id="status-bar")
        turns, history = gr.State([]), gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.HTML(render.render_chat([]), elem_id="chat", js_on_load=CITE_CLICK_JS, min_height=320)
                        with gr.Row():
                            question = gr.Textbox(placeholder="Ask a question… 例如：" + examples[0] if examples else "Ask a question… 问一个关于这些报道的问题", show_label=False, scale=6, elem_id="question", max_lines=6)
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask-btn")
                        with gr.Row(elem_id="examples", visible=bool(examples)):
                            gr.Markdown("Try:")
                            example_btns = [gr.Button(q, size="sm", elem_classes=["example-q"]) for q in examples]
                        clear = gr.Button("New conversation", size="sm", variant="secondary", elem_id="clear-btn")
                    with gr.Column(scale=1, min_width=240):
                        outlets = gr.Dropdown(choices=h.outlets(), multiselect=True, label="Outlets (empty = all)", elem_id="outlets")
                        since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="2022-01-01", elem_id="since")
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="2022-01-31", elem_id="until")
                        mode_choices = answer_modes(llm_ok, llm_label)
                        mode = gr.Radio(mode_choices, value="extractive", label="Answer mode", info=None if llm_ok else llm_label, elem_id="mode")
                        k = gr.Slider(1, 20, value=8, step=1, label="Number of sources", elem_id="k")
            with gr.Tab("Citation lookup", id="lookup"):
                gr.Markdown("Paste a quote to see which outlets carried it, how closely, and who published it first.")
                with gr.Row():
                    quote = gr.Textbox(label="Quote", lines=2, scale=6, elem_id="lookup-q")
                    lk = gr.Slider(1, 20, value=10, step=1, label="Results", scale=1)
                lookup_btn = gr.Button("Find who said it", variant="primary", elem_id="lookup-btn")
                lookup_out = gr.HTML("", elem_id="lookup-out", js_on_load=CITE_CLICK_JS)
            with gr.Tab("Corpus", id="corpus"):
                with gr.Row():
                    stats = gr.HTML(elem_id="corpus-stats")
                    plot = gr.BarPlot(x="date", y="articles", color="outlet", title="Articles per day (dated articles)", elem_id="timeline", height=260, x_label_angle=-45)
                with gr.Row():
                    corpus_filter = gr.Textbox(label="Filter by title or path", scale=3, elem_id="corpus-filter")
                    corpus_outlet = gr.Dropdown(choices=[""] + h.outlets(), value="", label="Outlet", scale=1)
                    refresh = gr.Button("Refresh", size="sm", scale=0)
                table = gr.Dataframe(headers=ARTICLE_HEADERS, datatype="str", interactive=False, max_height=420, elem_id="articles", type="array", wrap=True)
                article_view = gr.HTML('<p class="muted">Click an article to read its clean text and metadata.</p>', elem_id="article-view")
            with gr.Tab("Index", id="index"):
                index_status = gr.HTML(h.status_html(detailed=True), elem_id="index-status")
                files = gr.File(label="Add articles (.md .txt .html .htm or no extension; ≤ 5 MB each)", file_count="multiple", type="filepath", elem_id="upload-files")
                upload_btn = gr.Button("Add to corpus and re-index", variant="primary", elem_id="upload-btn")
                upload_report = gr.HTML("", elem_id="upload-report")
        timer = gr.Timer(1.0)

        # -- chat wiring ------------------------------------------------------------------------
        chat_inputs = [question, turns, history, outlets, since, until, k, mode]
        chat_outputs = [chat, turns, history, question]
        common = dict(api_visibility="private", show_progress="hidden")
        question.submit(h.chat, chat_inputs, chat_outputs, **common)
        send.click(h.chat, chat_inputs, chat_outputs, **common)
        for btn, q in zip(example_btns, examples):
            btn.click(_example_handler(h, q), chat_inputs[1:], chat_outputs, **common)
        clear.click(lambda: (render.render_chat([]), [], [], ""), None, chat_outputs, api_visibility="private", queue=False)

        # -- lookup, corpus, index --------------------------------------------------------------
        lookup_btn.click(h.lookup_html, [quote, lk], lookup_out, api_visibility="private")
        quote.submit(h.lookup_html, [quote, lk], lookup_out, api_visibility="private")

        def corpus_view(text_filter: str, outlet: str):
            return h.outlet_stats_html(), h.timeline(), h.article_rows(text_filter, outlet or None)

        corpus_outputs = [stats, plot, table]
        demo.load(corpus_view, [corpus_filter, corpus_outlet], corpus_outputs, api_visibility="private")
        refresh.click(corpus_view, [corpus_filter, corpus_outlet], corpus_outputs, api_visibility="private")
        corpus_filter.submit(corpus_view, [corpus_filter, corpus_outlet], corpus_outputs, api_visibility="private")
        corpus_outlet.change(corpus_view, [corpus_filter, corpus_outlet], corpus_outputs, api_visibility="private")

        def show_article(evt: gr.SelectData):
            row = evt.row_value or []
            return h.article_html(row[-1]) if row else gr.skip()

        show_article.__annotations__["evt"] = gr.SelectData  # resolved here: this module imports gradio lazily
        table.select(show_article, None, article_view, api_visibility="private")

        def do_upload(paths, progress=gr.Progress()):
            from rag.ui.upload import add_uploads

            if not paths:
                return '<p class="muted">Choose one or more files first.</p>', gr.skip(), gr.skip()
            progress(0, desc="checking files")
            try:
                rep = add_uploads(manager, [(Path(p).name, Path(p)) for p in paths], lambda st, d, t: progress((d, max(t, 1)), desc=st))
            except Exception as exc:  # e.g. the index folder became unwritable: report, keep serving
                log.exception("upload failed")
                return render.render_error(f"Re-indexing failed ({type(exc).__name__}: {exc}); the previous index keeps serving."), gr.skip(), gr.skip()
            return _upload_report_html(rep), h.status_html(detailed=True), gr.update(choices=h.outlets())

        upload_btn.click(do_upload, files, [upload_report, index_status, outlets], api_visibility="private")

        def tick(seen: str):
            s = manager.summary()
            key = f"{s.get('built_at')}|{s.get('mode')}|{s.get('articles')}"
            choices = gr.update(choices=h.outlets()) if seen and key != seen else gr.skip()
            return h.status_html(), h.status_html(detailed=True), choices, key

        seen = gr.State("")
        timer.tick(tick, seen, [status_bar, index_status, outlets, seen], api_visibility="private", queue=False, show_progress="hidden")

        # -- API (gradio_client): JSON, same fields as the CLI ------------------------------------
        def ask(question: str, outlets: list[str] | None = None, since: str | None = None, until: str | None = None, k: int = 8, mode: str = "extractive", history: list[str] | None = None) -> dict:
            """Answer a question from the archive (`history`: the conversation's earlier questions, oldest first, for follow-ups); returns the `newsrag ask --json` object."""
            try:
                return h.ask_json(question, outlets, since, until, k, mode, history)
            except NewsragError as exc:  # the user's mistake: one log line, no traceback
                log.warning("/ask refused: %s", exc)
                raise gr.Error(str(exc), print_exception=False) from None

        def lookup(quote: str, k: int = 10) -> dict:
            """Who carried this quote: {"query", "matches": [...]} as `newsrag lookup --json`."""
            try:
                return h.lookup_json(quote, k)
            except NewsragError as exc:
                log.warning("/lookup refused: %s", exc)
                raise gr.Error(str(exc), print_exception=False) from None

        def status() -> dict:
            """Index and background-build status: articles, chunks, embedder, mode, progress."""
            return manager.summary()

        gr.api(ask, api_name="ask")
        gr.api(lookup, api_name="lookup")
        gr.api(status, api_name="status", queue=False)
    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY)
    return demo


def _example_handler(h: Handlers, q: str):
    def run(*args):
        yield from h.chat(q, *args)

    return run


def _upload_report_html(rep) -> str:
    items = []
    for r in rep.results:
        if r.ok:
            what = f"{r.title or '(untitled)'} — {outlet_label(r, UNKNOWN_OUTLET_UI)}"
            note = f" ({r.reason})" if r.reason else ""
            items.append(f'<li class="good">✔ {render.esc(r.name)}: {render.esc(what)} → {render.esc(r.saved_as)}{render.esc(note)}</li>')
        else:
            items.append(f'<li class="bad">✘ {render.esc(r.name)}: {render.esc(r.reason)}</li>')
    delta = rep.articles_after - rep.articles_before
    took = f" in {rep.build_seconds:.1f} s" if rep.build_seconds is not None else " (nothing to re-index)"
    return (
        f'<div class="upload-report" data-added="{delta}"><b>{len(rep.accepted)} accepted, {len(rep.rejected)} rejected; '
        f"index now has {rep.articles_after} articles ({delta:+d}){took}.</b><ul>{''.join(items)}</ul></div>"
    )


def launch_app(demo, host: str = "127.0.0.1", port: int = 7860, share: bool = False, auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = False):
    """Launch with the app's CSS; never opens a share link unless `share` is set."""
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth,
        prevent_thread_lock=not block,
        quiet=quiet,
        css=CSS,
        ssr_mode=False,
        max_file_size="50mb",  # files above 5 MB are refused with a reason by rag.ui.upload
        show_error=True,
        enable_monitoring=False,
        footer_links=["api"],
    )
