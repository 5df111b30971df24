from django.apps import AppConfig


class TicketsConfig(AppConfig):
    """Tickets: lifecycle, comments, attachments, SLA and escalation."""

    name = "tickets"
