"""The chat-model adapter: which language model answers, how long we wait for it, and what its
failure means. Chat, drafts and summaries ask `current()`; nothing else talks to a provider.

- `AI_LLM_MODEL` unset (the default, and `make run`): no model. `current()` is None and callers
  use the extractive path (ai_assist.answering.write); no LangChain chat code is even imported.
- `AI_LLM_MODEL` set: LangChain's `init_chat_model(AI_LLM_MODEL)`, so any provider LangChain
  supports ("openai:gpt-4o-mini", "anthropic:...", "ollama:llama3.1"), with that provider's
  package installed and its key in its usual variable (OPENAI_API_KEY, ...). langchain-openai
  is installed.
- `AI_LLM_BASE_URL` set: an OpenAI-compatible server (Ollama, vLLM, llama.cpp server). The model
  id is the server's own (an `openai:` prefix is dropped; "llama3.1:8b" stays whole), asked
  through LangChain's OpenAI provider at that URL with `AI_LLM_API_KEY` as its key (a
  placeholder when the server needs none). Without a base URL, `AI_LLM_API_KEY`, when set, is
  passed to the provider instead of its usual variable.
- Every call has a deadline of `AI_LLM_TIMEOUT` seconds (for a stream: to the first token and
  between tokens). A model that cannot be built (its package missing), errors, or misses the
  deadline raises `LlmUnavailable`, and the caller falls back to the extractive answer within
  the same request. A call past its deadline is abandoned, not killed: it finishes in a worker
  thread (the provider's own timeout, set to the same value where it has one, ends it).
- No text is longer than `AI_LLM_MAX_TOKENS` tokens (the provider stops the model there).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

Message = tuple[str, str]  # (role, content); role: "system", "human" or "ai"

# Calls run here so that the request thread can stop waiting. A few at a time: more waiting
# calls than this queue up, miss their deadline and fall back.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")
_built: dict[tuple, ChatLlm | LlmUnavailable] = {}
_built_lock = threading.Lock()
_END = object()


class LlmUnavailable(Exception):
    """The model did not answer (could not be built, failed, or was too slow): fall back."""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    latency_ms: float


class ChatLlm:
    """A LangChain chat model with a deadline on every call."""

    def __init__(self, model: Any, *, name: str, timeout: float):
        self.model = model  # a langchain_core BaseChatModel
        self.name = name
        self.timeout = timeout

    def complete(self, messages: Sequence[Message]) -> Completion:
        started = time.perf_counter()
        future: Future = _pool.submit(self.model.invoke, list(messages))
        try:
            reply = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise LlmUnavailable(f"{self.name} gave no answer within {self.timeout:g} s") from None
        except Exception as exc:
            raise LlmUnavailable(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc
        return Completion(text=reply.text, model=self.name, latency_ms=(time.perf_counter() - started) * 1000)

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """The answer token by token. Raises LlmUnavailable when the first token, or the next
        one, takes longer than the deadline, or when the model fails (possibly after some
        tokens: the caller decides what to show then)."""
        tokens: queue.Queue = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                for chunk in self.model.stream(list(messages)):
                    if stop.is_set():
                        return
                    tokens.put(chunk.text)
            except Exception as exc:
                tokens.put(exc)
            tokens.put(_END)

        _pool.submit(produce)
        try:
            while True:
                try:
                    item = tokens.get(timeout=self.timeout)
                except queue.Empty:
                    raise LlmUnavailable(f"{self.name} stalled for {self.timeout:g} s") from None
                if item is _END:
                    return
                if isinstance(item, Exception):
                    raise LlmUnavailable(f"{self.name} failed: {type(item).__name__}: {item}") from item
                if item:
                    yield item
        finally:
            stop.set()


def _config() -> tuple[str, str, str, float, int]:
    return (
        settings.AI_LLM_MODEL,
        settings.AI_LLM_BASE_URL,
        settings.AI_LLM_API_KEY,
        settings.AI_LLM_TIMEOUT,
        settings.AI_LLM_MAX_TOKENS,
    )


def current() -> ChatLlm | None:
    """The configured model (built once per process), or None when none is configured. Raises
    LlmUnavailable when the configured model cannot be built (said once in the log)."""
    config = _config()
    model = config[0]
    if not model:
        return None
    built = _built.get(config)
    if built is None:
        with _built_lock:
            built = _built.get(config)
            if built is None:
                built = _build(*config)
                _built[config] = built
    if isinstance(built, LlmUnavailable):
        raise built
    return built


def _build(model: str, base_url: str, api_key: str, timeout: float, max_tokens: int) -> ChatLlm | LlmUnavailable:
    options: dict[str, Any] = {}
    if base_url:
        # An OpenAI-compatible server: the id is the server's own ("llama3.1:8b" has a colon too).
        # The cap goes as `max_tokens`, which every such server reads (LangChain would send OpenAI's
        # newer `max_completion_tokens`, which llama.cpp's and Ollama's may ignore).
        options.update(
            model_provider="openai",
            base_url=base_url,
            api_key=api_key or "unused",
            extra_body={"max_tokens": max_tokens},
        )
        model_id = model.removeprefix("openai:")
    else:
        options["max_tokens"] = max_tokens
        model_id = model
        if api_key:
            options["api_key"] = api_key
    if options.get("model_provider") == "openai" or model_id.startswith(("openai:", "gpt-")):
        options.update(timeout=timeout, max_retries=0)  # the deadline is ours; no silent retries
    try:
        from langchain.chat_models import init_chat_model

        chat = init_chat_model(model_id, **options)
    except Exception as exc:
        logger.error("AI_LLM_MODEL=%s cannot be used (%s: %s); answers are extractive.", model, type(exc).__name__, exc)
        return LlmUnavailable(f"{model} cannot be used: {type(exc).__name__}: {exc}")
    return ChatLlm(chat, name=model, timeout=timeout)
