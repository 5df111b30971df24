"""SQLite only: keep the query planner's statistics fresh.

Without statistics SQLite guesses, and for a ticket list filtered by visibility (department OR
assignee OR requester) it guesses wrong: it gathers every matching row and sorts them, instead
of walking the newest-first index and stopping after one page. PostgreSQL's autovacuum keeps its
own statistics; SQLite needs ANALYZE. Each process runs a bounded one (analysis_limit samples a
fixed number of rows per index, a few milliseconds) on its first connection and then hourly.
"""

from __future__ import annotations

import time

REFRESH_SECONDS = 3600
ANALYSIS_LIMIT = 1000

_analyzed_at: float | None = None


def refresh_statistics(sender, connection, **kwargs) -> None:
    global _analyzed_at
    if connection.vendor != "sqlite":
        return
    now = time.monotonic()
    if _analyzed_at is not None and now - _analyzed_at < REFRESH_SECONDS:
        return
    _analyzed_at = now
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
