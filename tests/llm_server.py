"""A real HTTP server that speaks the OpenAI chat-completions protocol, with scripted replies.

It stands in for a remote LLM service (Ollama, vLLM, OpenAI): the code under test is newsrag's
real HTTP client. Tests choose what the "model" says and how the server misbehaves.

Example:
    with FakeLLMServer() as server:
        server.script(Reply("托卡耶夫称这是一场未遂的政变[1]。"))
        config = LLMConfig(base_url=server.base_url, model="fake")
        ...
        assert server.requests[-1]["body"]["stream"] is True
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    Attributes:
        text: what the model "writes".
        status: HTTP status; >= 400 sends an OpenAI-style error body.
        delay: seconds to stay silent before the first byte (beyond the client timeout = a hang).
        hang_after: for streams, seconds to stay silent after the first chunk (a stall mid-answer).
        malformed: for streams, send a line that is not JSON after the first chunk.
        chunk_chars: characters per streamed delta.
        no_done: for streams, end the connection without finish_reason or [DONE].
    """

    text: str = ""
    status: int = 200
    delay: float = 0.0
    hang_after: float = 0.0
    malformed: bool = False
    chunk_chars: int = 4
    no_done: bool = False


class FakeLLMServer:
    """ThreadingHTTPServer on 127.0.0.1 with an ephemeral port; use as a context manager."""

    def __init__(self, api_key: str | None = None, model: str = "fake-model") -> None:
        self.api_key = api_key
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self._default = Reply("")
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-llm", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies, used in order; the last one repeats when the queue runs out."""
        self._replies.extend(replies)
        if replies:
            self._default = replies[-1]

    def next_reply(self) -> Reply:
        return self._replies.popleft() if self._replies else self._default

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server stops (so a scripted hang never delays shutdown)."""
        self._stop.wait(seconds)

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # close after each response: streams end with the connection

            def log_message(self, format, *args):  # keep test output quiet
                pass

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
                    return
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                    return
                reply = server.next_reply()
                if reply.delay:
                    server.wait(reply.delay)
                if reply.status >= 400:
                    self._json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                try:
                    if body.get("stream"):
                        self._stream(reply, body)
                    else:
                        self._json(200, _completion(reply.text, body.get("model", server.model)))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected in hang tests

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                model = body.get("model", server.model)
                pieces = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
                self._event(_chunk(model, {"role": "assistant", "content": ""}, None))
                for i, piece in enumerate(pieces):
                    self._event(_chunk(model, {"content": piece}, None))
                    if i == 0 and reply.malformed:
                        self.wfile.write(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
                        self.wfile.flush()
                    if i == 0 and reply.hang_after:
                        server.wait(reply.hang_after)
                if reply.no_done:
                    return
                self._event(_chunk(model, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(text: str, model: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(model: str, delta: dict, finish: str | None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
