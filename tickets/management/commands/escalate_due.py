"""Escalate tickets past an SLA due time or inside its warning window (also a Celery beat task)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from tickets import services


class Command(BaseCommand):
    help = "Flag tickets past an SLA due time or within its warning window, with the reason, and notify."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args, quiet: bool = False, **options):
        def progress(tickets):
            return tqdm(tickets, desc="Checking due tickets", unit="ticket", disable=quiet, file=self.stderr)

        escalated = services.tickets_escalate_due(progress=progress)
        for ticket in escalated:
            self.stdout.write(f"{ticket.pk}  {ticket.escalation_reason}  {ticket.title}")
        self.stdout.write(self.style.SUCCESS(f"Escalated {len(escalated)} ticket(s)."))
