from django.apps import AppConfig


class TicketsConfig(AppConfig):
    """Tickets: lifecycle, comments, attachments, SLA and escalation."""

    name = "tickets"
    # Django admin for leads (accounts.policies collects every app's): their department's
    # tickets (tickets.admin narrows to them) and the SLA targets, read-only.
    lead_admin_permissions = frozenset({"tickets.view_ticket", "tickets.change_ticket", "tickets.view_slapolicy"})

    def ready(self) -> None:
        from helpdesk import metrics
        from tickets import metrics as ticket_metrics
        from tickets import personal_data

        metrics.add_source("tickets", ticket_metrics.read)
        personal_data.register()  # its part of a person's export and erasure (helpdesk.personal_data)
