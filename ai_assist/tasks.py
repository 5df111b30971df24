"""Jobs of the AI app (a Celery worker runs them when a broker is configured, else in-process)."""

from __future__ import annotations

from celery import shared_task

from ai_assist import routing


@shared_task(name="ai_assist.route_new_ticket", ignore_result=True)
def route_new_ticket(ticket_id: str) -> None:
    routing.route_new_ticket(ticket_id)  # never raises: a failure leaves the ticket in triage
