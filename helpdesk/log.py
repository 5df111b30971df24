"""Request ids in log lines (and the request's id and client address for domain events, which the
audit log records). Kept free of Django imports: logging is configured before apps load."""

import contextvars
import logging

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
current_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
