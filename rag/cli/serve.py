"""`newsrag serve`: the web app on 127.0.0.1:7860, usable in seconds even with no index yet."""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
import time


def register(sub) -> None:
    p = sub.add_parser("serve", help="open the web chat (default http://127.0.0.1:7860); builds the index if needed")
    p.add_argument("--corpus", default="corpus", metavar="DIR", help="corpus folder to serve and add uploads to (default ./corpus)")
    p.add_argument("--index", default=None, help="index directory (default: $NEWSRAG_INDEX or ./index)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the app to your network)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--embedder", default=None, help="dense model for the background build (default: $NEWSRAG_EMBEDDER or the bundled e5-small); 'none' = lexical only")
    p.add_argument("--no-background-embed", action="store_true", help="do not compute dense embeddings after start; serve what the index has (lexical if new)")
    p.set_defaults(func=run_serve)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_from_env(environ=os.environ) -> tuple[str, str] | None:
    """NEWSRAG_AUTH="user:password" -> ("user", "password"); unset -> None."""
    from rag.errors import NewsragError

    raw = environ.get("NEWSRAG_AUTH", "").strip()
    if not raw:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise NewsragError('NEWSRAG_AUTH must look like "user:password"')
    return user, password


def run_serve(args) -> int:
    from rag.config import default_index_dir
    from rag.errors import NewsragError
    from rag.ui.background import IndexManager

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the CLI may touch the environment; the library never does
    auth = auth_from_env()
    if not is_loopback(args.host) and auth is None:
        print(f"newsrag: warning: serving on {args.host} without a login; anyone who can reach this port can use the app. "
              'Set NEWSRAG_AUTH="user:password" to require one.', file=sys.stderr)
    if not os.path.isdir(args.corpus):
        raise NewsragError(f"corpus folder {args.corpus} does not exist; pass --corpus DIR")
    t0 = time.time()
    # gradio takes seconds to import; do it while the index is opened or built
    preload = threading.Thread(target=lambda: __import__("gradio"), daemon=True)
    preload.start()
    manager = IndexManager(args.corpus, args.index or default_index_dir(), args.embedder, background_embed=not args.no_background_embed)
    print(f"newsrag: opening the index at {manager.index_dir} (building a lexical one first if needed)…", file=sys.stderr)
    manager.start()
    preload.join()
    from rag.ui.app import build_app, launch_app

    demo = build_app(manager)
    s = manager.summary()
    print(f"newsrag: {s.get('articles')} articles, {s.get('chunks')} chunks, {s.get('mode')} retrieval; ready in {time.time() - t0:.1f} s", file=sys.stderr)
    if manager.background_embed and s.get("mode") != "hybrid":
        print("newsrag: computing dense embeddings in the background; the app switches to hybrid retrieval when done", file=sys.stderr)
    print(f"newsrag: open http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}", file=sys.stderr)
    from rag import localapi

    api = localapi.start(lambda: manager.service, manager.index_dir)  # CLI commands reuse this process's models
    try:
        launch_app(demo, host=args.host, port=args.port, share=args.share, auth=auth, quiet=True)
    finally:
        api.close()
    return 0
