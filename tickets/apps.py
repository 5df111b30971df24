from django.apps import AppConfig
from django.db.backends.signals import connection_created


class TicketsConfig(AppConfig):
    """Tickets: lifecycle, comments, attachments, SLA and escalation."""

    name = "tickets"

    def ready(self):
        from helpdesk import sqlite

        connection_created.connect(sqlite.refresh_statistics, dispatch_uid="helpdesk.sqlite.refresh_statistics")
