"""Latency of sign-in and /auth/me/ over real HTTP, with production settings.

    make bench-auth            (or: .venv/bin/python bench/auth_latency.py --logins 40 --me 400)

Starts uvicorn (one process, DEBUG off, Django's default PBKDF2 hasher) on a fresh SQLite file in
a temporary VAR_DIR, creates one user, then times sequential requests from one keep-alive client
and prints p50/p95/mean per endpoint. Compare numbers only within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
EMAIL, PASSWORD = "bench@example.com", "violet-harbour-1842"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(name: str, samples: list[float]) -> dict:
    return {
        "endpoint": name,
        "requests": len(samples),
        "p50_ms": round(percentile(samples, 0.50) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
    }


def measure(call, *, warmup: int, count: int) -> tuple[list[float], httpx.Response]:
    """Seconds per call of `call` (each must answer 200), after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    samples, response = [], None
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples, response


def run(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print its table and return the structured result (bench/run_all.py calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--me", type=int, default=400)
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)

    var_dir = tempfile.mkdtemp(prefix="bench-auth-")
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="false",
        SECRET_KEY="bench-" + "k3y-" * 15,
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
        THROTTLE_ANON="100000/m",
        THROTTLE_USER="100000/m",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    create = (
        "from accounts.models import User; "
        f"User.objects.filter(email='{EMAIL}').exists() or User.objects.create_user('{EMAIL}', '{PASSWORD}')"
    )
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as http:
            credentials = {"email": EMAIL, "password": PASSWORD}
            logins, response = measure(
                lambda: http.post("/api/v1/auth/login/", json=credentials), warmup=3, count=args.logins
            )
            headers = {"Authorization": f"Bearer {response.json()['access']}"}
            mes, _ = measure(lambda: http.get("/api/v1/auth/me/", headers=headers), warmup=20, count=args.me)
    finally:
        server.terminate()
        server.wait(timeout=10)

    rows = [summary("POST /api/v1/auth/login/", logins), summary("GET /api/v1/auth/me/", mes)]
    print(f"{'endpoint':28} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for row in rows:
        print(f"{row['endpoint']:28} {row['requests']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['mean_ms']:>8}")
    return {"server": "uvicorn, 1 process", "database": "sqlite", "results": rows}


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
