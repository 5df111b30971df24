"""Secrets never leak (issue 15, point 3): not in a configuration error, a log line or a problem+json.

A configuration error at start-up is one line that names the variable and what to do, and exit
status 1 (helpdesk.startup, helpdesk/settings/env.py); each case below puts a secret into the bad
value and greps everything the process printed for it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.test import Client

from helpdesk import health
from helpdesk.redact import MASK, RedactSecretsFilter, redact
from tests.factories import PASSWORD, UserFactory
from tests.helpdesk.servers import free_port
from tests.helpers import ROOT, assert_problem

SECRET = "Sup3rS3cretValue42"

# (variables, the variable the message must name). DEBUG=true unless the case sets it.
CONFIGURATION_ERRORS = [
    ({"DEBUG": "false", "SECRET_KEY": SECRET}, "SECRET_KEY"),  # too short: never echoed
    ({"DEBUG": SECRET}, "DEBUG"),
    ({"DATABASE_URL": f"mysql://helpdesk:{SECRET}@db.internal/helpdesk"}, "DATABASE_URL"),
    ({"DATABASE_URL": f"postgres://helpdesk:{SECRET}@db.internal:port/helpdesk"}, "DATABASE_URL"),
    ({"DATABASE_URL": f"helpdesk:{SECRET}@db.internal/helpdesk"}, "DATABASE_URL"),
    ({"REDIS_URL": f"{SECRET}@localhost:6379"}, "REDIS_URL"),
    ({"REDIS_URL": f"redis://:{SECRET}@localhost:notaport/0"}, "REDIS_URL"),
    ({"CHROMA_URL": f"ftp://user:{SECRET}@chroma"}, "CHROMA_URL"),
    ({"ATTACHMENTS_S3_ENDPOINT_URL": f"s3://key:{SECRET}@minio"}, "ATTACHMENTS_S3_ENDPOINT_URL"),
    ({"ATTACHMENTS_S3_SECRET_ACCESS_KEY": SECRET}, "ATTACHMENTS_S3_ACCESS_KEY_ID"),
    ({"CLAMAV_URL": f"tcp://{SECRET}"}, "CLAMAV_URL"),
    ({"MAX_REQUEST_BYTES": SECRET}, "MAX_REQUEST_BYTES"),
    ({"JWT_ACCESS_MINUTES": SECRET}, "JWT_ACCESS_MINUTES"),
    ({"THROTTLE_USER": SECRET}, "THROTTLE_USER"),
    ({"RATE_LOGIN_ACCOUNT": SECRET}, "RATE_LOGIN_ACCOUNT"),
    ({"ATTACHMENT_ALLOWED_TYPES": SECRET}, "ATTACHMENT_ALLOWED_TYPES"),
    ({"AI_ROUTER_ABSTAIN_BELOW": SECRET}, "AI_ROUTER_ABSTAIN_BELOW"),
    ({"SECURE_HSTS_SECONDS": SECRET}, "SECURE_HSTS_SECONDS"),
]


def manage_check(overrides: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.pop("SECRET_KEY", None)
    env.update({"DJANGO_SETTINGS_MODULE": "helpdesk.settings.main", "VAR_DIR": str(var_dir), "DEBUG": "true"})
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_configuration_error_is_one_line_naming_the_variable_without_the_secret(tmp_path):
    # Two at a time (two cores): each is a Python process that stops while reading the settings.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda case: manage_check(case[0], tmp_path), CONFIGURATION_ERRORS))
    problems = []
    for (overrides, named), result in zip(CONFIGURATION_ERRORS, results, strict=True):
        output = result.stdout + result.stderr
        lines = output.strip().splitlines()
        if result.returncode != 1:
            problems.append(f"{overrides}: exit {result.returncode}, expected 1: {output[-500:]}")
        elif len(lines) != 1:
            problems.append(f"{overrides}: {len(lines)} lines, expected one: {output[-800:]}")
        elif not (lines[0].startswith("ImproperlyConfigured: ") and named in lines[0]):
            problems.append(f"{overrides}: does not name {named}: {lines[0]}")
        if SECRET in output:
            problems.append(f"{overrides}: the secret is in the output: {output[-500:]}")
    assert not problems, "\n".join(problems)


def test_the_asgi_server_stops_with_the_same_one_line(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        VAR_DIR=str(tmp_path),
        DEBUG="true",
        DATABASE_URL=f"mysql://helpdesk:{SECRET}@db.internal/helpdesk",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "helpdesk.asgi:application",
            "--port",
            str(free_port()),
            "--log-level",
            "error",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert SECRET not in output
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1].startswith("ImproperlyConfigured: DATABASE_URL must start with")


# --- Log lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,secret",
    [
        ("could not connect to postgres://helpdesk:pg-Pa55word@db:5432/helpdesk", "pg-Pa55word"),
        ("Redis redis://:redis-Pa55@cache:6379/0 refused", "redis-Pa55"),
        (
            '127.0.0.1:5000 - "WebSocket /ws/feed/?token=eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2ln" [accepted]',
            "eyJ1c2VyX2lkIjoiMSJ9",
        ),
        ('"GET /api/v1/tickets/1/attachments/2/download/?signature=abc123signed HTTP/1.1" 200', "abc123signed"),
        ("Authorization was Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
    ],
)
def test_secret_shapes_are_redacted(line, secret):
    assert secret not in redact(line)
    assert MASK in redact(line)


def test_configured_secrets_are_redacted_wherever_they_appear(settings):
    assert settings.SECRET_KEY not in redact(f"key is {settings.SECRET_KEY}!")


def test_the_log_filter_redacts_messages_arguments_and_tracebacks(settings):
    try:
        raise RuntimeError(f"failed with postgres://u:tb-Pa55word@db/x and {settings.SECRET_KEY}")
    except RuntimeError:
        import sys as _sys

        exc_info = _sys.exc_info()
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s for %s", ("eyJhbGciOi.eyJzdWIiOiIxIn0.sig", "u"), exc_info
    )
    assert RedactSecretsFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "eyJzdWIiOiIxIn0" not in text and "tb-Pa55word" not in text and settings.SECRET_KEY not in text


def test_the_console_handler_redacts_every_line(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert "redact" in handler["filters"]
    for name in ("uvicorn.access", "uvicorn.error"):
        assert settings.LOGGING["loggers"][name]["handlers"] == ["console"]


# --- Answers ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_answer_or_log_line_repeats_a_password_or_a_token(api, caplog):
    UserFactory(email="ada@example.com")
    wrong_password = "Wr0ng-but-s3cret-passphrase"
    leaked = []
    with caplog.at_level(logging.DEBUG):
        responses = [
            api.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": wrong_password}, format="json"),
            api.post("/api/v1/auth/login/", {"email": "not-an-email", "password": wrong_password}, format="json"),
            api.post("/api/v1/auth/signup/", {"email": "b@example.com", "password": wrong_password[:5]}, format="json"),
            api.generic("POST", "/api/v1/auth/login/", '{"password": "' + wrong_password + '", ', "application/json"),
        ]
        pair = api.post("/api/v1/auth/login/", {"email": "ada@example.com", "password": PASSWORD}, format="json").json()
        api.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")
        revoked = api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
        assert_problem(revoked, 401, "token_revoked")
        responses.append(revoked)
        tampered = pair["access"][:-4] + "AAAA"
        responses.append(Client().get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tampered}"))
        responses.append(api.post("/api/v1/auth/refresh/", {"refresh": tampered}, format="json"))
    for response in responses:
        assert response.status_code < 500
        text = response.content.decode()
        for secret in (wrong_password, pair["refresh"], pair["access"], tampered, pair["refresh"].split(".")[2]):
            if secret in text:
                leaked.append((response.status_code, text[:200]))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (wrong_password, PASSWORD, pair["refresh"], tampered):
        if secret in logged:
            leaked.append(("log", secret[:10]))
    assert not leaked, leaked


@pytest.mark.django_db
def test_readyz_redacts_what_a_failing_dependency_says(api, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("redis://:readyz-Pa55word@cache:6379/0 refused the connection")

    monkeypatch.setattr(health.cache, "set", refuse)
    body = api.get("/readyz").json()
    assert "refused" in body["checks"]["cache"]
    assert "readyz-Pa55word" not in str(body)
