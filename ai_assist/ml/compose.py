"""The extractive composer: a grounded answer from retrieved passages, with no language model.

Given a question and passages ranked best first, it keeps the sentences or steps of the best
passages that answer the question, cites each with the number of its source ([1], [2], ... in
order of first use; chunks of one article share a number), and puts a short lead-in before them.
When no passage speaks to the question it says so and cites nothing: it never makes up an answer.

How it judges (constants on `Composer`, to be tuned on a development set):
- the question's content words (stop words dropped, light stemming) are weighted by how rare
  they are among the retrieved text, so "password" in every passage counts less than "expired";
- a passage is relevant when its title and text cover at least `min_coverage` of that weight;
  none relevant: the honest no-answer;
- within the best relevant passage, a numbered or bulleted list that the question touches (or
  any list, for a how-to question) is kept whole, in order; otherwise the best-covering
  sentences are kept, in their order in the text. A later relevant passage adds its best
  sentence only when that covers a question word the answer does not cover yet.

Pure code (no Django): the chat service and `manage.py ai_eval answer` run the same composer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ai_assist.ml.text import tokens

_STOP_WORDS = """
a about above after again against all am an and any are as at be because been before being below
between both but by can cannot could did do does doing done down during each either else few for
from further get gets getting got had has have having he her here hers herself him himself his
how i if in into is it its itself just let me might more most must my myself need needs no nor
not now of off on once only or other our ours ourselves out over own please same shall she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up us very want was we were what when where which while who whom why
will with would you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
HOW_TO = frozenset({"how", "steps", "step", "procedure", "process", "instructions", "guide"})

_STEP = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•]|step\s+\d{1,2}\s*[:.)-]?)\s+", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_CITATION = re.compile(r"\s*\[\d+\]")


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
    text: str
    citations: tuple[Citation, ...] = ()
    answered: bool = False


@dataclass
class _Unit:
    """A sentence or a list step of one passage."""

    passage: int  # index into the passages
    position: int  # order within the passage
    text: str
    terms: frozenset[str]
    step_list: int | None = None  # which list of the passage it belongs to, for steps
    score: float = field(default=0.0)


def stem(word: str) -> str:
    """A light English stemmer: enough to meet "passwords" with "password", "resetting" with "reset"."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            if keep == "" and suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # "resett" -> "reset"
            break
    return word


def content_terms(text: str) -> frozenset[str]:
    return frozenset(stem(word) for word in tokens(text) if word not in STOP_WORDS and len(word) > 1)


def split_units(text: str) -> list[tuple[str, int | None]]:
    """(text, list number or None) per sentence or step, in order. Consecutive step lines form
    one list; a line that continues a step (indented, not a new step) joins it."""
    units: list[tuple[str, int | None]] = []
    lists = 0
    in_list = False
    for raw in (text or "").splitlines():
        line = _HEADING.sub("", raw).strip()
        if not line:
            continue
        if _STEP.match(raw):
            if not in_list:
                lists += 1
                in_list = True
            units.append((_STEP.sub("", raw).strip(), lists))
            continue
        if in_list and raw[:1].isspace() and units:
            step, number = units[-1]
            units[-1] = (f"{step} {line}", number)
            continue
        in_list = False
        units.extend((sentence.strip(), None) for sentence in _SENTENCE_END.split(line) if sentence.strip())
    return units


def _cite(text: str, n: int) -> str:
    text = _CITATION.sub("", text).rstrip()
    return f"{text} [{n}]"


class Composer:
    def __init__(
        self,
        *,
        min_coverage: float = 0.5,
        max_sentences: int = 3,
        max_steps: int = 12,
        max_sources: int = 2,
    ):
        self.min_coverage = min_coverage
        self.max_sentences = max_sentences
        self.max_steps = max_steps
        self.max_sources = max_sources

    no_answer = (
        "I could not find an answer to that in the knowledge base or in the tickets you can see, so I will not guess."
    )

    def compose(self, question: str, passages: list[Passage]) -> Composed:
        wanted = content_terms(question)
        if not wanted or not passages:
            return Composed(text=self.no_answer)
        units: list[_Unit] = []
        for index, passage in enumerate(passages):
            title_terms = content_terms(passage.title)
            for position, (text, step_list) in enumerate(split_units(passage.text)):
                terms = content_terms(text)
                if terms and not (step_list is None and terms == title_terms and position == 0):
                    units.append(_Unit(index, position, text, terms, step_list))
        weight = self._weights(wanted, units, passages)
        total = sum(weight.values())

        def coverage(terms: frozenset[str]) -> float:
            return sum(weight[term] for term in wanted & terms) / total

        relevant = []
        for index, passage in enumerate(passages):
            covered = content_terms(passage.title).union(*(u.terms for u in units if u.passage == index))
            if coverage(covered) >= self.min_coverage:
                relevant.append(index)
        if not relevant:
            return Composed(text=self.no_answer)
        for unit in units:
            unit.score = coverage(unit.terms)
        best = relevant[0]
        how_to = bool(HOW_TO & set(tokens(question)))
        chosen = self._from_best([u for u in units if u.passage == best], how_to=how_to)
        if not chosen:
            return Composed(text=self.no_answer)
        covered = frozenset().union(*(u.terms for u in chosen)) | content_terms(passages[best].title)
        for index in relevant[1:]:
            if len({u.passage for u in chosen}) >= self.max_sources:
                break
            candidates = [u for u in units if u.passage == index and u.score > 0 and (u.terms & wanted) - covered]
            if candidates:
                extra = max(candidates, key=lambda u: (u.score, -u.position))
                chosen.append(extra)
                covered |= extra.terms
        return self._write(chosen, passages)

    def _weights(self, wanted: frozenset[str], units: list[_Unit], passages: list[Passage]) -> dict[str, float]:
        """Rarer question words weigh more: 1 + log((N + 1) / (df + 1)) over the passages' units
        and titles. A word found nowhere weighs the most, so a question about something the
        passages never mention is not answered from its common words alone."""
        documents = [u.terms for u in units] + [content_terms(p.title) for p in passages]
        n = len(documents)
        return {term: 1.0 + math.log((n + 1) / (sum(term in d for d in documents) + 1)) for term in wanted}

    def _from_best(self, units: list[_Unit], *, how_to: bool) -> list[_Unit]:
        """The units of the best passage that answer: a whole list, or the best sentences."""
        lists: dict[int, list[_Unit]] = {}
        for unit in units:
            if unit.step_list is not None:
                lists.setdefault(unit.step_list, []).append(unit)
        if lists:
            touched = {number: sum(u.score for u in steps) for number, steps in lists.items()}
            number = max(touched, key=lambda k: (touched[k], -k))
            if touched[number] > 0 or how_to:
                return lists[number][: self.max_steps]
        scored = sorted((u for u in units if u.score > 0), key=lambda u: (-u.score, u.position))
        if not scored:
            return []
        floor = scored[0].score / 2
        kept = [u for u in scored if u.score >= floor][: self.max_sentences]
        return sorted(kept, key=lambda u: u.position)

    def _write(self, chosen: list[_Unit], passages: list[Passage]) -> Composed:
        numbers: dict[tuple[str, str], int] = {}
        citations: list[Citation] = []
        for unit in chosen:
            passage = passages[unit.passage]
            key = (passage.kind, passage.id)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(Citation(numbers[key], passage))
        first = passages[chosen[0].passage]
        source = f"“{first.title}”" if first.kind == "article" else "a resolved ticket"
        steps = [u for u in chosen if u.step_list is not None]
        lines: list[str] = []
        if steps and len(citations) == 1:
            lines.append(f"Here are the steps from {source}:")
        elif len(citations) == 1:
            lines.append(f"Here is what I found in {source}:")
        else:
            lines.append("Here is what I found:")
        sentences: list[str] = []
        step_number = 0
        for unit in chosen:
            n = numbers[(passages[unit.passage].kind, passages[unit.passage].id)]
            if unit.step_list is not None:
                if sentences:
                    lines.append(" ".join(sentences))
                    sentences = []
                step_number += 1
                lines.append(f"{step_number}. {_cite(unit.text, n)}")
            else:
                sentences.append(_cite(unit.text, n))
        if sentences:
            lines.append(" ".join(sentences))
        return Composed(text="\n".join(lines), citations=tuple(citations), answered=True)


def compose(question: str, passages: list[Passage]) -> Composed:
    """The answer with the default settings."""
    return Composer().compose(question, passages)
