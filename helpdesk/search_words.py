"""The words a full-text search looks for, shared by every app's search backends (knowledge's
articles, tickets' public text), so that the same text gives the same terms on every database.

    words(text)        lower-case, distinct, in order, letters and digits only, each cut to
                       MAX_TERM_LENGTH characters
    STOP_WORDS         English function words: PostgreSQL's `english` configuration drops them
                       too, so dropping them here keeps "every word" the same on each database
    fts5_phrases(...)  terms as FTS5 strings joined by OR or AND (SQLite)
    tsquery_text(...)  terms as a raw to_tsquery expression joined by | or & (PostgreSQL)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TERM_LENGTH = 50

_FUNCTION_WORDS = """
a about above after again against all am an and any are as at be because been before being
below between both but by can cannot could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_FUNCTION_WORDS.split())

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall((text or "").lower()):
        word = word[:MAX_TERM_LENGTH]
        if word not in seen:
            seen.add(word)
            found.append(word)
    return found


def fts5_phrases(values: Iterable, operator: str = "OR") -> str:
    """Each value as an FTS5 string (double quotes dropped: the terms are letters and digits)."""
    return f" {operator} ".join('"' + str(value).replace('"', "") + '"' for value in values)


def tsquery_text(terms: Iterable[str], operator: str = "|") -> str:
    """The terms for `SearchQuery(..., search_type="raw")`: letters and digits only, so nothing
    in them is tsquery syntax."""
    return f" {operator} ".join(terms)
