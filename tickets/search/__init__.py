"""Ranked keyword search over tickets' public text, one backend per database.

    backend().ranked(terms, scope_q, limit=)   (ticket id, score) best first, only tickets scope_q allows

SQLite: FTS5 (tickets.search.sqlite); PostgreSQL: a weighted tsvector with a GIN index
(tickets.search.postgres); MongoDB: a weighted text index (tickets.search.mongodb). The index is
kept by the database on every write (migration 0008: triggers, or MongoDB itself). Who may read a
ticket is never in the index: the caller's scope (a tickets.policies Q) is a condition of the same
statement, applied before ranking and limiting. The selector is tickets.selectors.search_tickets.
"""

from __future__ import annotations

from django.db import connection

from tickets.search.base import TicketSearch, query_terms

__all__ = ["TicketSearch", "backend", "query_terms"]


def backend() -> TicketSearch:
    vendor = connection.vendor
    if vendor == "sqlite":
        from tickets.search.sqlite import SqliteTicketSearch

        return SqliteTicketSearch()
    if vendor == "postgresql":
        from tickets.search.postgres import PostgresTicketSearch

        return PostgresTicketSearch()
    if vendor == "mongodb":
        from tickets.search.mongodb import MongoTicketSearch

        return MongoTicketSearch()
    raise NotImplementedError(f"No ticket search for the {vendor} database.")
