"""What the ticket search backends share: the words searched and the interface.

A similar-ticket query is a whole ticket (title and text), so it has many words: the search ORs
up to MAX_TERMS distinct ones (in order of first use, words too common to say anything dropped),
and each backend ranks the matches with its own relevance score (bm25, ts_rank, textScore). The
score only orders candidates: similar-ticket ranking rescores them itself (ai_assist.ml.similar).
"""

from __future__ import annotations

from typing import Protocol

from django.db.models import Q

from helpdesk.search_words import STOP_WORDS, words

MAX_TERMS = 32
# Besides the function words every search drops: a ticket's greetings and sign-offs.
GREETINGS = frozenset(["please", "hi", "hello", "thanks", "thank", "regards"])


def query_terms(text: str, *, limit: int = MAX_TERMS) -> tuple[str, ...]:
    """The words of `text` that are searched: lower case, distinct, in order, letters and digits
    only, stop words and single characters dropped, at most `limit`."""
    kept = [word for word in words(text) if len(word) > 1 and word not in STOP_WORDS and word not in GREETINGS]
    return tuple(kept[:limit])


class TicketSearch(Protocol):
    vendor: str

    def ranked(self, terms: tuple[str, ...], scope_q: Q, *, limit: int) -> list[tuple[str, float]]: ...

    def rebuild(self) -> None: ...
