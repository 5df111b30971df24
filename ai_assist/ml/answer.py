"""Grounded answers for the chatbot (and `manage.py ai_eval answer`): hybrid ranking of article
units, the decision to answer or to say honestly that nothing answers, and the extractive answer.

- Units: an article is indexed sentence by sentence, a numbered or bulleted step being one unit
  (`units_of`); a unit remembers which list it belongs to, so that a how-to answer can give the
  whole list in order.
- Ranking (`HybridIndex`): over the rows the asker may read (a mask computed before ranking),
  `fused = z(cosine) + keyword_weight * z(BM25)`, both z-scored over those rows. BM25 is fitted
  per visibility level over the rows of that level and below, so no statistic of a row the asker
  may not read enters a score. A source (article) scores as its best unit.
- Answering (`Answerer`): it answers only when the best unit of a source is close enough to the
  question (cosine at least `min_cosine`), when every identifier of the question ("B-762",
  "#456", "0x11b") appears in that source, when the question names something (a capitalised word
  that does not start a sentence: "Webex", "Singapore") and the source names at least one of
  those, and, for a question asking for a quantity, when the answer holds a number. Then it gives
  the best `max_units` units of the best `max_sources` sources in their order in the text, or,
  for a how-to question (or when the best units are steps of one list), the whole list of steps,
  each cited [n]; otherwise the honest no-answer with no citation.

The constants were chosen by cross-validation over articles (bench/ai_answer_cv.py; docs/ai.md).
Pure code (no Django): the chat service, `ai_eval answer` and the bench run the same classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import sparse

from ai_assist.ml.compose import STOP_WORDS, Citation, Composed, Passage, split_units, stem
from ai_assist.ml.text import tokens

DEFAULT_KEYWORD_WEIGHT = 0.15  # BM25's share in the fused score (cross-validated; docs/ai.md)
MIN_UNIT_CHARS = 25  # shorter pieces (a heading, "Hi,") join the next unit
MAX_UNIT_CHARS = 1_200
NO_ANSWER = (
    "I could not find an answer to that in the knowledge base or in the tickets you can see, so I will not "
    "guess. You can open a ticket and an agent will help."
)

_IDENTIFIER = re.compile(r"[a-z]*\d[a-z0-9]*(?:[-./][a-z0-9]+)*|[a-z]+-\d[a-z0-9-]*")
_HOW_TO = re.compile(r"\b(how (do|can|should|to)|steps?|procedure|instructions|set ?up|configure|install)\b", re.I)
_QUANTITY = re.compile(
    r"\b(how (many|much|long|old|large|big|tall|far|often)|number of|count of|amount of|total (number|amount|count)|"
    r"headcount|capacity|budget|percentage|what year|which year|in what year)\b|^\s*when\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
    r"thousand|million|billion|dozen|half|once|twice)\b",
    re.I,
)


# --- Units -----------------------------------------------------------------------------------


def units_of(text: str) -> list[tuple[str, int]]:
    """(text, list number; 0 for prose) per sentence or step, in order. Very short prose pieces
    (a heading, "Hi,") join the next prose unit; a unit is cut at `MAX_UNIT_CHARS`."""
    merged: list[tuple[str, int]] = []
    carry = ""
    for unit, step_list in split_units(text):
        block = step_list or 0
        if block:
            if carry:
                merged.append((carry[:MAX_UNIT_CHARS], 0))
                carry = ""
            merged.append((unit[:MAX_UNIT_CHARS], block))
            continue
        carry = f"{carry} {unit}".strip()
        if len(carry) >= MIN_UNIT_CHARS:
            merged.append((carry[:MAX_UNIT_CHARS], 0))
            carry = ""
    if carry:
        merged.append((carry[:MAX_UNIT_CHARS], 0))
    return merged


def terms_of(text: str) -> list[str]:
    """Keyword terms: tokens without stop words, lightly stemmed (the same rule for units and questions)."""
    return [_stem(word) for word in tokens(text) if word not in STOP_WORDS]


# Units are read from the index per question and tokenised then: a word's stem is remembered
# (words, not texts: bounded by the vocabulary, not by the size of the knowledge base).
_stem = lru_cache(maxsize=65_536)(stem)


def identifiers(text: str) -> set[str]:
    """Codes in a question that an answer must be about: tokens with a digit ("b-762", "456",
    "0x0000011b", "2018")."""
    return {match.group(0).strip("-./") for match in _IDENTIFIER.finditer((text or "").lower())}


_WORD = re.compile(r"[^\W\d_][\w&'-]*")


def names(question: str) -> set[str]:
    """What a question names: its capitalised words other than a sentence's first (products,
    places, teams: "Webex", "Singapore", "Department X"), lower-cased, without a possessive 's."""
    found = set()
    for sentence in re.split(r"(?<=[.!?])\s+", question or ""):
        for word in _WORD.findall(sentence)[1:]:
            if word[0].isupper() and word != "I":
                found.add(re.sub(r"'s$", "", word.lower()))
    return found


def words_of(text: str) -> set[str]:
    return {re.sub(r"'s$", "", word) for word in _WORD.findall((text or "").lower())}


def is_how_to(question: str) -> bool:
    return bool(_HOW_TO.search(question or ""))


def asks_quantity(question: str) -> bool:
    return bool(_QUANTITY.search(question or ""))


# --- Hybrid ranking -----------------------------------------------------------------------------


class HybridIndex:
    """Keyword (BM25 over unit terms) and vector (cosine) ranking of units, fused by z-scores
    over the rows an asker may read."""

    def __init__(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        levels: np.ndarray | None = None,
        *,
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        k1: float = 1.2,
        b: float = 0.75,
    ):
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.levels = np.zeros(len(texts), dtype=np.int32) if levels is None else np.asarray(levels, dtype=np.int32)
        self.keyword_weight, self.k1, self.b = keyword_weight, k1, b
        self.vocabulary: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for row, text in enumerate(texts):
            bag: dict[int, int] = {}
            for term in terms_of(text):
                col = self.vocabulary.setdefault(term, len(self.vocabulary))
                bag[col] = bag.get(col, 0) + 1
            rows += [row] * len(bag)
            cols += list(bag)
            counts += list(bag.values())
        self.counts = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (rows, cols)), shape=(len(texts), max(len(self.vocabulary), 1))
        )
        self.lengths = np.asarray(self.counts.sum(axis=1)).ravel()
        self._weights: dict[int, sparse.csc_matrix] = {}

    def __len__(self) -> int:
        return self.counts.shape[0]

    def _keyword_weights(self, level: int) -> sparse.csc_matrix:
        """BM25 weights of every (row, term), fitted on the rows of `level` and below only (the
        others get no weight and are never ranked for that level)."""
        cached = self._weights.get(level)
        if cached is not None:
            return cached
        readable = self.levels <= level
        counts = sparse.diags(readable.astype(np.float32)) @ self.counts
        n = int(readable.sum())
        df = np.asarray((counts > 0).sum(axis=0)).ravel().astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))  # never negative (Lucene's form)
        average = self.lengths[readable].mean() if n else 1.0
        norm = self.k1 * (1 - self.b + self.b * self.lengths / (average or 1.0))
        coo = counts.tocoo()
        weights = idf[coo.col] * coo.data * (self.k1 + 1) / (coo.data + norm[coo.row])
        matrix = sparse.csr_matrix((weights, (coo.row, coo.col)), shape=counts.shape).tocsc()
        self._weights[level] = matrix
        return matrix

    def keyword_scores(self, question: str, level: int) -> np.ndarray:
        out = np.zeros(len(self), dtype=np.float32)
        matrix = self._keyword_weights(level)
        wanted: dict[int, int] = {}
        for term in terms_of(question):
            col = self.vocabulary.get(term)
            if col is not None:
                wanted[col] = wanted.get(col, 0) + 1
        for col, times in wanted.items():
            start, end = matrix.indptr[col], matrix.indptr[col + 1]
            out[matrix.indices[start:end]] += times * matrix.data[start:end]
        return out

    def rank(
        self, question: str, vector: np.ndarray, *, level: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, fused, cosine) of the rows of `level` and below (and in `mask`), unsorted."""
        readable = self.levels <= level
        if mask is not None:
            readable &= mask
        everything = bool(readable.all())
        rows = np.arange(len(self)) if everything else np.flatnonzero(readable)
        if not len(rows) or self.vectors.shape[1] != len(vector):
            empty = np.zeros(0, dtype=np.float32)
            return rows, empty, empty
        # One product over every row, then the readable ones: indexing the matrix first would
        # copy it (300 MB at 200,000 units) on every question.
        cosine = self.vectors @ np.asarray(vector, dtype=np.float32)
        keyword = self.keyword_scores(question, level) if self.keyword_weight else np.zeros_like(cosine)
        if not everything:
            cosine, keyword = cosine[rows], keyword[rows]
        return rows, fuse(cosine, keyword, self.keyword_weight), cosine


def fuse(cosine: np.ndarray, keyword: np.ndarray, keyword_weight: float) -> np.ndarray:
    """z(cosine) + keyword_weight * z(keyword), z-scores over the rows given (those the asker may read)."""
    return _z(cosine) + keyword_weight * _z(keyword) if keyword_weight else _z(cosine)


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def top_sources(rows: np.ndarray, fused: np.ndarray, source_of: Sequence[str], limit: int) -> list[str]:
    """The first `limit` distinct sources in fused order: a source ranks as its best unit."""
    best: dict[str, None] = {}
    # The best few hundred rows hold the first `limit` sources unless sources have hundreds of
    # units each; then, and only then, the whole order.
    head = min(len(rows), max(500, 50 * limit))
    for candidates in (head, len(rows)):
        top = np.argpartition(-fused, candidates - 1)[:candidates] if candidates < len(rows) else np.arange(len(rows))
        for row in rows[top[np.lexsort((top, -fused[top]))]].tolist():
            best.setdefault(source_of[row], None)
            if len(best) >= limit:
                return list(best)
        if candidates == len(rows):
            break
        best.clear()
    return list(best)


def build_sources(
    *,
    best: Sequence[str],
    titles: dict[str, str],
    rows: np.ndarray,
    fused: np.ndarray,
    cosine: np.ndarray,
    rows_of: dict[str, np.ndarray],
    texts: Sequence[str],
    positions: np.ndarray,
    blocks: np.ndarray,
    limit: int,
) -> list[Source]:
    """Sources (kind "article") for the ids of `best` that have a title in `titles` (the others
    are not readable any more), each with its ranked units in text order, at most `limit`."""
    at = np.full(len(texts), -1, dtype=np.int64)
    at[rows] = np.arange(len(rows))
    sources = []
    for source_id in best:
        if source_id not in titles:
            continue
        own = rows_of[source_id]
        units = tuple(
            ScoredUnit(int(positions[row]), texts[row], int(blocks[row]), float(fused[i]), float(cosine[i]))
            for row, i in zip(own.tolist(), at[own].tolist(), strict=True)
            if i >= 0
        )
        if not units:
            continue
        text = joined((unit.text, unit.block) for unit in units)
        score = max(unit.score for unit in units)
        sources.append(Source(Passage(source_id, "article", titles[source_id], text, score), units))
        if len(sources) >= limit:
            break
    return sources


def joined(units: Iterable[tuple[str, int]]) -> str:
    """Units back as text: prose as paragraphs, steps as numbered lines (what a composer reads)."""
    parts: list[str] = []
    prose: list[str] = []
    step, block = 0, 0
    for text, unit_block in units:
        if unit_block:
            if prose:
                parts.append(" ".join(prose))
                prose = []
            step = step + 1 if unit_block == block else 1
            block = unit_block
            parts.append(f"{step}. {text}")
        else:
            block = 0
            prose.append(text)
    if prose:
        parts.append(" ".join(prose))
    return "\n".join(parts)


# --- Answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredUnit:
    position: int  # order in its source
    text: str
    block: int  # 0: prose; n: the n-th list of steps of its source
    score: float  # fused score (comparable within one ranking)
    cosine: float


@dataclass(frozen=True)
class Source:
    """A ranked article or ticket with its units (all of them, in text order, scored)."""

    passage: Passage  # id, kind, title; score = the source's score
    units: tuple[ScoredUnit, ...]

    @cached_property
    def best_cosine(self) -> float:
        return max((u.cosine for u in self.units), default=0.0)

    @cached_property
    def words(self) -> set[str]:
        """The words of its title and text, lower-cased."""
        return words_of(" ".join([self.passage.title, *(u.text for u in self.units)]))

    @cached_property
    def codes(self) -> set[str]:
        """The identifiers its title and text mention."""
        return identifiers(" ".join([self.passage.title, *(u.text for u in self.units)]))


@dataclass(frozen=True)
class Answer:
    composed: Composed
    reason: str  # why it answered or not (logged with the suggestion)
    passages: tuple[Passage, ...] = ()  # what a language model may cite, numbered from 1


class Answerer:
    name = "extractive-hybrid-v1"

    def __init__(
        self,
        *,
        min_cosine: float = 0.48,
        max_units: int = 4,
        max_sources: int = 2,
        max_steps: int = 12,
        candidates: int = 5,
        check_quantity: bool = True,
        check_names: bool = True,
    ):
        self.min_cosine = min_cosine
        self.max_units = max_units
        self.max_sources = max_sources
        self.max_steps = max_steps
        self.candidates = candidates
        self.check_quantity = check_quantity
        self.check_names = check_names

    no_answer = NO_ANSWER

    def eligible(self, question: str, sources: Sequence[Source]) -> tuple[list[Source], str]:
        """The sources an answer may be built from, best first, and why there are none."""
        codes = identifiers(question)
        named = names(question) if self.check_names else set()
        found = []
        for source in sources[: self.candidates]:
            if not source.units or source.best_cosine < self.min_cosine:
                continue
            if codes and not codes <= source.codes:
                continue
            if named and not named & source.words:
                continue
            found.append(source)
        if found:
            return found, ""
        if not sources:
            return [], "nothing the asker may read was found"
        if codes and all(not codes <= s.codes for s in sources[: self.candidates]):
            return [], f"no source mentions {', '.join(sorted(codes))}"
        if named and all(not named & s.words for s in sources[: self.candidates]):
            return [], f"no source names any of {', '.join(sorted(named))}"
        return [], f"best match {max(s.best_cosine for s in sources[: self.candidates]):.2f} < {self.min_cosine:.2f}"

    def answer(self, question: str, sources: Sequence[Source]) -> Answer:
        chosen_sources, reason = self.eligible(question, sources)
        if not chosen_sources:
            return Answer(Composed(text=self.no_answer), reason)
        used = chosen_sources[: self.max_sources]
        picks, steps = self._pick(question, used)
        if self.check_quantity and asks_quantity(question) and not any(_NUMBER.search(u.text) for _, u in picks):
            return Answer(Composed(text=self.no_answer), "asks for a quantity; no number found")
        return Answer(self._write(picks, used, steps=steps), "answered", passages=tuple(s.passage for s in used))

    def _pick(self, question: str, used: list[Source]) -> tuple[list[tuple[int, ScoredUnit]], bool]:
        """The units to quote, in order, and whether they are one list of steps."""
        top = used[0]
        best = max(top.units, key=lambda u: u.score)
        blocks: dict[int, list[ScoredUnit]] = {}
        for unit in top.units:
            if unit.block:
                blocks.setdefault(unit.block, []).append(unit)
        pool = [(index, unit) for index, source in enumerate(used) for unit in source.units if unit.text.strip()]
        pool.sort(key=lambda item: -item[1].score)
        picked = pool[: self.max_units]
        # Steps answer when the best unit is one, for a how-to question, or when the best units
        # fall in one list of the best source: then the whole list, in order.
        listed = [u.block for index, u in picked if index == 0 and u.block]
        block = best.block or next((b for b in listed if listed.count(b) >= 2), 0)
        if blocks and not block and is_how_to(question):
            block = max(blocks, key=lambda k: (max(u.score for u in blocks[k]), -k))
        if block:
            prose = [u for u in top.units if not u.block and u.position < blocks[block][0].position]
            lead = [max(prose, key=lambda u: u.score)] if prose and not best.block else []
            lead = [u for u in lead if u.cosine >= self.min_cosine]
            return [(0, u) for u in lead + blocks[block][: self.max_steps]], True
        return sorted(picked, key=lambda item: (item[0], item[1].position)), False

    def _write(self, picks: list[tuple[int, ScoredUnit]], used: list[Source], *, steps: bool) -> Composed:
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        for index, _ in picks:
            if index not in numbers:
                numbers[index] = len(numbers) + 1
                citations.append(Citation(numbers[index], used[index].passage))
        first = used[picks[0][0]].passage
        source = f"“{first.title}”" if first.kind == "article" else "a resolved ticket"
        if len(citations) > 1:
            lines = ["Here is what I found:"]
        elif steps:
            lines = [f"Here are the steps from {source}:"]
        else:
            lines = [f"Here is what I found in {source}:"]
        sentences: list[str] = []
        step = 0
        for index, unit in picks:
            cited = _cite(unit.text, numbers[index])
            if steps and unit.block:
                if sentences:
                    lines.append(" ".join(sentences))
                    sentences = []
                step += 1
                lines.append(f"{step}. {cited}")
            else:
                sentences.append(cited)
        if sentences:
            lines.append(" ".join(sentences))
        return Composed(text="\n".join(lines), citations=tuple(citations), answered=True)


_CITATION = re.compile(r"\s*\[\d+\]")


def _cite(text: str, n: int) -> str:
    return f"{_CITATION.sub('', text).rstrip()} [{n}]"
