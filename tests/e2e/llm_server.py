"""llama-cpp-python's OpenAI-compatible server, as tests/e2e/test_llm_server.py runs it: started with
.venv-llm's Python (`make llm-e2e` builds it), never the app's, and importing nothing of the project.

It is `python -m llama_cpp.server` (the same settings and flags, the same FastAPI app serving
/v1/models and /v1/chat/completions, streamed or not) with three additions:

- the two sampling defaults that llama.cpp's own server takes as flags and llama-cpp-python's
  does not: `--n_predict`, the tokens generated when a request names no max_tokens (the app names
  none; a 270M model may otherwise write until the context is full), and `--temp`, the temperature
  of every chat completion (0: greedy, so a run writes the same text each time);
- the chat format `gemma3`, Gemma 3's own template: the GGUF file carries none, and the
  `gemma` format that llama-cpp-python has drops the system message (the app's instructions), where
  Gemma 3's template puts it at the head of the first user turn;
- hooks for the tests, as tests/e2e/oidc_provider has: `POST /_test/mode` with a JSON object makes
  the chat completions after it answer nothing for `delay` seconds and then fail, stall `stall`
  seconds after `stall_after` chunks of a stream, or write under a GBNF `grammar` (the model still
  chooses each token the grammar allows). The next mode, `{}` (back to normal) included, ends a
  delay or a stall under way: the model is not held up for a client that has given up.

    .venv-llm/bin/python tests/e2e/llm_server.py --model M.gguf --model_alias gemma-3-270m \
        --host 127.0.0.1 --port 8011 --n_ctx 2048 --n_threads 1 --n_threads_batch 1 \
        --chat_format gemma3 --n_predict 64 --temp 0
"""

from __future__ import annotations

import argparse
import functools
import threading
from collections.abc import Iterator
from typing import Any

import llama_cpp
import uvicorn
from llama_cpp.llama_chat_format import ChatFormatterResponse, register_chat_format
from llama_cpp.server.app import create_app
from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

MODE: dict[str, Any] = {}
_changed = threading.Event()  # set when the mode changes: a delay or a stall of the old mode ends


@register_chat_format("gemma3")
def gemma3(messages: list[dict[str, Any]], **_: Any) -> ChatFormatterResponse:
    """<start_of_turn>user / model turns, the system text heading the first user turn (BOS: the tokenizer's)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = []
    for message in messages:
        if message["role"] == "system":
            continue
        role = "model" if message["role"] == "assistant" else "user"
        content = message["content"] or ""
        if system and role == "user" and not turns:
            content = f"{system}\n\n{content}"
        turns.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
    return ChatFormatterResponse(prompt="".join(turns) + "<start_of_turn>model\n", stop="<end_of_turn>")


def _stalled(chunks: Iterator[Any], after: int, seconds: float, changed: threading.Event) -> Iterator[Any]:
    for n, chunk in enumerate(chunks):
        if n == after:
            changed.wait(seconds)
        yield chunk


def _with_defaults(create_chat_completion, *, n_predict: int, temp: float):
    @functools.wraps(create_chat_completion)
    def create(self, *args, **kwargs):
        mode, changed = dict(MODE), _changed
        kwargs["temperature"] = temp
        if kwargs.get("max_tokens") is None:
            kwargs["max_tokens"] = n_predict
        if mode.get("grammar"):
            kwargs["grammar"] = llama_cpp.LlamaGrammar.from_string(mode["grammar"], verbose=False)
        if mode.get("delay"):
            changed.wait(float(mode["delay"]))
            raise RuntimeError("test hook: no answer")
        result = create_chat_completion(self, *args, **kwargs)
        if kwargs.get("stream") and mode.get("stall"):
            return _stalled(result, int(mode.get("stall_after", 1)), float(mode["stall"]), changed)
        return result

    return create


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_args_from_model(parser, Settings)
    parser.add_argument("--n_predict", type=int, default=128, help="max_tokens when a request names none")
    parser.add_argument("--temp", type=float, default=0.0, help="the temperature of every chat completion")
    args = parser.parse_args()
    server_settings = parse_model_from_args(ServerSettings, args)
    model_settings = parse_model_from_args(ModelSettings, args)
    llama_cpp.Llama.create_chat_completion = _with_defaults(
        llama_cpp.Llama.create_chat_completion, n_predict=args.n_predict, temp=args.temp
    )
    app = create_app(server_settings=server_settings, model_settings=[model_settings])

    @app.post("/_test/mode")
    async def set_mode(mode: dict[str, Any]) -> dict[str, Any]:
        global _changed
        MODE.clear()
        MODE.update(mode)
        _changed.set()
        _changed = threading.Event()
        return MODE

    uvicorn.run(app, host=server_settings.host, port=server_settings.port, log_level="warning")


if __name__ == "__main__":
    main()
