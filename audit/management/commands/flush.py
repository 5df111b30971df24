"""`manage.py flush` (Django's), which empties every table, the audit log included: the log's
database guard refuses DELETE, so it is lifted for the wipe and put back right after. Deleting
some entries has no command: the log is append-only (audit.models)."""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections

from audit import db


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        db.remove_guard(connection)
        try:
            return super().handle(**options)
        finally:
            db.install_guard(connection)
