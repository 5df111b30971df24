"""Log lines: the request's id and user on every line, JSON or readable text (settings.LOGGING), and
the request's id and client address for domain events (the audit log records them). Kept free of
Django imports at module level: logging is configured before apps load.

LOG_FORMAT=json (the default when DEBUG is off): one JSON object per line, with `time` (UTC, ISO
8601), `level`, `logger`, `message`, `request_id`, `user_id`, and for the request line
(helpdesk.middleware.RequestTelemetryMiddleware) `method`, `path`, `status`, `route` and
`latency_ms`; `exc_info` holds a traceback. LOG_FORMAT=text (the default with DEBUG): one readable
line per record. Either way the console handler's RedactSecretsFilter has replaced secrets first.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
current_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)
# The request being served in this context (set by helpdesk.middleware.RequestIdMiddleware).
current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("request", default=None)

# What the request line adds (passed as `extra`); other records carry none of them.
REQUEST_FIELDS = ("method", "path", "status", "route", "latency_ms")


def user_id_of(request: Any) -> str | None:
    """The signed-in user's id, once something in the request has looked the user up.

    DRF puts the user it authenticated (a JWT's) on the Django request; AuthenticationMiddleware
    leaves a lazy object that is not evaluated here: a log line never costs a session query.
    """
    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    from django.utils.functional import SimpleLazyObject, empty

    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` and `user_id` (None outside a request, or before sign-in) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        if not hasattr(record, "user_id"):
            try:
                record.user_id = user_id_of(current_request.get())
            except Exception:  # a log line never fails because the user could not be read
                record.user_id = None
        return True


class TextFormatter(logging.Formatter):
    """One readable line per record (tracebacks follow on their own lines)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s user_id=%(user)s] %(message)s%(more)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        record.user = getattr(record, "user_id", None) or "-"
        record.request_id = getattr(record, "request_id", "-")
        route = getattr(record, "route", None)
        record.more = f" route={route}" if route else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", None),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
