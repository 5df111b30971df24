"""Django's SQLite backend that runs `PRAGMA optimize` as each connection closes.

SQLite's planner has no statistics until ANALYZE runs, and without them it guesses that an
equality on an indexed column is selective. Reading 15 articles back by id with "published and
readable by an employee" then walks the (status, visibility) index over every published
article: 9 ms at 10,000 articles instead of 0.8 ms by id (docs/decisions/0022). PostgreSQL's
autovacuum keeps its statistics; SQLite asks applications to run `PRAGMA optimize` before closing
each connection, which analyses only the tables this connection's queries would have planned
better with statistics (usually none, and then it costs microseconds). Connections close after
every request on SQLite (CONN_MAX_AGE 0), so the statistics follow the data.
"""

from __future__ import annotations

import contextlib
import sqlite3

from django.db.backends.sqlite3 import base

# Rows ANALYZE reads per index: approximate statistics are enough to choose an index, and
# keep the pass to milliseconds at any size.
ANALYSIS_LIMIT = 1_000
# Never hold a closing connection for long behind another writer: the statistics can wait.
BUSY_TIMEOUT_MS = 200


class DatabaseWrapper(base.DatabaseWrapper):
    def _close(self):
        if self.connection is not None and not self.is_in_memory_db():
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self.connection.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
                self.connection.execute("PRAGMA optimize")
        super()._close()  # type: ignore[misc]  # private in Django, absent from django-stubs
