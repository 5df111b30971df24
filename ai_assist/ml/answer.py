"""Grounded answers for the chatbot (and `manage.py ai_eval answer`): hybrid ranking of article
units, the decision to answer or to say honestly that nothing answers, and the extractive answer.

- Units (`units_of_article`): an article follows its structure. Headings (Markdown, setext, HTML,
  numbered section titles, a line in bold alone) start sections; each sentence, numbered or
  bulleted step, table row or code line is a unit carrying its section's heading trail (embedded
  and matched as "trail: unit", quoted as written); a step remembers which list it belongs to, so
  that a how-to answer can give the whole list in order. Beside them, each section's words in
  passages of `PASSAGE_WORDS`, for ranking only. Ticket replies are cut line by line (`units_of`).
- Ranking (`HybridIndex`): over the rows the asker may read (a mask computed before ranking),
  `fused = z(cosine) + keyword_weight * z(BM25)`, both z-scored over those rows, sentences and
  passages each within their kind. BM25 is fitted per visibility level (and kind) over the rows of
  that level and below, so no statistic of a row the asker may not read enters a score. A source
  (article) scores as its best sentence plus its best passage (`top_sources`, `source_score`).
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

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import sparse

from ai_assist.ml.bm25 import lucene_idf, term_weights
from ai_assist.ml.markers import cite
from ai_assist.ml.passages import Answer, Citation, Composed, Passage, ScoredUnit
from ai_assist.ml.text import STOP_WORDS, split_units, stem, tokens

DEFAULT_KEYWORD_WEIGHT = 0.15  # BM25's share in the fused score (cross-validated; docs/ai.md)
MIN_UNIT_CHARS = 25  # shorter pieces (a heading, "Hi,") join the next unit
MAX_UNIT_CHARS = 1_200
PASSAGE_WORDS = 120  # a section passage: up to this many words of consecutive units (ranking only)
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
    """(text, list number; 0 for prose) per sentence or step of plain text, line by line (a ticket's
    replies). Very short prose pieces ("Hi,") join the next prose unit; a unit is cut at
    `MAX_UNIT_CHARS`. An article is cut by `units_of_article`, which follows its structure."""
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


@dataclass(frozen=True)
class Unit:
    """One unit of an article: a sentence, a list step, a table row or a code line as written
    (what an answer quotes), or a passage of its section (`passage`: ranking only, never quoted)."""

    text: str
    block: int = 0  # n: a step of the n-th list of the article; 0 otherwise
    section: str = ""  # the heading trail, outermost first: "Email in > A mailbox"
    passage: bool = False

    @property
    def indexed(self) -> str:
        return indexed_text(self.text, self.section)


def indexed_text(text: str, section: str) -> str:
    """What is embedded and matched by keywords: the heading trail, then the unit."""
    return f"{section}: {text}" if section else text


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_HTML_HEADING = re.compile(r"^\s*<h([1-6])\b[^>]*>(.*?)</h\1\s*>\s*$", re.I)
_NUMBERED = re.compile(r"^\s{0,3}(?:(?:chapter|section|part)\s+)?(\d{1,3}(?:\.\d{1,3})+)\.?\s+(\S.*)$", re.I)
_NAMED = re.compile(r"^\s{0,3}(?:chapter|section|part)\s+(\d{1,3})[.:]?\s+(\S.*)$", re.I)
_BOLD_LINE = re.compile(r"^\s{0,3}(\*\*|__)(\S(?:.*?\S)?)\1:?\s*$")
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$|^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_TABLE_ROW = re.compile(r"^\s*\|")
_STEP = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*+•]|step\s+\d{1,2}\s*[:.)-]?)\s+", re.I)
_TAG = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][)\"'\u201d\u2019*_`]))\s+(?=[\"'\u201c\u2018(\[*_`]*[A-Z0-9])")
_TITLE_END = re.compile(r"[.!?,;:]$")
MAX_HEADING_WORDS = 12
MAX_SECTION_CHARS = 300  # a longer heading trail keeps its innermost end
MINOR_HEADING = 7  # a line in bold alone: a heading below any numbered level


def _heading(line: str, following: str) -> tuple[int, str] | None:
    """(level, text) when `line` is a heading: Markdown `#`, HTML <hN>, a numbered section title
    ("2.3 Network settings", "Chapter 4 Installing"), or a line in bold alone; setext (a line
    underlined with === or ---) is `following`'s to say."""
    match = _ATX.match(line)
    if match:
        return len(match.group(1)), match.group(2)
    match = _HTML_HEADING.match(line)
    if match:
        return int(match.group(1)), " ".join(_TAG.sub(" ", match.group(2)).split())
    for pattern, depth in ((_NUMBERED, None), (_NAMED, 1)):
        match = pattern.match(line)
        if match and _short_title(match.group(2)):
            return depth or match.group(1).count(".") + 1, line.strip()
    match = _BOLD_LINE.match(line)
    if match and _short_title(match.group(2)):
        return MINOR_HEADING, match.group(2)
    if following and _SETEXT.match(following) and _short_title(line.strip()) and not _TABLE_ROW.match(line):
        return (1 if following.strip()[0] == "=" else 2), line.strip()
    return None


def _short_title(text: str) -> bool:
    text = text.strip()
    return bool(text) and len(text.split()) <= MAX_HEADING_WORDS and not _TITLE_END.search(text)


def _blocks(text: str) -> list[tuple[str, str, int]]:
    """The text as ("heading", title, level), ("prose", paragraph, 0), ("line", a table row or a
    code line, 0) and ("step", item, 0) blocks, in order. A paragraph's lines are joined (Markdown
    wraps sentences across lines); a step's indented continuation lines join the step."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[str, str, int]] = []
    paragraph: list[str] = []
    fenced = False
    in_step = False

    def flush() -> None:
        if paragraph:
            out.append(("prose", " ".join(paragraph), 0))
            paragraph.clear()

    skip = False
    for index, raw in enumerate(lines):
        if skip:  # a setext underline
            skip = False
            continue
        if _FENCE.match(raw):
            flush()
            fenced, in_step = not fenced, False
            continue
        line = raw.strip()
        if fenced:
            if line:
                out.append(("line", line, 0))
            continue
        if not line:
            flush()
            continue
        if in_step and raw[:1].isspace() and not _STEP.match(raw):
            kind, step, _ = out[-1]
            out[-1] = (kind, f"{step} {line}", 0)
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        heading = _heading(raw, following)
        if heading is not None:
            flush()
            in_step = False
            out.append(("heading", heading[1], heading[0]))
            skip = bool(following) and _SETEXT.match(following) is not None and not _ATX.match(raw)
            continue
        if _RULE.match(raw):
            flush()
            in_step = False
            continue
        if _TABLE_ROW.match(raw):
            flush()
            in_step = False
            out.append(("line", line, 0))
            continue
        if _STEP.match(raw):
            flush()
            in_step = True
            out.append(("step", _STEP.sub("", raw, count=1).strip(), 0))
            continue
        in_step = False
        paragraph.append(line)
    flush()
    return out


def units_of_article(text: str, *, passage_words: int = PASSAGE_WORDS) -> list[Unit]:
    """An article's units in order: each sentence, list step, table row or code line with the
    heading trail of its section (a heading starts a section: Markdown `#` or setext, HTML <hN>,
    a numbered section title, a line in bold alone), then, per section, passages of up to
    `passage_words` words of its consecutive units, so a long document also has passage-sized
    units. A list is one block of steps (blank lines between items allowed; a heading or prose
    ends it); very short prose pieces join the next one of their section."""
    units: list[Unit] = []
    trail: list[tuple[int, str]] = []
    section_units: list[Unit] = []
    lists = 0
    in_list = False
    carry = ""

    def section() -> str:
        return " > ".join(title for _, title in trail)[-MAX_SECTION_CHARS:].lstrip()

    def put(piece: str, block: int) -> None:
        section_units.extend(Unit(part, block, section()) for part in _cut(piece))

    def add(piece: str, block: int = 0) -> None:
        nonlocal carry
        if block:
            if carry:
                put(carry, 0)
                carry = ""
            put(piece, block)
            return
        carry = f"{carry} {piece}".strip()
        if len(carry) >= MIN_UNIT_CHARS:
            put(carry, 0)
            carry = ""

    def close_section() -> None:
        nonlocal carry
        if carry:
            put(carry, 0)
            carry = ""
        units.extend(section_units)
        units.extend(_passages(section_units, passage_words))
        section_units.clear()

    for kind, value, level in _blocks(text):
        if kind == "heading":
            close_section()
            while trail and trail[-1][0] >= level:
                trail.pop()
            title = " ".join(value.split())
            if title:
                trail.append((level, title))
            in_list = False
        elif kind == "step":
            if not in_list:
                lists += 1
                in_list = True
            add(value, lists)
        else:
            in_list = False
            if kind == "prose":
                for sentence in _SENTENCE.split(value):
                    if sentence.strip():
                        add(sentence.strip())
            else:
                add(value)
    close_section()
    if not any(not u.passage for u in units) and trail:  # headings alone: they are the text
        units = [Unit(title) for _, title in trail]
    return units


def _cut(text: str) -> list[str]:
    """A piece longer than `MAX_UNIT_CHARS` (a table or a list run into one line) as consecutive
    parts at word boundaries: nothing is dropped."""
    if len(text) <= MAX_UNIT_CHARS:
        return [text]
    parts, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > MAX_UNIT_CHARS:
            parts.append(current)
            current = ""
        current = f"{current} {word}" if current else word[:MAX_UNIT_CHARS]
    return [*parts, current] if current else parts


def _passages(units: list[Unit], words: int) -> list[Unit]:
    """The words of a section's units, in order, cut every `words` words into passages, each
    with the section's trail."""
    if not units:
        return []
    text = " ".join(unit.text for unit in units).split()
    section = units[-1].section
    return [
        Unit(" ".join(text[start : start + words]), 0, section, passage=True) for start in range(0, len(text), words)
    ]


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
    over the rows an asker may read. With `kinds` (per row: 0 a sentence or step, 1 a passage),
    each kind is a ranking of its own: BM25 statistics and z-scores are computed within it, so a
    passage's length and a sentence's do not skew each other's scores."""

    def __init__(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        levels: np.ndarray | None = None,
        *,
        kinds: np.ndarray | None = None,
        keyword_weight: float = DEFAULT_KEYWORD_WEIGHT,
        k1: float = 1.2,
        b: float = 0.75,
    ):
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.levels = np.zeros(len(texts), dtype=np.int32) if levels is None else np.asarray(levels, dtype=np.int32)
        self.kinds = np.zeros(len(texts), dtype=np.int8) if kinds is None else np.asarray(kinds, dtype=np.int8)
        self._kind_values = [int(k) for k in np.unique(self.kinds)]
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
        coo = (sparse.diags(readable.astype(np.float32)) @ self.counts).tocoo()
        coo.eliminate_zeros()
        weights = np.zeros(len(coo.data), dtype=np.float64)
        for kind in self._kind_values:
            mine = readable & (self.kinds == kind)
            n = int(mine.sum())
            counts = sparse.diags(mine.astype(np.float32)) @ self.counts
            df = np.asarray((counts > 0).sum(axis=0)).ravel().astype(np.float64)
            average = self.lengths[mine].mean() if n else 1.0
            at = self.kinds[coo.row] == kind
            weights[at] = term_weights(
                coo.data[at], coo.row[at], coo.col[at], lucene_idf(df, n), self.lengths, average, k1=self.k1, b=self.b
            )
        matrix = sparse.csr_matrix((weights, (coo.row, coo.col)), shape=coo.shape).tocsc()
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
        if len(self._kind_values) == 1:
            return rows, fuse(cosine, keyword, self.keyword_weight), cosine
        fused = np.empty_like(cosine)
        kinds = self.kinds[rows]
        for kind in self._kind_values:
            mine = kinds == kind
            if mine.any():
                fused[mine] = fuse(cosine[mine], keyword[mine], self.keyword_weight)
        return rows, fused, cosine


def fuse(cosine: np.ndarray, keyword: np.ndarray, keyword_weight: float) -> np.ndarray:
    """z(cosine) + keyword_weight * z(keyword), z-scores over the rows given (those the asker may read)."""
    return _z(cosine) + keyword_weight * _z(keyword) if keyword_weight else _z(cosine)


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def top_sources(
    rows: np.ndarray,
    fused: np.ndarray,
    source_of: Sequence[str],
    limit: int,
    *,
    passages: np.ndarray | None = None,
    rows_of: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """The first `limit` distinct sources, best first. A source scores as its best unit; when
    the rows hold passages as well (`passages`, per row of the corpus), as its best sentence plus
    its best passage (`source_score`), each fused within its kind."""
    if passages is None or rows_of is None or not len(rows):
        return _top_by_best_unit(rows, fused, source_of, limit)
    kinds = passages[rows]
    if kinds.all() or not kinds.any():
        return _top_by_best_unit(rows, fused, source_of, limit)
    corpus_rows, rows_of_source = len(passages), rows_of
    head = max(500, 50 * limit)
    best: tuple[dict[str, float], dict[str, float]] = ({}, {})
    floors, cuts, complete = [0.0, 0.0], [0.0, 0.0], [False, False]
    for kind, own in enumerate((np.flatnonzero(~kinds), np.flatnonzero(kinds))):
        scores = fused[own]
        floors[kind] = float(scores.min())
        top = np.argpartition(-scores, head - 1)[:head] if len(own) > head else np.arange(len(own))
        top = top[np.argsort(-scores[top], kind="stable")]
        complete[kind] = len(top) == len(own)
        cuts[kind] = floors[kind] if complete[kind] else float(scores[top[-1]])
        for row, score in zip(rows[own[top]].tolist(), scores[top].tolist(), strict=True):
            best[kind].setdefault(source_of[row], score)
    at: np.ndarray | None = None

    def exact(source: str, kind: int) -> float:
        nonlocal at
        if source in best[kind]:
            return best[kind][source]
        if complete[kind]:
            return floors[kind]  # no row of that kind is readable
        if at is None:
            at = np.full(corpus_rows, -1, dtype=np.int64)
            at[rows] = np.arange(len(rows))
        i = at[rows_of_source[source]]
        i = i[(i >= 0) & (kinds[np.maximum(i, 0)] == kind)]
        return float(fused[i].max()) if len(i) else floors[kind]

    candidates = list(dict.fromkeys([*best[0], *best[1]]))
    # An upper bound for each candidate (a kind missing from its head is at most that head's
    # cut), exact scores taken in that order until the `limit`-th is above every bound left,
    # and above any source outside both heads (at most the sum of the cuts).
    upper = {c: best[0].get(c, cuts[0]) + best[1].get(c, cuts[1]) for c in candidates}
    order = sorted(candidates, key=lambda c: -upper[c])
    scored: list[tuple[float, int, str]] = []  # the best `limit` so far, a min-heap
    for n, candidate in enumerate(order):
        if len(scored) >= limit and scored[0][0] >= upper[candidate]:
            break
        item = (exact(candidate, 0) + exact(candidate, 1), -n, candidate)
        if len(scored) < limit:
            heapq.heappush(scored, item)
        elif item > scored[0]:
            heapq.heapreplace(scored, item)
    scored.sort(reverse=True)
    if len(scored) >= limit and (all(complete) or scored[limit - 1][0] >= cuts[0] + cuts[1]):
        return [c for _, _, c in scored[:limit]]
    everyone = dict.fromkeys(source_of[r] for r in rows.tolist())
    total = sorted(((exact(c, 0) + exact(c, 1), -n, c) for n, c in enumerate(everyone)), reverse=True)
    return [c for _, _, c in total[:limit]]


def _top_by_best_unit(rows: np.ndarray, fused: np.ndarray, source_of: Sequence[str], limit: int) -> list[str]:
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


def source_score(fused: np.ndarray, kinds: np.ndarray | None, floors: tuple[float, float] = (0.0, 0.0)) -> float:
    """A source's score from the fused scores of its ranked rows: its best unit; with passages
    (`kinds`: True for a passage row), its best sentence plus its best passage (a kind it lacks
    counts as `floors`: the lowest score of that kind in the ranking)."""
    if kinds is None or not len(fused):
        return float(fused.max()) if len(fused) else 0.0
    sentence = float(fused[~kinds].max()) if (~kinds).any() else floors[0]
    passage = float(fused[kinds].max()) if kinds.any() else floors[1]
    return sentence + passage


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
    passages: np.ndarray | None = None,
) -> list[Source]:
    """Sources (kind "article") for the ids of `best` that have a title in `titles` (the others
    are not readable any more), each with its ranked sentence and step units in text order (its
    passages count in its score, `source_score`, and are never quoted), at most `limit`."""
    at = np.full(len(texts), -1, dtype=np.int64)
    at[rows] = np.arange(len(rows))
    kinds = passages[rows] if passages is not None and len(rows) else None
    if kinds is not None and (kinds.all() or not kinds.any()):
        kinds = None
    floors = (float(fused[~kinds].min()), float(fused[kinds].min())) if kinds is not None else (0.0, 0.0)
    sources = []
    for source_id in best:
        if source_id not in titles:
            continue
        own = rows_of[source_id]
        ranked = at[own]
        own, ranked = own[ranked >= 0], ranked[ranked >= 0]
        units = tuple(
            ScoredUnit(int(positions[row]), texts[row], int(blocks[row]), float(fused[i]), float(cosine[i]))
            for row, i in zip(own.tolist(), ranked.tolist(), strict=True)
            if passages is None or not passages[row]
        )
        if not units:
            continue
        text = joined((unit.text, unit.block) for unit in units)
        score = source_score(fused[ranked], kinds[ranked] if kinds is not None else None, floors)
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
            cited = cite(unit.text, numbers[index])
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
