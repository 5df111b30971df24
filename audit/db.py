"""The database layer of the log's append-only rule: triggers that refuse UPDATE and DELETE of
audit entries, per database (the one place with raw SQL for it). MongoDB has no triggers: there it
is the application user's role (insert, find and, for erasures, update on the collection), set by
the operator.

One UPDATE passes: a redaction by a personal-data erasure (audit.personal_data, decision 0027),
which rewrites only `changes` and `details`, and marks the entry (`details.redacted`). Every other
column (who, what, when, on what, from where) must stay as it was.

On SQLite a migration that re-creates the table (most column changes do) drops its triggers with
the old table: such a migration must call `install_guard` again afterwards."""

from __future__ import annotations

TABLE = "audit_auditentry"

REDACTED = "redacted"  # the key of `details` that marks an entry an erasure rewrote

# The columns a redaction leaves as they were (all but `changes` and `details`).
_KEPT = (
    "id",
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "department_id",
    "previous_department_id",
    "request_id",
    "ip",
)
_SQLITE_KEPT = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in _KEPT)
_POSTGRES_KEPT = " AND ".join(f"NEW.{column} IS NOT DISTINCT FROM OLD.{column}" for column in _KEPT)

_SQL = {
    "sqlite": {
        "install": [
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
            f"WHEN NOT ({_SQLITE_KEPT} AND json_extract(NEW.details, '$.{REDACTED}') IS NOT NULL) "
            "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
            "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END",
        ],
        "remove": [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"],
    },
    "postgresql": {
        "install": [
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP = 'UPDATE' AND {_POSTGRES_KEPT} AND NEW.details ? '{REDACTED}' THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'audit entries are append-only'; END $$",
            f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        ],
        "remove": [f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}"],
    },
}


def _run(connection, step: str) -> None:
    for statement in _SQL.get(connection.vendor, {}).get(step, []):
        with connection.cursor() as cursor:
            cursor.execute(statement)


def install_guard(connection) -> None:
    """Refuse UPDATE and DELETE of audit entries in the database itself (SQLite, PostgreSQL)."""
    _run(connection, "install")


def remove_guard(connection) -> None:
    """Lift the guard (migrating backwards, or `manage.py flush` wiping the whole database)."""
    _run(connection, "remove")
