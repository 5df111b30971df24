"""SQLite: an FTS5 table kept by triggers on tickets_ticket, ranked with bm25().

Tables and triggers (migration 0008, which does nothing on other databases):
    tickets_ticket_fts        fts5(title, body), porter stemming; body is `public_text`
    tickets_ticket_fts_docid  docid INTEGER PRIMARY KEY <-> ticket_id (FTS5 rows need an integer
                              rowid that never changes)

One statement: the words MATCH in the index, joined to tickets_ticket, where the caller's scope
(the tickets.policies Q, compiled by Django into the same WHERE) holds; ordered by bm25() and
limited there. So nothing outside the scope is ranked or returned.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.db.models.sql.where import EmptyResultSet, FullResultSet

from helpdesk.search_words import fts5_phrases
from tickets.models import Ticket

# bm25() column weights: title, body. A title hit outweighs a body hit.
WEIGHTS = (4.0, 1.0)


def scope_condition(scope_q: Q) -> tuple[str, list] | None:
    """`scope_q` as SQL over "tickets_ticket" (None: it allows nothing). A filter on the ticket's
    own columns compiles to a plain condition; one that needs a join becomes an IN (subquery)."""
    query = Ticket.objects.filter(scope_q).query
    compiler = query.get_compiler(connection=connection)
    try:
        if len([alias for alias, count in query.alias_refcount.items() if count]) <= 1:
            sql, params = compiler.compile(query.where)
            return sql, list(params)
        sub, params = Ticket.objects.filter(scope_q).values("id").query.sql_with_params()
        return f'"tickets_ticket"."id" IN ({sub})', list(params)
    except FullResultSet:
        return "1", []
    except EmptyResultSet:
        return None


class SqliteTicketSearch:
    vendor = "sqlite"

    def ranked(self, terms: tuple[str, ...], scope_q: Q, *, limit: int) -> list[tuple[str, float]]:
        condition = scope_condition(scope_q)
        if not terms or condition is None or limit <= 0:
            return []
        where, params = condition
        weights = ", ".join(str(weight) for weight in WEIGHTS)
        sql = (
            f"SELECT d.ticket_id, bm25(tickets_ticket_fts, {weights}) AS score "  # noqa: S608 # nosec B608
            "FROM tickets_ticket_fts "
            "JOIN tickets_ticket_fts_docid d ON d.docid = tickets_ticket_fts.rowid "
            'JOIN "tickets_ticket" ON "tickets_ticket"."id" = d.ticket_id '
            f"WHERE tickets_ticket_fts MATCH %s AND ({where}) "
            "ORDER BY score, d.docid LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [fts5_phrases(terms), *params, limit])
            # bm25() is lower for better matches: negated, a higher score is better.
            return [(row[0], -float(row[1])) for row in cursor.fetchall()]

    def rebuild(self) -> None:
        """Re-create the index from tickets_ticket (after a restore, or to repair it)."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tickets_ticket_fts")
            cursor.execute("DELETE FROM tickets_ticket_fts_docid")
            cursor.execute("INSERT INTO tickets_ticket_fts_docid (ticket_id) SELECT id FROM tickets_ticket")
            cursor.execute(
                "INSERT INTO tickets_ticket_fts (rowid, title, body) SELECT d.docid, t.title, t.public_text "
                "FROM tickets_ticket t JOIN tickets_ticket_fts_docid d ON d.ticket_id = t.id"
            )
            cursor.execute("INSERT INTO tickets_ticket_fts (tickets_ticket_fts) VALUES ('optimize')")
