"""The mailbox poller as a periodic job (CELERY_BEAT_SCHEDULE lists it when IMAP_URL is set)."""

from __future__ import annotations

from celery import shared_task

from intake import imap


@shared_task(name="intake.poll_mailbox", ignore_result=True)
def poll_mailbox() -> int:
    return imap.poll().moved
