"""A real server (uvicorn by default, production settings) in a subprocess, for tests that need a socket
or an environment of their own: a body limit counted as bytes arrive, a Redis or database that is down,
another way of serving (SERVERS: daphne, gunicorn, `manage.py runserver`).

    with live_server(tmp_path, env={"REDIS_URL": "redis://127.0.0.1:6390/0"}, migrate=True) as server:
        httpx.get(server.url + "/readyz")
        server.log()  # what the server wrote to stdout and stderr so far
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]  # the checkout (manage.py)

SECRET_KEY = "live-server-" + "k3y-" * 12
# Variables of the test run that must not leak into the server: it gets only what a test gives it.
_OWN = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VAR_DIR", "HELPDESK_TEST_VAR_DIR", "SECRET_KEY"}


# How each server is started; {port} is filled in.
SERVERS = {
    "uvicorn": ["-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port", "{port}"],
    "daphne": ["-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", "helpdesk.asgi:application"],
    "gunicorn": [
        "-m",
        "gunicorn",
        "-c",
        "python:helpdesk.gunicorn_conf",
        "helpdesk.wsgi:application",
        "-w",
        "2",
        "-b",
        "127.0.0.1:{port}",
        "--no-control-socket",  # its default path is one per user: tests running side by side would share it
    ],
    "runserver": ["manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _OWN}
    env.update(
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",  # no model loading in these servers: they test the plumbing
    )
    env.update(overrides)
    return env


# What a server's VAR_DIR holds before it starts: "migrated" as after `manage.py migrate`, "admin" with
# the static files too (Django admin's pages), "demo" as after `make run`'s set-up (the demo's people,
# tickets routed by the AI, articles, static files).
PREPARED = {
    "migrated": [["migrate", "--noinput", "-v0"]],
    "admin": [["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]],
    "demo": [
        ["migrate", "--noinput", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
        ["seed_demo", "--allow-production", "-v0"],
    ],
}


def prepare_var_dir(var_dir: Path, kind: str) -> None:
    """Fill `var_dir` as the commands of PREPARED[kind] would, from a copy the first process of the
    test run to ask made (tests/conftest.py gives every process of a run one folder): migrating costs
    5 s and the demo 35 s, and every server of the run would otherwise pay them again."""
    run_dir = Path(os.environ["HELPDESK_TEST_RUN_DIR"])
    template = run_dir / kind
    with (run_dir / f"{kind}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first to finish, then copy
        if not template.is_dir():
            scratch = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=run_dir))
            env = server_env(scratch)
            env.pop("AI_AUTO_ROUTE")  # the demo's tickets are routed, as `make run` shows them
            for command in PREPARED[kind]:
                done = subprocess.run(
                    [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, timeout=600
                )
                if done.returncode:
                    shutil.rmtree(scratch, ignore_errors=True)
                    pytest.fail(f"manage.py {' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
            scratch.rename(template)
    shutil.copytree(template, var_dir, dirs_exist_ok=True)


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_server(
    tmp_path: Path, *, env: dict[str, str] | None = None, migrate: bool = False, server: str = "uvicorn"
) -> Iterator[Server]:
    var_dir = tmp_path / "var"
    var_dir.mkdir(exist_ok=True)
    full_env = server_env(var_dir, **(env or {}))
    if migrate:
        prepare_var_dir(var_dir, "migrated")
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *(arg.format(port=port) for arg in SERVERS[server])],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = Server(url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server stopped: {running.log()[-2000:]}")
            try:
                status = httpx.get(f"{running.url}/healthz", timeout=1).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                break
            if status is not None:
                pytest.fail(f"/healthz answered {status}: {running.log()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /healthz within 90 s: {running.log()[-2000:]}")
            time.sleep(0.2)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
