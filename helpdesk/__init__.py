"""Helpdesk AI: project package (settings, URLs, ASGI, Celery, API conventions)."""

from helpdesk.celery import app as celery_app

__all__ = ["celery_app"]
