"""What the ticket search backends share: the words searched and the interface.

A similar-ticket query is a whole ticket (title and text), so it has many words: the search ORs
up to MAX_TERMS distinct ones (in order of first use, words too common to say anything dropped),
and each backend ranks the matches with its own relevance score (bm25, ts_rank, textScore). The
score only orders candidates: similar-ticket ranking rescores them itself (ai_assist.ml.similar).
"""

from __future__ import annotations

import re
from typing import Protocol

from django.db.models import Q

MAX_TERMS = 32
MAX_TERM_LENGTH = 50

# Function words only: PostgreSQL's english configuration drops them too, and a ticket's text is
# full of them, so an OR over them would match nearly every ticket.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "regards",
    ]
)

_WORD = re.compile(r"[^\W_]+")


def query_terms(text: str, *, limit: int = MAX_TERMS) -> tuple[str, ...]:
    """The words of `text` that are searched: lower case, distinct, in order, letters and digits
    only, stop words and single characters dropped, at most `limit`."""
    words: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall((text or "").lower()):
        word = word[:MAX_TERM_LENGTH]
        if len(word) < 2 or word in STOP_WORDS or word in seen:
            continue
        seen.add(word)
        words.append(word)
        if len(words) >= limit:
            break
    return tuple(words)


class TicketSearch(Protocol):
    vendor: str

    def ranked(self, terms: tuple[str, ...], scope_q: Q, *, limit: int) -> list[tuple[str, float]]: ...

    def rebuild(self) -> None: ...
