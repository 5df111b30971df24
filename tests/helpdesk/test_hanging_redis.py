"""A Redis that accepts connections and never answers (a hung server, a black-holed route) must not
hang the user's request: every client of it (cache, channel layer, Celery broker) has bounded
timeouts, so a write still answers, and what it could not queue is left to the outbox retry job."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests.helpdesk.servers import live_server


@pytest.fixture
def hanging_redis_url():
    """A TCP port that accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(100)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.e2e
def test_a_write_answers_in_bounded_time_when_redis_hangs(tmp_path, hanging_redis_url):
    env = {"REDIS_URL": hanging_redis_url, "LOG_LEVEL": "WARNING", "BROKER_TIMEOUT_SECONDS": "1"}
    with live_server(tmp_path, env=env, migrate=True) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        account = {"email": "ada@example.com", "password": "violet-harbour-1842"}
        assert http.post("/api/v1/auth/signup/", json=account).status_code == 201
        access = http.post("/api/v1/auth/login/", json=account).json()["access"]
        started = time.monotonic()
        created = http.post(
            "/api/v1/tickets/",
            json={"title": "VPN down", "description": "since 9"},
            headers={"Authorization": f"Bearer {access}"},
        )
        took = time.monotonic() - started
    assert created.status_code == 201, created.text
    # Before the broker had timeouts this request never answered; now it waits a few seconds at most.
    assert took < 20, f"creating a ticket took {took:.1f} s with a hanging Redis"
