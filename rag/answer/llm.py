"""Optional LLM answerer over any OpenAI-compatible chat endpoint (Ollama, llama.cpp, vLLM, OpenAI).

The model writes; newsrag checks. Every reply goes through `rag.answer.verify`, which keeps only
sentences their cited passage supports and rebuilds the citations from the source text. Any failure
(connection, HTTP error, timeout, malformed stream, nothing verifiable) returns the extractive answer
with a visible notice instead.

Configuration (read when `LLMConfig.from_env()` is called, never at import)::

    NEWSRAG_LLM_BASE_URL   e.g. http://127.0.0.1:11434/v1 (Ollama), https://api.openai.com/v1
    NEWSRAG_LLM_MODEL      e.g. qwen2.5:7b-instruct
    NEWSRAG_LLM_API_KEY    sent as "Authorization: Bearer ..." when set
    NEWSRAG_LLM_TIMEOUT    seconds to wait for the server to send something (default 60)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rag.answer.prompt import REFUSAL_EN, REFUSAL_ZH, build_messages
from rag.text.lang import is_english
from rag.answer.verify import verify_reply
from rag.errors import NewsragError
from rag.types import Answer, Hit

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0


class LLMError(NewsragError):
    """The LLM endpoint failed; `reason` is a short phrase for the user-visible notice."""

    def __init__(self, message: str, reason: str, reason_en: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.reason_en = reason_en or reason


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call the chat endpoint. `base_url` ends before `/chat/completions`."""

    base_url: str
    model: str
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT  # per read: the longest silence tolerated from the server
    max_seconds: float = 300.0  # whole reply, so a server trickling bytes cannot hold a request forever
    temperature: float = 0.1
    max_tokens: int = 800
    api: str = "openai"  # key into CLIENTS

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise NewsragError(f"NEWSRAG_LLM_BASE_URL must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise NewsragError("NEWSRAG_LLM_MODEL is empty; set it to a model the endpoint serves, e.g. qwen2.5:7b-instruct")
        if self.timeout <= 0:
            raise NewsragError(f"NEWSRAG_LLM_TIMEOUT must be a positive number of seconds, got {self.timeout}")

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> LLMConfig | None:
        """Config from NEWSRAG_LLM_* variables; None when no base URL or model is set (LLM off)."""
        env = os.environ if environ is None else environ
        base, model = env.get("NEWSRAG_LLM_BASE_URL", "").strip(), env.get("NEWSRAG_LLM_MODEL", "").strip()
        if not base and not model:
            return None
        if not base or not model:
            missing = "NEWSRAG_LLM_BASE_URL" if not base else "NEWSRAG_LLM_MODEL"
            raise NewsragError(f"the LLM is half configured: set {missing} too, or unset both to use the extractive answerer")
        raw_timeout = env.get("NEWSRAG_LLM_TIMEOUT", "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
        except ValueError:
            raise NewsragError(f"NEWSRAG_LLM_TIMEOUT must be a number of seconds, got {raw_timeout!r}") from None
        return cls(base_url=base, model=model, api_key=env.get("NEWSRAG_LLM_API_KEY", "").strip(), timeout=timeout)


class ChatClient(Protocol):
    """What the answerer needs from an LLM backend."""

    def complete(self, messages: list[dict[str, str]]) -> str: ...

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]: ...


class OpenAIChatClient:
    """POST {base_url}/chat/completions with httpx; `stream` parses server-sent events."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config

    def _request(self, messages: list[dict[str, str]], stream: bool) -> tuple[dict[str, str], dict[str, Any]]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        body = {
            "model": self.config.model,
            "messages": messages,
            "stream": stream,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        return headers, body

    def _client(self):
        import httpx  # lazy: only an LLM-configured process needs it

        t = self.config.timeout
        return httpx.Client(timeout=httpx.Timeout(t, connect=min(t, 10.0)))

    def complete(self, messages: list[dict[str, str]]) -> str:
        import httpx

        headers, body = self._request(messages, stream=False)
        try:
            with self._client() as client:
                resp = client.post(self.config.endpoint, headers=headers, json=body)
                _raise_for_status(resp)
                data = resp.json()
        except httpx.TimeoutException as exc:
            raise _timeout_error(self.config) from exc
        except httpx.HTTPError as exc:
            raise _connection_error(self.config, exc) from exc
        except ValueError as exc:
            raise LLMError(f"{self.config.endpoint} returned a body that is not JSON", "响应格式错误", "malformed response") from exc
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LLMError(
                f"{self.config.endpoint} returned JSON without choices[0].message.content: {str(data)[:200]}",
                "响应格式错误",
                "malformed response",
            ) from None
        return content or ""

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        import httpx

        headers, body = self._request(messages, stream=True)
        deadline = time.monotonic() + self.config.max_seconds
        try:
            with self._client() as client, client.stream("POST", self.config.endpoint, headers=headers, json=body) as resp:
                if resp.status_code >= 400:
                    resp.read()
                _raise_for_status(resp)
                if "application/json" in resp.headers.get("content-type", ""):
                    # Some servers ignore stream=true and answer in one piece.
                    resp.read()
                    yield from _content_of_json(resp.text, self.config)
                    return
                for delta in parse_sse(resp.iter_lines()):
                    if time.monotonic() > deadline:
                        raise LLMError(f"reply took longer than {self.config.max_seconds:g} s", "回答超时", "reply took too long")
                    yield delta
        except httpx.TimeoutException as exc:
            raise _timeout_error(self.config) from exc
        except httpx.HTTPError as exc:
            raise _connection_error(self.config, exc) from exc


def parse_sse(lines: Iterator[str]) -> Iterator[str]:
    """Text deltas from OpenAI chat-completion SSE lines (`data: {...}` ... `data: [DONE]`).

    Raises LLMError on a line that is not JSON, on an `error` event, or when the stream ends before
    `[DONE]` or a finish_reason (a cut connection must not pass for a complete answer).
    """
    finished = False
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(":") or not line.startswith("data:"):
            continue  # blank separators, comments, event:/id:/retry: fields
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError:
            raise LLMError(f"malformed server-sent event: {payload[:120]!r}", "流式响应格式错误", "malformed stream") from None
        if not isinstance(event, dict):
            raise LLMError(f"malformed server-sent event: {payload[:120]!r}", "流式响应格式错误", "malformed stream")
        if event.get("error"):
            raise LLMError(f"the LLM server reported an error: {str(event['error'])[:200]}", "服务器报错", "server error")
        for choice in event.get("choices") or []:
            delta = (choice.get("delta") or {}).get("content")
            if delta:
                yield delta
            if choice.get("finish_reason"):
                finished = True
    if not finished:
        raise LLMError("the stream ended before [DONE]", "流式响应中断", "stream cut off")


def _content_of_json(text: str, config: LLMConfig) -> Iterator[str]:
    try:
        content = json.loads(text)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError(f"{config.endpoint} returned an unreadable body: {text[:200]!r}", "响应格式错误", "malformed response") from None
    if content:
        yield content


def _raise_for_status(resp) -> None:
    if resp.status_code >= 400:
        try:
            detail = resp.text[:200]
        except Exception:  # a streamed body not read yet
            detail = ""
        raise LLMError(
            f"{resp.request.url} answered HTTP {resp.status_code}: {detail}; check NEWSRAG_LLM_BASE_URL, NEWSRAG_LLM_MODEL and NEWSRAG_LLM_API_KEY",
            f"HTTP {resp.status_code}",
        )


def _timeout_error(config: LLMConfig) -> LLMError:
    return LLMError(
        f"no reply from {config.endpoint} within {config.timeout:g} s; raise NEWSRAG_LLM_TIMEOUT or check the server",
        f"{config.timeout:g} 秒内无响应",
        f"no reply within {config.timeout:g} s",
    )


def _connection_error(config: LLMConfig, exc: Exception) -> LLMError:
    return LLMError(
        f"cannot reach {config.endpoint} ({type(exc).__name__}: {exc}); is the server running? check NEWSRAG_LLM_BASE_URL",
        "无法连接",
        "cannot connect",
    )


# Registry of backends; add one by mapping a name to a class taking an LLMConfig.
CLIENTS: dict[str, Callable[[LLMConfig], ChatClient]] = {"openai": OpenAIChatClient}


def make_client(config: LLMConfig) -> ChatClient:
    try:
        return CLIENTS[config.api](config)
    except KeyError:
        raise NewsragError(f"unknown LLM api {config.api!r}; choose one of: {', '.join(sorted(CLIENTS))}") from None


def fallback_notice(question: str, reason_zh: str, reason_en: str) -> str:
    if is_english(question):
        return f"LLM unavailable ({reason_en}); fell back to the extractive answer."
    return f"LLM 不可用（{reason_zh}），已改用摘录式回答。"


def _fall_back(question: str, fallback: Callable[[], Answer], reason_zh: str, reason_en: str) -> Answer:
    ans = fallback()
    notice = fallback_notice(question, reason_zh, reason_en)
    return dataclasses.replace(ans, notice=f"{notice} {ans.notice}".strip())


def _finish(question: str, hits: Sequence[Hit], reply: str, fallback: Callable[[], Answer], embedder) -> Answer:
    """Verify the reply; an answer with nothing left falls back, with a notice saying why."""
    english = is_english(question)
    try:
        v = verify_reply(reply, hits, embedder=embedder)
    except Exception:  # a checker bug must cost one answer its LLM mode, never the session
        log.exception("verifying the LLM reply failed; falling back")
        return _fall_back(question, fallback, "回答核验出错", "checking its reply failed")
    if v.refused:
        return Answer(question=question, text=REFUSAL_EN if english else REFUSAL_ZH, refused=True, mode="llm")
    if not v.citations:
        log.info("LLM reply had no verifiable sentence; falling back: %r", reply[:200])
        return _fall_back(question, fallback, "回答无法由引用段落核实", "its reply could not be verified against the passages")
    notice = ""
    if v.removed:
        notice = (
            f"Removed {v.removed} sentence(s) of the LLM reply that the cited passages do not support."
            if english
            else f"已删除 {v.removed} 句无法由引用段落支持的 LLM 内容。"
        )
    if v.repaired:
        notice += (
            f" Corrected {v.repaired} citation marker(s)." if english else f"已更正 {v.repaired} 处引用编号。"
        )
    return Answer(
        question=question,
        text=v.text,
        refused=False,
        mode="llm",
        citations=v.citations,
        notice=notice.strip(),
        groups=v.groups,
        disagreement=v.disagreement,
    )


def answer_llm(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[tuple[str, str]],
    config: LLMConfig,
    fallback: Callable[[], Answer],
    embedder=None,
    client: ChatClient | None = None,
) -> Answer:
    """Ask the LLM (one request, no streaming) and return its verified answer, or `fallback()` with a notice.

    Args:
        hits: the retrieved passages, numbered [1]..[n] in this order in the prompt.
        fallback: builds the extractive answer; called only when the LLM cannot be used.
        embedder: optional; adds embedding similarity to the lexical support check.
    """
    if not hits:
        return fallback()  # nothing to ground an answer in: the extractive answerer refuses
    client = client or make_client(config)
    try:
        reply = client.complete(build_messages(question, hits, history))
    except LLMError as exc:
        log.warning("LLM failed, using the extractive answer: %s", exc)
        return _fall_back(question, fallback, exc.reason, exc.reason_en)
    return _finish(question, hits, reply, fallback, embedder)


def stream_llm(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[tuple[str, str]],
    config: LLMConfig,
    fallback: Callable[[], Answer],
    embedder=None,
    client: ChatClient | None = None,
) -> Iterator[str | Answer]:
    """Yield the reply's text deltas as they arrive, then the verified `Answer` as the last item.

    The deltas are the raw, unverified reply (for a live display); the final Answer replaces them
    and is the only thing to keep. On failure, even mid-stream, the last item is `fallback()` with
    a notice.
    """
    if not hits:
        yield fallback()
        return
    client = client or make_client(config)
    parts: list[str] = []
    try:
        for delta in client.stream(build_messages(question, hits, history)):
            parts.append(delta)
            yield delta
    except LLMError as exc:
        log.warning("LLM stream failed, using the extractive answer: %s", exc)
        yield _fall_back(question, fallback, exc.reason, exc.reason_en)
        return
    yield _finish(question, hits, "".join(parts), fallback, embedder)
