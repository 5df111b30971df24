"""Periodic jobs of the tickets app (Celery beat runs them when a broker is configured)."""

from __future__ import annotations

from celery import shared_task

from tickets import services


@shared_task(name="tickets.escalate_due", ignore_result=True)
def escalate_due() -> int:
    return len(services.tickets_escalate_due())
