"""Periodic jobs of the accounts app (Celery beat runs them when a broker is configured)."""

from __future__ import annotations

from celery import shared_task

from accounts import tokens


@shared_task(name="accounts.purge_revoked_tokens", ignore_result=True)
def purge_revoked_tokens() -> int:
    """Forget revocations of refresh tokens that have expired anyway (they can never be used again)."""
    return tokens.purge_expired()
