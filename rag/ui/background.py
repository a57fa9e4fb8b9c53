"""Start serving in seconds, then upgrade: a lexical index first, dense embeddings in the background.

`IndexManager.start()` makes sure a loadable index exists (building a lexical-only one, which takes
seconds, when the index is missing, stale-format or broken), opens the `Newsrag` service, and then
runs the full build with the default embedder in a daemon thread. The build's progress feeds
`status()`, which the web app polls; when it finishes, `service.reload()` switches to hybrid
retrieval without a restart. Every build in this process goes through one lock, so an upload's
incremental re-index never races the background build (and never drops its vectors).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass
class BuildStatus:
    """What the UI shows about indexing; replaced as a whole, so readers never see half an update."""

    state: str = "starting"  # starting | building-lexical | serving | embedding | updating | ready | error
    stage: str = ""
    done: int = 0
    total: int = 0
    message: str = ""
    started: float = field(default_factory=time.time)
    history: tuple[str, ...] = ()
    stage_started: float = field(default_factory=time.monotonic)  # when `stage` began (for the ETA)

    def eta_seconds(self) -> float | None:
        """Seconds left in this stage at its pace so far (None until there is a pace to go by)."""
        if not self.total or self.done <= 0 or self.done >= self.total:
            return None
        elapsed = time.monotonic() - self.stage_started
        return elapsed / self.done * (self.total - self.done) if elapsed > 1 else None


class IndexManager:
    """Owns the corpus/index pair and the live `Newsrag`; serialises every build of this process.

    Args:
        corpus_dir: folder of article files (uploads go to `<corpus_dir>/uploads/`).
        index_dir: index directory.
        embedder_spec: the dense model to build with (None: the configured default; "none": lexical only).
        background_embed: compute dense embeddings after serving; off = keep whatever the index has.
    """

    def __init__(self, corpus_dir: Path | str, index_dir: Path | str, embedder_spec: str | None = None, background_embed: bool = True) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = Path(index_dir)
        self.embedder_spec = embedder_spec
        self.background_embed = background_embed and embedder_spec != "none"
        self.service = None  # rag.service.Newsrag, set by start()
        self._build_lock = threading.Lock()
        self._status = BuildStatus()
        self._thread: threading.Thread | None = None
        self.first_usable_seconds: float | None = None
        self.hybrid_ready_seconds: float | None = None

    # -- status -----------------------------------------------------------------------------
    def status(self) -> BuildStatus:
        return self._status

    def _set(self, **changes: Any) -> None:
        cur = self._status
        msg = changes.get("message")
        history = cur.history + ((time.strftime("%H:%M:%S ") + msg,) if msg and msg != cur.message else ())
        self._status = BuildStatus(**{**cur.__dict__, **changes, "history": history[-20:]})

    def _progress(self, state: str) -> Callable[[str, int, int], None]:
        def on_progress(stage: str, done: int, total: int) -> None:
            cur = self._status
            began = cur.stage_started if (cur.stage, cur.state) == (stage, state) else time.monotonic()
            self._status = BuildStatus(**{**cur.__dict__, "state": state, "stage": stage, "done": done, "total": total, "stage_started": began})

        return on_progress

    def summary(self) -> dict[str, Any]:
        """Index facts for the status panel and the `status` API endpoint."""
        st = self._status
        out: dict[str, Any] = {"state": st.state, "stage": st.stage, "done": st.done, "total": st.total, "message": st.message,
                               "eta_s": st.eta_seconds()}
        svc = self.service
        if svc is None or svc.index is None:
            return out
        m = svc.index.manifest
        out.update(
            mode=svc.mode,
            articles=m.counts.articles,
            canonical_articles=m.counts.canonical_articles,
            chunks=m.counts.chunks,
            skipped=m.counts.skipped,
            embedder=m.embedder.model_id if m.embedder else "none (lexical only)",
            built_at=m.built_at,
            build_seconds=m.build_seconds,
            corpus=str(self.corpus_dir),
            index=str(self.index_dir),
        )
        return out

    # -- startup ----------------------------------------------------------------------------
    def _warm_up(self) -> None:
        from rag.errors import NewsragError

        try:
            self.service.warm_up()
        except NewsragError as exc:
            log.error("the answer scorer could not be loaded: %s", exc)

    def start(self, wait: bool = False) -> None:
        """Open (building lexically if needed) and serve; start the dense build in the background."""
        from rag.errors import NewsragError
        from rag.service import Newsrag

        t0 = self._status.started
        built_now = False
        try:
            self.service = Newsrag.open(self.index_dir)
            self._set(state="serving", message=f"loaded index ({self.service.mode})")
        except NewsragError as exc:  # missing, mismatched or corrupt: a lexical build fixes all three
            log.info("no usable index at %s (%s); building a lexical index first", self.index_dir, exc)
            self._set(state="building-lexical", message="building a lexical index of the corpus (seconds)…")
            self._build("none", rebuild=not isinstance(exc, _missing_error()), state="building-lexical")
            self.service = Newsrag.open(self.index_dir)
            built_now = True
            self._set(state="serving", message=f"serving lexical retrieval; {self._count_text()}")
        # The answer scorer loads beside serving (seconds; on a fresh machine the e5 conversion too),
        # so the first question waits for it only if asked in those seconds.
        threading.Thread(target=self._warm_up, name="newsrag-warm-up", daemon=True).start()
        self.first_usable_seconds = time.time() - t0
        if self.service.mode == "hybrid":
            self.hybrid_ready_seconds = self.first_usable_seconds
        if not self.background_embed and built_now:
            self._set(state="ready", message=f"lexical index built; {self._count_text()}")
            return
        job = self._dense_job if self.background_embed else self._refresh_job
        self._thread = threading.Thread(target=job, name="newsrag-index", daemon=True)
        self._thread.start()
        if wait:
            self._thread.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _count_text(self) -> str:
        s = self.summary()
        return f"{s.get('articles', '?')} articles, {s.get('chunks', '?')} chunks"

    def _build(self, spec: str | None, rebuild: bool = False, state: str = "updating"):
        from rag.index.build import build_index

        with self._build_lock:
            return build_index(self.corpus_dir, self.index_dir, spec, rebuild=rebuild, on_progress=self._progress(state))

    def current_spec(self) -> str:
        """The embedder the live index was built with, or "none"."""
        emb = self.service.index.manifest.embedder if self.service and self.service.index else None
        return emb.load_spec if emb else "none"

    def _dense_job(self) -> None:
        """Full (incremental) build with the dense embedder, then switch the service to hybrid."""
        t0 = self._status.started
        try:
            self._set(state="embedding", message="computing dense embeddings in the background; lexical retrieval serves meanwhile")
            current = self.current_spec()
            spec = self.embedder_spec or (current if current != "none" else None)
            rep = self._build(spec, state="embedding")
            self.service.reload()
            self.hybrid_ready_seconds = time.time() - t0
            self._set(state="ready", stage="", message=f"hybrid retrieval ready ({rep.embedded} chunks embedded in {rep.seconds:.0f} s)")
        except Exception as exc:  # the lexical index keeps serving; say why dense is off
            log.exception("background embedding failed")
            self._set(state="error", stage="", message=f"dense embeddings unavailable ({type(exc).__name__}: {exc}); serving lexical retrieval")

    def _refresh_job(self) -> None:
        """Pick up corpus changes with the index's own embedder (no new model)."""
        try:
            rep = self._build(self.current_spec())
            if rep.added or rep.changed or rep.deleted:
                self.service.reload()
                self._set(state="ready", stage="", message=f"index updated: {len(rep.added)} added, {len(rep.changed)} changed, {len(rep.deleted)} deleted")
            else:
                self._set(state="ready", stage="", message=f"index up to date; {self._count_text()}")
        except Exception as exc:
            log.exception("index refresh failed")
            self._set(state="error", stage="", message=f"index refresh failed ({type(exc).__name__}: {exc}); serving the previous index")

    # -- uploads ----------------------------------------------------------------------------
    def reindex(self, on_progress: Callable[[str, int, int], None] | None = None):
        """Incremental build after new files landed in the corpus; returns the BuildReport.

        The embedder is chosen after the build lock is taken, so an upload that waited for the
        background dense build embeds its new chunks instead of dropping the vectors.
        """
        from rag.index.build import build_index

        mine = self._progress("updating")

        def both(stage: str, done: int, total: int) -> None:
            mine(stage, done, total)
            if on_progress:
                on_progress(stage, done, total)

        if self._build_lock.locked():
            self._set(message="waiting for the running index build to finish…")
        with self._build_lock:
            prev_state = self._status.state
            spec = self.current_spec()
            self._set(state="updating", message=f"re-indexing uploads ({'lexical' if spec == 'none' else spec})")
            rep = build_index(self.corpus_dir, self.index_dir, spec, on_progress=both)
            self.service.reload()
            self._set(state="ready" if prev_state != "error" else prev_state, stage="", message=f"re-indexed: +{len(rep.added)} files; {self._count_text()}")
        return rep


def _missing_error():
    from rag.errors import IndexMissingError

    return IndexMissingError
