"""What every search backend shares: the parsed query, the scope it may search, hits, and the
rendering of highlighted text as safe HTML.

A backend ranks inside the scope (status, visibility, category, tags applied in the query itself,
before ranking and limiting), in two tiers: documents that contain every query word first, then
the others; inside a tier by the backend's relevance score, where a title match outweighs body
matches. Highlights come back from the database with private-use sentinel characters around each
hit; `marked_to_html` escapes everything else and turns the sentinels into <mark> tags.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Protocol

from helpdesk.search_words import STOP_WORDS, words

MAX_TERMS = 10
# Private-use characters: the services strip them from stored text, so they only ever mark hits.
START, STOP = "\ue000", "\ue001"
ELLIPSIS = "…"


@dataclass(frozen=True)
class ParsedQuery:
    """The words of `q` that are searched: lower-case, unique, in order, stop words dropped
    (unless nothing else is left), at most MAX_TERMS."""

    text: str
    terms: tuple[str, ...]

    @property
    def several(self) -> bool:
        return len(self.terms) > 1


def parse_query(text: str) -> ParsedQuery:
    found = words(text)
    meaningful = [word for word in found if word not in STOP_WORDS]
    return ParsedQuery(text=text, terms=tuple((meaningful or found)[:MAX_TERMS]))


@dataclass(frozen=True)
class Scope:
    """Which articles a search may return, decided by the policies before the backend runs."""

    statuses: tuple[str, ...]
    max_visibility: int
    category_ids: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.statuses or self.category_ids == ()


@dataclass(frozen=True)
class Hit:
    article_id: str
    score: float
    all_words: bool


@dataclass(frozen=True)
class Highlight:
    """Highlighted text as safe HTML: only <mark> tags, everything else escaped."""

    title: str
    snippet: str


class SearchBackend(Protocol):
    vendor: str
    needs_body: bool  # whether highlights() needs the rows' `title` and `body`

    def count(self, query: ParsedQuery, scope: Scope) -> int: ...

    def ranked(self, query: ParsedQuery, scope: Scope, *, offset: int, limit: int) -> list[Hit]: ...

    def highlights(self, query: ParsedQuery, rows: dict[str, dict]) -> dict[str, Highlight]: ...

    def rebuild(self) -> None: ...


class TieredSearch:
    """Ranking in two tiers without scoring what a page does not need: the articles with every word
    ("all", ranked), then those with only some ("rest": any word but not all, ranked). A page of the
    first tier never scores the second. Subclasses count and rank one tier (`any` = all + rest)."""

    def _count(self, query: ParsedQuery, scope: Scope, tier: str) -> int:
        raise NotImplementedError

    def _page(self, query: ParsedQuery, scope: Scope, tier: str, *, offset: int, limit: int) -> list[Hit]:
        raise NotImplementedError

    def _usable(self, query: ParsedQuery, scope: Scope) -> bool:
        return bool(query.terms) and not scope.empty

    def count(self, query: ParsedQuery, scope: Scope) -> int:
        return self._count(query, scope, "any") if self._usable(query, scope) else 0

    def ranked(self, query: ParsedQuery, scope: Scope, *, offset: int, limit: int) -> list[Hit]:
        if not self._usable(query, scope) or limit <= 0:
            return []
        if not query.several:
            return self._page(query, scope, "any", offset=offset, limit=limit)
        # The first page needs no count: whatever the first tier lacks, the second fills from its start.
        with_all = self._count(query, scope, "all") if offset else 0
        hits = self._page(query, scope, "all", offset=offset, limit=limit) if not offset or offset < with_all else []
        if len(hits) < limit:
            hits += self._page(query, scope, "rest", offset=max(0, offset - with_all), limit=limit - len(hits))
        return hits


# --- Rendering --------------------------------------------------------------------------------

_MARKDOWN_NOISE = [
    (re.compile(r"!?\[([^\]\ue000\ue001]*)\]\([^)\s]*\)?"), r"\1"),  # [text](url), images: the text
    (re.compile(r"(^|\s)#{1,6}\s+"), r"\1"),  # heading marks
    (re.compile(r"(\*\*|__|`{1,3})"), ""),  # bold, code
    (re.compile(r"(^|\s)(?:[-*+]|\d+\.)\s+"), r"\1"),  # list bullets
    (re.compile(r"\s+"), " "),
]


def strip_sentinels(text: str) -> str:
    return text.replace(START, "").replace(STOP, "")


def marked_to_html(marked: str, *, markdown: bool = False) -> str:
    """Escape `marked`, turning START...STOP pairs into <mark>...</mark> (always balanced)."""
    if markdown:
        for pattern, replacement in _MARKDOWN_NOISE:
            marked = pattern.sub(replacement, marked)
        marked = marked.strip()
    out: list[str] = []
    open_ = False
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece == START:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif piece == STOP:
            if open_:
                out.append("</mark>")
                open_ = False
        elif piece:
            out.append(html.escape(piece, quote=False))
    if open_:
        out.append("</mark>")
    return "".join(out).replace("<mark></mark>", "")


def stem(term: str) -> str:
    """A crude prefix stem ("printers" -> "printe"): what matching and highlighting without a real
    stemmer accept as the same word. The one rule for every adapter that needs it."""
    return term[: max(3, len(term) - 2)] if len(term) > 4 else term


def mark_terms(text: str, terms: tuple[str, ...], *, window: int | None = None) -> str:
    """A highlighter in Python (for backends without a cheap one): marks the words that start with
    a query term's stem; with `window`, cuts a snippet of about that many words around the first hit."""
    if not terms:
        return text if window is None else " ".join(text.split()[:window])
    stems = sorted({stem(term) for term in terms}, key=len, reverse=True)
    pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, stems)) + r")[^\W_]*", re.IGNORECASE)
    cut, before, after = text, False, False
    if window is not None:
        first = pattern.search(text)
        position = first.start() if first else 0
        head = text[:position].split()[-(window // 3) :] if position else []
        tail = text[position:].split(maxsplit=window - len(head))
        after = len(tail) > window - len(head)
        before = len(head) < len(text[:position].split())
        cut = " ".join([*head, *tail[: window - len(head)]])
    marked = pattern.sub(lambda match: f"{START}{match.group(0)}{STOP}", cut)
    return (ELLIPSIS if before else "") + marked + (ELLIPSIS if after else "")


def python_highlights(query: ParsedQuery, rows: dict[str, dict], *, window: int) -> dict[str, Highlight]:
    """Highlights of a page's rows ({id: {"title", "body", ...}}) by mark_terms."""
    return {
        pk: Highlight(
            title=marked_to_html(mark_terms(row["title"], query.terms)),
            snippet=marked_to_html(mark_terms(row["body"], query.terms, window=window), markdown=True),
        )
        for pk, row in rows.items()
    }
