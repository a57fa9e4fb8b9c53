"""A loopback JSON endpoint beside `newsrag serve`, so CLI commands reuse the server's warm models.

A CLI call on its own loads torch, the embedder and the answer scorer (tens of seconds on 2
cores); the running web app has them in memory. `newsrag serve` therefore also listens on
127.0.0.1 (a free port) and writes `INDEX_DIR/serve.json` (mode 0600: url, pid, a random token).
`ask`, `search` and `lookup` look for that file first (`client_for`); when it is missing, its
process is gone or it does not answer within a second, they work locally as before.

Requests are POST `/ask`, `/search`, `/lookup` with a JSON body and the token in
`X-Newsrag-Token`; replies are the same JSON as the CLI's `--json` (`Answer.to_json`,
`Hit.to_json`, `LookupMatch.to_json`), or `{"error": message}` with status 400 for a request the
user can fix. Only the standard library is imported here: the client side stays fast.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from rag.errors import NewsragError

log = logging.getLogger(__name__)

SERVE_FILE = "serve.json"
CONNECT_TIMEOUT_S = 1.0
REQUEST_TIMEOUT_S = 300.0  # an answer on a busy CPU, or the first one while models warm up
MAX_BODY_BYTES = 1 << 20


class RemoteError(NewsragError):
    """The running server refused the request (its message says why)."""


# -- server side ---------------------------------------------------------------------------------

def _filters(body: dict[str, Any]):
    from rag.retrieve import Filters
    from rag.validate import check_date

    outlets = body.get("outlets") or ()
    if isinstance(outlets, str) or not all(isinstance(o, str) for o in outlets):
        raise NewsragError("outlets must be a list of outlet names")
    return Filters(tuple(outlets), check_date(body.get("since"), "since"), check_date(body.get("until"), "until"))


def _k(body: dict[str, Any], default: int) -> int:
    k = body.get("k", default)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100:
        raise NewsragError("k must be a whole number from 1 to 100")
    return k


def handle(service: Any, route: str, body: dict[str, Any]) -> dict[str, Any]:
    """One request against a loaded Newsrag service (pure dispatch; raises NewsragError)."""
    from rag.validate import check_question

    if route == "/ask":
        history = body.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise NewsragError("history must be a list of earlier questions (strings)")
        q = check_question(body.get("question"))
        mode = body.get("mode") or "extractive"
        return service.ask(q, [check_question(h) for h in history], _filters(body), _k(body, 8), mode).to_json()
    if route == "/search":
        q = check_question(body.get("query"))
        return {"query": q, "hits": [h.to_json() for h in service.search(q, _k(body, 10), _filters(body))]}
    if route == "/lookup":
        q = check_question(body.get("quote"))
        return {"query": q, "matches": [m.to_json() for m in service.lookup(q, k=_k(body, 10))]}
    raise NewsragError(f"unknown endpoint {route}; use /ask, /search or /lookup")


@dataclass
class LocalAPI:
    """The running endpoint; `close()` stops it and removes serve.json."""

    server: ThreadingHTTPServer
    serve_file: Path
    url: str

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        try:
            if json.loads(self.serve_file.read_text("utf-8")).get("pid") == os.getpid():
                self.serve_file.unlink()
        except (OSError, ValueError):
            pass


def start(get_service: Callable[[], Any], index_dir: Path) -> LocalAPI:
    """Serve `get_service()` (None while the index is not ready) on 127.0.0.1; write serve.json."""
    token = secrets.token_hex(16)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # one line per request, at debug level
            log.debug("local api: " + fmt, *args)

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/health":
                self._reply(200, {"ok": True, "ready": get_service() is not None, "pid": os.getpid()})
            else:
                self._reply(404, {"error": "POST /ask, /search or /lookup"})

        def do_POST(self) -> None:  # noqa: N802
            if not secrets.compare_digest(self.headers.get("X-Newsrag-Token", ""), token):
                self._reply(403, {"error": "wrong or missing token; read it from serve.json in the index folder"})
                return
            try:
                size = int(self.headers.get("Content-Length") or 0)
                if not 0 < size <= MAX_BODY_BYTES:
                    raise NewsragError(f"send a JSON object of at most {MAX_BODY_BYTES} bytes")
                body = json.loads(self.rfile.read(size).decode("utf-8"))
                if not isinstance(body, dict):
                    raise NewsragError("send a JSON object")
                service = get_service()
                if service is None:
                    raise NewsragError("the server is still building its index; try again in a moment")
                self._reply(200, handle(service, self.path, body))
            except (NewsragError, ValueError) as exc:
                self._reply(400, {"error": str(exc)})
            except Exception as exc:  # noqa: BLE001 - one bad request never stops the server
                log.exception("local api request failed")
                self._reply(500, {"error": f"internal error ({type(exc).__name__}); see the server log"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="newsrag-local-api", daemon=True).start()
    serve_file = Path(index_dir) / SERVE_FILE
    serve_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = serve_file.with_name(f".{SERVE_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "pid": os.getpid(), "token": token, "index": str(Path(index_dir).resolve())}, f)
    os.replace(tmp, serve_file)
    return LocalAPI(server, serve_file, url)


# -- client side ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalClient:
    url: str
    token: str

    def call(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(self.url + route, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json", "X-Newsrag-Token": self.token})
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read().decode("utf-8")).get("error") or str(exc)
            except ValueError:
                message = str(exc)
            raise RemoteError(message) from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def client_for(index_dir: Path | str) -> LocalClient | None:
    """A client for the `newsrag serve` of this index, or None (no server, or it does not answer)."""
    if os.environ.get("NEWSRAG_NO_SERVER"):
        return None
    path = Path(index_dir) / SERVE_FILE
    try:
        info = json.loads(path.read_text("utf-8"))
        url, token, pid = str(info["url"]), str(info["token"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not url.startswith("http://127.0.0.1:") or not _alive(pid):
        return None
    try:
        with urllib.request.urlopen(url + "/health", timeout=CONNECT_TIMEOUT_S) as resp:
            health = json.loads(resp.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not health.get("ready"):
        return None
    return LocalClient(url, token)
