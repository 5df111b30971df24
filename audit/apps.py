from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Audit: the append-only activity log and its API."""

    name = "audit"

    def ready(self):
        from audit import subscribers

        subscribers.connect()
