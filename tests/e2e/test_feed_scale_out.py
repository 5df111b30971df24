"""Scaled out on Redis: two ASGI processes (uvicorn serving helpdesk.asgi:application, each with
REDIS_URL) and a Celery worker, sharing one database. A write accepted over HTTP by one server is
delivered on a websocket held by the other (the worker's dispatcher sends through channels-redis),
and the other way round."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest
import websockets

from tests.helpdesk.servers import ROOT, live_server, server_env

REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.redis,
    pytest.mark.skipif(
        not REDIS_URL,
        reason="needs Redis for the channel layer shared by two servers: set REDIS_URL=redis://127.0.0.1:6379/15",
    ),
]

PASSWORD = "scale-out-e2e-2026"
PEOPLE = """
from accounts.models import Department, Role, User
network = Department.objects.create(name="Network")
people = [("agent@example.com", Role.AGENT, network), ("employee@example.com", Role.EMPLOYEE, None)]
for email, role, department in people:
    user = User(email=email, role=role, department=department)
    user.set_password("{password}")
    user.save()
print(network.pk)
"""


@contextmanager
def celery_worker(env: dict, log_path):
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while b" ready." not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def login(url: str, email: str) -> str:
    response = httpx.post(f"{url}/api/v1/auth/login/", json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["access"]


async def wait_for(socket, kind: str, *, timeout: float) -> tuple[dict, float]:
    """The first message of `kind`, and when it came (time.monotonic())."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), max(deadline - time.monotonic(), 0.01)))
        if message["type"] == kind:
            return message, time.monotonic()


def test_a_write_on_one_server_reaches_a_socket_on_the_other(tmp_path):
    env = {"REDIS_URL": REDIS_URL}
    with live_server(tmp_path, env=env, migrate=True) as first:
        full_env = server_env(tmp_path / "var", **env)
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", PEOPLE.format(password=PASSWORD)],
            cwd=ROOT,
            env=full_env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        network = made.stdout.strip().splitlines()[-1]
        with (
            live_server(tmp_path, env=env) as second,
            celery_worker(full_env, tmp_path / "worker.log"),
        ):
            agent, employee = login(first.url, "agent@example.com"), login(first.url, "employee@example.com")

            async def scenario() -> dict:
                ws = "ws://127.0.0.1:{}/ws/feed/?token={}"
                async with (
                    websockets.connect(ws.format(second.port, agent)) as agent_socket,
                    websockets.connect(ws.format(first.port, employee)) as employee_socket,
                ):
                    for socket in (agent_socket, employee_socket):
                        assert json.loads(await socket.recv())["type"] == "hello"
                    async with httpx.AsyncClient(timeout=60) as http:
                        # The employee writes to the first server; the agent listens on the second.
                        sent = time.monotonic()
                        created = await http.post(
                            f"{first.url}/api/v1/tickets/",
                            json={"title": "Printer offline", "description": "Since the move.", "department": network},
                            headers={"Authorization": f"Bearer {employee}"},
                        )
                        assert created.status_code == 201, created.text
                        ticket = created.json()["id"]
                        message, arrived = await wait_for(agent_socket, "ticket.created", timeout=90)
                        assert message["data"]["ticket_id"] == ticket
                        first_delivery = arrived - sent
                        # The agent replies on the second server; the employee listens on the first.
                        sent = time.monotonic()
                        replied = await http.post(
                            f"{second.url}/api/v1/tickets/{ticket}/comments/",
                            json={"body": "Fixed, try again."},
                            headers={"Authorization": f"Bearer {agent}"},
                        )
                        assert replied.status_code == 201, replied.text
                        message, arrived = await wait_for(employee_socket, "comment.added", timeout=60)
                        assert message["data"]["body"] == "Fixed, try again."
                        reply_delivery = arrived - sent
                        note, _ = await wait_for(employee_socket, "notification.created", timeout=30)
                        assert note["data"]["kind"] == "reply"
                return {"first": first_delivery, "reply": reply_delivery}

            timings = asyncio.run(scenario())
            # (A solo worker handles one event at a time: after the first it loads the AI index's model,
            # a few seconds once per worker, and the reply waits for that. bench/ws_fanout.py measures.)
            print(f"scale-out delivery: first write {timings['first']:.3f} s, reply {timings['reply']:.3f} s")
