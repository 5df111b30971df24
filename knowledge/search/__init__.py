"""Ranked keyword search over articles: one small interface, one backend per database.

    backend().count(query, scope)                    how many articles in scope match
    backend().ranked(query, scope, offset=, limit=)  ranked hits of one page (ids, score, all_words)
    backend().highlights(query, articles)            title and snippet as safe HTML with <mark>
    backend().rebuild()                              repair the index from the articles

SQLite: FTS5 (knowledge.search.sqlite); PostgreSQL: a weighted tsvector with a GIN index
(knowledge.search.postgres); MongoDB: a weighted text index (knowledge.search.mongodb). The index
is kept by the database on every write (triggers, or MongoDB itself), so no code path can forget
it. This package is the only place with database-specific search code.
"""

from __future__ import annotations

from django.db import connection

from knowledge.search.base import Highlight, Hit, ParsedQuery, Scope, SearchBackend, parse_query

__all__ = ["Highlight", "Hit", "ParsedQuery", "Scope", "SearchBackend", "backend", "parse_query"]


def backend() -> SearchBackend:
    vendor = connection.vendor
    if vendor == "sqlite":
        from knowledge.search.sqlite import SqliteSearch

        return SqliteSearch()
    if vendor == "postgresql":
        from knowledge.search.postgres import PostgresSearch

        return PostgresSearch()
    if vendor == "mongodb":
        from knowledge.search.mongodb import MongoSearch

        return MongoSearch()
    raise NotImplementedError(f"No knowledge-base search for the {vendor} database.")
