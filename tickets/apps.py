from django.apps import AppConfig


class TicketsConfig(AppConfig):
    """Tickets: lifecycle, comments, attachments, SLA and escalation."""

    name = "tickets"
    # Django admin for leads (accounts.policies collects every app's): their department's
    # tickets (tickets.admin narrows to them) and the SLA targets, read-only.
    lead_admin_permissions = frozenset({"tickets.view_ticket", "tickets.change_ticket", "tickets.view_slapolicy"})
