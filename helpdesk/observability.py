"""Errors to Sentry, only when SENTRY_DSN is set (settings call `init_sentry` at the end).

- Django, Celery and logging integrations (an ERROR log line becomes an event, WARNINGs become
  breadcrumbs); `send_default_pii` off: no cookies, user e-mail or client address.
- Secrets never leave: sentry-sdk's EventScrubber drops the values of sensitive keys (Authorization,
  Cookie, token, password, ...) at any depth, and `scrub` passes every other string of the event
  through helpdesk.redact (configured secrets, URL passwords, JWTs, `?token=`) as the logs do.
- Performance tracing is off unless SENTRY_TRACES_SAMPLE_RATE is above 0.
"""

from __future__ import annotations

from typing import Any

from helpdesk.redact import redact

_MAX_DEPTH = 20


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, depth + 1) for item in value]
    return value


def scrub(event: Any, _hint: Any = None) -> Any:
    """Sentry's before_send and before_breadcrumb: every string of the event redacted."""
    return _scrubbed(event)


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, "refresh", "access", "signature"], recursive=True),
        before_send=scrub,
        before_breadcrumb=scrub,
        traces_sample_rate=traces_sample_rate,
    )
