"""Jobs of the notifications app (Celery beat runs them with a broker; the ASGI process without)."""

from __future__ import annotations

import logging

from celery import shared_task

from notifications import mail

logger = logging.getLogger(__name__)


@shared_task(name="notifications.send_emails", ignore_result=True)
def send_emails() -> int:
    """Send the queued emails that are due; forget those sent long ago."""
    report = mail.send_due()
    if report.failed:
        logger.info("Email: %d sent, %d failed (queued for a retry)", report.sent, report.failed)
    mail.purge_sent()
    return report.sent
