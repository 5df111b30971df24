"""PostgreSQL: a stored, weighted tsvector kept by a trigger, a GIN index, ranked with the ORM.

Migration 0008 (PostgreSQL only) adds `tickets_ticket.search_vector` (a column the model does not
declare), filled by a BEFORE INSERT/UPDATE trigger with the title (weight A) and `public_text` (B)
in the `english` configuration, and a GIN index on it. The query is the caller's scope (the
tickets.policies Q) AND the words, in one statement, ordered by ts_rank and limited there.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from helpdesk.search_words import tsquery_text
from tickets.models import Ticket

CONFIG = "english"
# ts_rank weights for D, C, B (public text), A (title).
WEIGHTS = [0.05, 0.2, 0.4, 1.0]


def _vector() -> RawSQL:
    return RawSQL('"tickets_ticket"."search_vector"', [], output_field=SearchVectorField())


def words_query(terms: tuple[str, ...]) -> SearchQuery:
    """Any of the terms, through to_tsquery('english', ...): stemmed; the terms are letters and
    digits only (tickets.search.base.query_terms)."""
    return SearchQuery(tsquery_text(terms), config=CONFIG, search_type="raw")


class PostgresTicketSearch:
    vendor = "postgresql"

    def ranked(self, terms: tuple[str, ...], scope_q: Q, *, limit: int) -> list[tuple[str, float]]:
        if not terms or limit <= 0:
            return []
        words = words_query(terms)
        rows = (
            Ticket.objects.filter(scope_q)
            .filter(SearchVectorExact(_vector(), words))
            .annotate(rank=SearchRank(_vector(), words, weights=WEIGHTS))
            .order_by("-rank", "id")
            .values_list("id", "rank")[:limit]
        )
        return [(pk, float(rank)) for pk, rank in rows]

    def rebuild(self) -> None:
        """Recompute every stored vector (after changing the trigger, or to repair it)."""
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tickets_ticket SET title = title")
