"""Log lines (helpdesk/log.py, settings.LOGGING): one JSON object per line when DEBUG is off, one
readable line with it; each request's line names its request id, user, route and latency; secrets
never appear; and every record is written once (under `make run` each warning used to print twice)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

from accounts.tokens import issue_pair
from helpdesk.log import JsonFormatter, TextFormatter
from helpdesk.observability import scrub
from tests.helpers import ROOT, bearer_client


@contextmanager
def console(logger_name: str) -> Iterator[io.StringIO]:
    """Everything the configured handlers on `logger_name`'s way to the root write (pytest's own
    capture handlers left out), in one buffer."""
    buffer, swapped = io.StringIO(), []
    logger: logging.Logger | None = logging.getLogger(logger_name)
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest"):
                swapped.append((handler, handler.setStream(buffer)))
        logger = logger.parent if logger.propagate else None
    try:
        yield buffer
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def json_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_the_request_line_is_json_with_id_user_route_and_latency_and_no_secret(people, caplog):
    caplog.set_level(logging.INFO, logger="helpdesk.request")
    employee = people["employee"]
    access = issue_pair(employee)["access"]
    client = bearer_client(employee)
    with console("helpdesk.request") as output:
        response = client.get("/api/v1/auth/me/?token=" + access, HTTP_X_REQUEST_ID="req-0123456789")
    assert response.status_code == 200
    [line] = [line for line in json_lines(output) if line["logger"] == "helpdesk.request"]
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert line["request_id"] == "req-0123456789" == response["X-Request-ID"]
    assert line["user_id"] == employee.pk
    assert line["route"] == "auth-me"
    assert line["method"] == "GET" and line["status"] == 200 and line["path"] == "/api/v1/auth/me/"
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] > 0
    text = output.getvalue()
    assert access not in text and "Authorization" not in text and "Bearer" not in text


def test_every_line_of_a_request_names_the_signed_in_user(people):
    client = bearer_client(people["agent"])
    with console("django.request") as output:
        assert client.get("/api/v1/tickets/000000000000000000000000/").status_code == 404
    [line] = [line for line in json_lines(output) if line["logger"] == "django.request"]
    assert line["level"] == "WARNING" and line["user_id"] == people["agent"].pk
    assert line["request_id"] != "-"


@pytest.mark.django_db
@override_settings(DEBUG=True)  # Django's own console handler wrote too, with DEBUG on (`make run`)
def test_a_warning_is_written_once(client):
    with console("django.request") as output:
        assert client.get("/no-such-page/").status_code == 404
    assert output.getvalue().count("Not Found: /no-such-page/") == 1, output.getvalue()
    with console("py.warnings") as output:
        logging.getLogger("py.warnings").warning("a Python warning, routed to logging")
    assert output.getvalue().count("a Python warning, routed to logging") == 1, output.getvalue()


def _record(message: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord("helpdesk.test", logging.ERROR, __file__, 1, message, None, None)
    record.request_id = "abc123"
    record.__dict__.update(extra)
    return record


def test_json_keeps_a_traceback_on_the_same_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys

        record = _record("it failed", user_id="u1")
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "it failed" and line["user_id"] == "u1" and line["request_id"] == "abc123"
    assert "ValueError: bad" in line["exc_info"] and "route" not in line


def test_text_is_one_readable_line():
    text = TextFormatter().format(_record("GET /api/v1/tickets/ 200 3.1 ms", user_id="u1", route="ticket-list"))
    assert "\n" not in text
    assert text.endswith(
        "ERROR helpdesk.test [request_id=abc123 user_id=u1] GET /api/v1/tickets/ 200 3.1 ms route=ticket-list"
    )


# --- Sentry (helpdesk/observability.py) -----------------------------------------------------------


def test_an_event_for_sentry_has_every_secret_redacted(settings):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl"
    event = {
        "exception": {"values": [{"type": "RuntimeError", "value": f"failed with {settings.SECRET_KEY}"}]},
        "request": {"url": f"http://testserver/ws/feed/?token={jwt}", "data": {"note": f"Bearer {jwt}"}},
        "breadcrumbs": {"values": [{"message": "postgres://app:db-Pa55word@db/helpdesk"}]},
    }
    text = json.dumps(scrub(event))
    assert settings.SECRET_KEY not in text and "c2lnbmF0dXJl" not in text and "db-Pa55word" not in text
    assert "RuntimeError" in text and "postgres://app:***@db/helpdesk" in text


def _django_then(code: str, tmp_path, **env_vars) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SENTRY_")}
    env.update(DJANGO_SETTINGS_MODULE="helpdesk.settings.main", DEBUG="true", VAR_DIR=str(tmp_path), **env_vars)
    script = f"import sys, django; django.setup(); {code}"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_sentry_is_not_even_imported_without_a_dsn(tmp_path):
    assert _django_then("print('sentry_sdk' in sys.modules)", tmp_path) == "False"


def test_with_a_dsn_sentry_starts_without_personal_data(tmp_path):
    state = "import sentry_sdk; c = sentry_sdk.get_client(); print(c.is_active(), c.options['send_default_pii'])"
    assert _django_then(state, tmp_path, SENTRY_DSN="https://public@sentry.example/1") == "True False"
