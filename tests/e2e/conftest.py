"""A real ASGI server (uvicorn, production settings, its own SQLite file) for whole-system tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpdesk.servers import prepare_var_dir, server_env
from tests.helpers import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("e2e-var")
    # The embedded default of `make run`, which README's walk-throughs describe: its own SQLite
    # file, no Redis (so jobs such as routing run in-process, before the response).
    env = server_env(var_dir, AI_AUTO_ROUTE="true")
    prepare_var_dir(var_dir, "demo")  # migrated, static files collected, the demo README signs in as
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server stopped: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the server did not answer /healthz within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=10)
