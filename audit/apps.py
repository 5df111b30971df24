from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Audit: the append-only activity log and its API."""

    name = "audit"
    # Django admin for leads (accounts.policies collects every app's): their department's entries.
    lead_admin_permissions = frozenset({"audit.view_auditentry"})

    def ready(self):
        from audit import consumers, personal_data

        consumers.connect()
        personal_data.register()  # its part of a person's export and erasure (helpdesk.personal_data)
