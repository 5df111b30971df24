"""Dependencies fail soft (issue 15, point 2; docs/operations.md, "When a dependency fails").

- Redis that does not answer: sign-in, reads and writes go on; rate limits count per process; the
  cache falls back to memory (helpdesk.cache); /readyz says `degraded`; one log line says so, once.
- The database unreachable: every request that needs it is a quick 503 problem+json
  `database_unavailable`, never a 500; /healthz stays up and /readyz is 503.
- A mail server that hangs: sending gives up within EMAIL_TIMEOUT.

Real services are stopped and started where this machine has them (a throwaway redis-server on a
port of its own); a port where nothing listens stands for a Redis or PostgreSQL that is down.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid

import httpx
import jwt
import pytest
from django.core import mail
from django.core.cache import caches
from django.test import override_settings

from helpdesk import cache as fail_soft
from tests.factories import PASSWORD
from tests.helpdesk.servers import SECRET_KEY, free_port, live_server
from tests.helpers import assert_problem, bearer_client
from tickets.models import Ticket

LOGIN = "/api/v1/auth/login/"


def dead_redis_url() -> str:
    """A Redis URL where nothing listens (a port just taken and released)."""
    return f"redis://:s3cret-redis-pw@127.0.0.1:{free_port()}/0"


def fail_soft_caches(location: str, retry_seconds: float = 5) -> dict:
    return {
        "default": {
            "BACKEND": "helpdesk.cache.FailSoftRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2, "RETRY_SECONDS": retry_seconds},
        }
    }


@pytest.fixture(autouse=True)
def _forget_redis_health():
    """The up/down state is per process: each test starts from 'up'."""
    fail_soft._HEALTH.clear()
    yield
    fail_soft._HEALTH.clear()


def cache_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "helpdesk.cache"]


# --- The cache itself ----------------------------------------------------------------------------


def test_a_dead_redis_cache_serves_from_memory_and_says_so_once(caplog):
    location = dead_redis_url()
    with override_settings(CACHES=fail_soft_caches(location)), caplog.at_level(logging.WARNING):
        cache = caches["default"]
        for number in range(20):
            cache.set(f"key{number}", number)
            assert cache.get(f"key{number}") == number
        assert cache.add("counter", 0) and cache.incr("counter") == 1
        assert cache.get_or_set("computed", lambda: "value") == "value"
        assert fail_soft._health_of(location).down
        with pytest.raises(Exception, match=r"Connection refused|Error"):
            cache.ping()
    lines = cache_lines(caplog)
    assert len(lines) == 1, lines
    assert "does not answer" in lines[0] and "s3cret-redis-pw" not in lines[0]


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server binary to stop and start one")
def test_redis_that_stops_and_comes_back(tmp_path, caplog):
    port = free_port()
    location = f"redis://127.0.0.1:{port}/0"

    def start():
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(tmp_path),
                "--pidfile",
                str(tmp_path / "redis.pid"),
            ],
            check=True,
            timeout=10,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop():
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], timeout=10, capture_output=True)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return

    start()
    try:
        with override_settings(CACHES=fail_soft_caches(location, retry_seconds=0.2)), caplog.at_level(logging.WARNING):
            cache = caches["default"]
            cache.set("shared", "in redis")
            cache.ping()
            assert not fail_soft._health_of(location).down

            stop()
            for _ in range(10):  # no request fails while Redis is down
                cache.set("local", "in memory")
                assert cache.get("local") == "in memory"
            assert fail_soft._health_of(location).down

            start()
            time.sleep(0.3)  # past RETRY_SECONDS: the next call tries Redis again
            cache.set("again", "in redis")
            assert not fail_soft._health_of(location).down
            assert cache.get("again") == "in redis"
    finally:
        stop()
    lines = cache_lines(caplog)
    assert len(lines) == 2, lines
    assert "does not answer" in lines[0] and "answers again" in lines[1]


# --- The API with a dead Redis, in process -------------------------------------------------------


@pytest.mark.django_db
def test_the_api_signs_in_reads_and_writes_with_a_dead_redis(client_for, people, caplog):
    with override_settings(CACHES=fail_soft_caches(dead_redis_url())), caplog.at_level(logging.WARNING):
        api = bearer_client(None)
        login = api.post(LOGIN, {"email": "employee@example.com", "password": PASSWORD}, format="json")
        assert login.status_code == 200
        employee = bearer_client(people["employee"])
        created = employee.post("/api/v1/tickets/", {"title": "VPN down", "description": "since 9"}, format="json")
        assert created.status_code == 201
        ticket_id = created.json()["id"]
        assert employee.get("/api/v1/tickets/").json()["count"] == 1
        assert employee.get(f"/api/v1/tickets/{ticket_id}/").status_code == 200
        comment = employee.post(f"/api/v1/tickets/{ticket_id}/comments/", {"body": "still down"}, format="json")
        assert comment.status_code == 201
        assert bearer_client(people["agent"]).get("/api/v1/kb/search/?q=vpn").status_code == 200

        # Rate limits count per process: the 6th wrong password in a minute is still refused.
        for _ in range(5):
            wrong = api.post(LOGIN, {"email": "employee@example.com", "password": "wrong"}, format="json")
            assert_problem(wrong, 401, "invalid_credentials")
        assert_problem(api.post(LOGIN, {"email": "employee@example.com", "password": "x"}, format="json"), 429)

        ready = api.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded" and "cache" in ready.json()["degraded"]
        assert ready.json()["checks"]["database"] == "ok"
    assert Ticket.objects.get(pk=ticket_id).comments[0]["body"] == "still down"
    assert len(cache_lines(caplog)) == 1, cache_lines(caplog)


# --- The whole server: dead Redis, unreachable database ------------------------------------------


def access_token(user_id: str) -> str:
    """A well-signed access token for the live server (its SECRET_KEY), as sign-in would issue."""
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 600, "iat": now, "jti": uuid.uuid4().hex, "user_id": user_id}
    return jwt.encode(claims, SECRET_KEY, algorithm="HS256")


@pytest.mark.e2e
def test_the_server_with_a_dead_redis_serves_and_logs_it_once(tmp_path):
    env = {"REDIS_URL": dead_redis_url(), "LOG_LEVEL": "WARNING", "AI_AUTO_ROUTE": "true"}
    with live_server(tmp_path, env=env, migrate=True) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        account = {"email": "ada@example.com", "password": "violet-harbour-1842"}
        assert http.post("/api/v1/auth/signup/", json=account).status_code == 201
        pair = http.post(LOGIN, json=account).json()
        headers = {"Authorization": f"Bearer {pair['access']}"}
        created = http.post("/api/v1/tickets/", json={"title": "VPN down", "description": "since 9"}, headers=headers)
        assert created.status_code == 201, created.text
        # The routing job could not be queued (the broker is Redis): the ticket waits in triage.
        assert created.json()["department"] is None
        ticket = created.json()["id"]
        for _ in range(5):
            assert http.get("/api/v1/tickets/", headers=headers).status_code == 200
        comment = http.post(f"/api/v1/tickets/{ticket}/comments/", json={"body": "still down"}, headers=headers)
        assert comment.status_code == 201
        assert http.post("/api/v1/auth/refresh/", json={"refresh": pair["refresh"]}).status_code == 200
        ready = http.get("/readyz").json()
        # (and "jobs" once they are overdue: with the broker down no beat runs them)
        assert ready["status"] == "degraded" and {"cache", "channel_layer"} <= set(ready["degraded"])
        time.sleep(0.3)
        log = server.log()
    assert log.count("does not answer") == 1, log[-3000:]
    assert "s3cret-redis-pw" not in log
    assert " 500" not in log and "Traceback" not in log.split("Could not queue routing")[0]


@pytest.mark.e2e
def test_the_server_with_the_database_unreachable_answers_503_quickly(tmp_path):
    database_url = f"postgres://postgres:s3cret-db-pw@127.0.0.1:{free_port()}/test"
    with live_server(tmp_path, env={"DATABASE_URL": database_url}) as server:
        headers = {"Authorization": f"Bearer {access_token('6b080c9e0fa7dbeb64de0a38')}"}
        calls = [
            ("POST", LOGIN, {"email": "ada@example.com", "password": "violet-harbour-1842"}, {}),
            ("POST", "/api/v1/auth/signup/", {"email": "ada@example.com", "password": "violet-harbour-1842"}, {}),
            ("GET", "/api/v1/tickets/", None, headers),
            ("POST", "/api/v1/tickets/", {"title": "VPN", "description": "down"}, headers),
            ("GET", "/api/v1/auth/me/", None, headers),
        ]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for method, path, body, extra in calls:
                started = time.monotonic()
                response = http.request(method, path, json=body, headers=extra)
                assert time.monotonic() - started < 3, path
                assert response.status_code == 503, (path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["code"] == "database_unavailable"
                assert response.headers["Retry-After"]
                assert "s3cret-db-pw" not in response.text
            assert http.get("/healthz").status_code == 200
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["failed"] == ["database"]
            assert "s3cret-db-pw" not in ready.text
        log = server.log()
    assert "Database unavailable" in log and "s3cret-db-pw" not in log


# --- Mail ---------------------------------------------------------------------------------------


def test_a_mail_server_that_hangs_gives_up_within_the_timeout(settings):
    """Nothing in a request sends mail yet (notifications will, from jobs); the SMTP connection
    has a time-out so that a provider that accepts and never answers cannot hold anything for long."""
    assert settings.EMAIL_TIMEOUT == 10
    assert settings.ANYMAIL["REQUESTS_TIMEOUT"] == 10.0
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    backend = mail.get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=server.getsockname()[1], timeout=1
    )
    started = time.monotonic()
    with pytest.raises((TimeoutError, OSError)):
        mail.EmailMessage("Hi", "Body", "helpdesk@example.com", ["ada@example.com"], connection=backend).send()
    assert time.monotonic() - started < 5
    for connection in accepted:
        connection.close()
    server.close()


def test_the_user_is_never_the_one_who_waits_for_mail():
    """Sending mail is not on any request's path today (the outbox's jobs will do it)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    senders = []
    for app in ("accounts", "tickets", "knowledge", "ai_assist", "helpdesk"):
        for path in (root / app).rglob("*.py"):
            text = path.read_text(errors="replace")
            if "send_mail(" in text or ".send(fail_silently" in text:
                senders.append(str(path.relative_to(root)))
    assert senders == [], senders
