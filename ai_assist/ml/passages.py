"""The types the answer pipeline's stages pass on (ai_assist.answering), from a retrieved passage
to a written text.

Pure code (no Django), in the lowest layer: the extractive answerer (ai_assist.ml.answer), the
retrieval corpora and the stages all make or read them. Two types live beside the code that
makes them: `Source`, a ranked source with its scored units, beside the answerer
(ai_assist.ml.answer) whose checks its measures (`words`, `codes`) serve; `Found`, what the
ground stage found, in ai_assist.answering.ground.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a text was written (a suggestion's `path`): by the configured model; by the extractive path
# because the model failed, was too slow or cited nothing; or by the extractive path, no model
# being configured (or nothing answering).
LLM, FALLBACK, EXTRACTIVE = "llm", "fallback", "extractive"


@dataclass(frozen=True)
class Passage:
    """One retrieved text: `id` is what a citation points at (an article's or a ticket's id)."""

    id: str
    kind: str  # "article" or "ticket"
    title: str
    text: str
    score: float


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage


@dataclass(frozen=True)
class Composed:
    """An extractive text and the passages its markers [n] name."""

    text: str
    citations: tuple[Citation, ...] = ()
    answered: bool = False


@dataclass(frozen=True)
class ScoredUnit:
    position: int  # order in its source
    text: str
    block: int  # 0: prose; n: the n-th list of steps of its source
    score: float  # fused score (comparable within one ranking)
    cosine: float


@dataclass(frozen=True)
class Answer:
    """The extractive answerer's decision over the ranked sources."""

    composed: Composed
    reason: str  # why it answered or not (logged with the suggestion)
    passages: tuple[Passage, ...] = ()  # what a language model may cite, numbered from 1


@dataclass
class Written:
    """What the write stage gives: the text, the passages its markers name (before the citation
    check), how it was written and by what."""

    text: str
    path: str  # LLM, FALLBACK or EXTRACTIVE
    model: str
    cited: list[tuple[int, Passage]]
    error: str = ""
