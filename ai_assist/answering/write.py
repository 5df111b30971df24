"""The write stage: the configured model (ai_assist.llm) writes, else the extractive text does, by
one fallback policy for every AI text (chat answers, draft replies, summaries, articles from
tickets):

- nothing answers (`answered` false): the extractive text (the honest no-answer or holding reply),
  and no model is asked to write anything (`EXTRACTIVE`);
- no model configured: the extractive text (`EXTRACTIVE`);
- the model cannot be built, fails, misses its deadline or gives an empty text: the extractive
  text in the same request (`FALLBACK`, the reason kept);
- a grounded text (`passages` given): the model's markers are kept only where they name a passage
  it was shown (ai_assist.answering.citations.keep_citations); with `must_cite`, a text citing none
  of them is not used either (`FALLBACK`). Chat answers must cite (they reach the asker as they
  are); a draft reply need not (an agent reads it before sending, and a holding reply cites nothing).

The extractive text is made only when it is used (`extractive` is called then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence

from ai_assist import llm
from ai_assist.answering.citations import keep_citations
from ai_assist.ml.passages import EXTRACTIVE, FALLBACK, LLM, Passage, Written

logger = logging.getLogger(__name__)

Extractive = Callable[[str, str], Written]  # (path, error) -> the extractive text, so written
ERROR_CHARS = 500  # of a failure's reason, kept with the suggestion


def _model() -> tuple[llm.ChatLlm | None, str]:
    try:
        return llm.current(), ""
    except llm.LlmUnavailable as exc:
        return None, str(exc)


def _fallback(extractive: Extractive, error: str) -> Written:
    return extractive(FALLBACK, error[:ERROR_CHARS])


def _modelled(
    text: str, model: str, *, extractive: Extractive, passages: Sequence[Passage] | None, must_cite: bool
) -> Written:
    text = text.strip()
    if not text:
        return _fallback(extractive, f"{model} returned an empty answer")
    if passages is None:
        return Written(text, LLM, model, [])
    kept, cited = keep_citations(text, list(passages))
    if must_cite and not cited:
        return _fallback(extractive, f"{model} cited none of the passages")
    return Written(kept, LLM, model, cited)


def write(
    messages: list[tuple[str, str]],
    *,
    extractive: Extractive,
    answered: bool = True,
    passages: Sequence[Passage] | None = None,
    must_cite: bool = False,
) -> Written:
    """The text of one AI output, by the policy above."""
    if not answered:
        return extractive(EXTRACTIVE, "")
    model, error = _model()
    if model is None:
        return _fallback(extractive, error) if error else extractive(EXTRACTIVE, "")
    try:
        completion = model.complete(messages)
    except llm.LlmUnavailable as exc:
        logger.warning("The language model did not answer (%s); the extractive text is given", exc)
        return _fallback(extractive, str(exc))
    return _modelled(completion.text, completion.model, extractive=extractive, passages=passages, must_cite=must_cite)


def write_stream(
    messages: list[tuple[str, str]],
    *,
    extractive: Extractive,
    answered: bool = True,
    passages: Sequence[Passage] | None = None,
    must_cite: bool = False,
) -> Generator[tuple[str, dict], None, Written]:
    """The same policy as (event, data) pairs while the text comes: `token` {text} as the model
    gives it (or the whole extractive text), `replace` {text} when the extractive text takes the
    place of tokens already sent; the generator returns the Written text (`yield from`)."""
    model, error = _model() if answered else (None, "")
    if model is None:
        written = _fallback(extractive, error) if error else extractive(EXTRACTIVE, "")
        yield "token", {"text": written.text}
        return written
    parts: list[str] = []
    try:
        for token in model.stream(messages):
            parts.append(token)
            yield "token", {"text": token}
        written = _modelled("".join(parts), model.name, extractive=extractive, passages=passages, must_cite=must_cite)
    except llm.LlmUnavailable as exc:
        logger.warning("The language model stopped (%s); the extractive text is given", exc)
        written = _fallback(extractive, str(exc))
    if written.path == FALLBACK:
        yield ("replace" if parts else "token"), {"text": written.text}
    return written
