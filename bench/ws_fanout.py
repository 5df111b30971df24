"""Live feed fan-out: from an HTTP write to its delivery on the websockets of 1,000 connected agents.

    make bench-feed     (or: .venv/bin/python bench/ws_fanout.py [--agents 1000] [--writes 20]
                         [--layers memory,redis] [--max-seconds 900] [--json])

Per channel layer, on loopback only:
- a fresh SQLite file in a temporary VAR_DIR, migrated; one department, `--agents` agents in it and
  one employee (bulk-created; access tokens issued directly, no sign-in);
- one ASGI process (uvicorn serving helpdesk.asgi:application, production settings). `memory`: no
  REDIS_URL, so the in-memory channel layer, and the dispatcher runs in that process right after the
  commit (as `make run`). `redis`: REDIS_URL set (default redis://127.0.0.1:6379/11, or $REDIS_URL),
  so channels-redis, and the dispatcher runs in one Celery worker (as in production);
- one warm-up write (the AI index loads its model once per process; /readyz's outbox says when every
  consumer is done), then every agent connects to
  /ws/feed/?token=... and waits for `hello`; the server's resident memory before and after gives the
  memory per connection;
- `--writes` times: the employee POSTs a ticket to the department; the clock starts as the request
  is sent and stops, per socket, when its `ticket.created` arrives. Reported: p50/p95/max over every
  (write, socket) pair, and p50/p95 of the time until the last of the sockets has it. Each write
  starts once the previous one is delivered to every consumer (the audit log, the AI index, ...).
Stops by itself: every wait has a deadline and the whole run stops after `--max-seconds`. The
clients (1,000 sockets in this process) share the machine's 2 cores with the server: the figures
include that. Compare numbers only within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"  # not 15/14: the test suite (and CI) flush those
QUIET_WORKER = ["--without-gossip", "--without-mingle", "--without-heartbeat"]

SETUP = """
import json, sys
from accounts.models import Department, Role, User
from rest_framework_simplejwt.tokens import AccessToken
department = Department.objects.create(name="Bench")
agents = User.objects.bulk_create(
    [User(email=f"agent{{i}}@bench.example", role=Role.AGENT, department=department, password="!") for i in range({n})]
)
employee = User.objects.create(email="employee@bench.example", role=Role.EMPLOYEE, password="!")
print(json.dumps({{
    "department": department.pk,
    "employee": str(AccessToken.for_user(employee)),
    "agents": [str(AccessToken.for_user(agent)) for agent in agents],
}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def environment(var_dir: str, redis_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="false",
        SECRET_KEY="bench-feed-" + "k3y-" * 15,
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
        THROTTLE_ANON="1000000/m",
        THROTTLE_USER="1000000/m",
        RATE_TICKET_CREATE="1000000/m",
        AI_AUTO_ROUTE="false",
        JWT_ACCESS_MINUTES="120",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until(check, *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {seconds:.0f} s: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Agents:
    """The agents' sockets: each records when each ticket's `ticket.created` arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, list[float]] = {}
        self.sockets: list = []
        self.tasks: list[asyncio.Task] = []

    async def connect(self, url: str, tokens: list[str], *, batch: int = 50, seconds: float = 300) -> None:
        async def one(token: str) -> None:
            ws = await websockets.connect(f"{url}?token={token}", open_timeout=60, max_queue=None)
            hello = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert hello["type"] == "hello", hello
            self.sockets.append(ws)
            self.tasks.append(asyncio.create_task(self.listen(ws)))

        async def all_of() -> None:
            for start in range(0, len(tokens), batch):
                await asyncio.gather(*(one(token) for token in tokens[start : start + batch]))

        await asyncio.wait_for(all_of(), seconds)

    async def listen(self, ws) -> None:
        try:
            async for text in ws:
                now = time.perf_counter()
                message = json.loads(text)
                if message["type"] == "ticket.created":
                    self.arrived.setdefault(message["data"]["ticket_id"], []).append(now)
        except websockets.ConnectionClosed:
            return

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def drained(http: httpx.AsyncClient, base: str, *, seconds: float = 180) -> None:
    """Wait until every event is delivered to every consumer (/readyz's outbox)."""
    deadline = time.monotonic() + seconds
    while (await http.get(f"{base}/readyz")).json()["outbox"]["undelivered"]:
        if time.monotonic() > deadline:
            raise SystemExit(f"events still undelivered after {seconds:.0f} s")
        await asyncio.sleep(0.1)


async def run_writes(base: str, feed_url: str, setup: dict, args, pid: int) -> dict:
    agents = Agents()
    headers = {"Authorization": f"Bearer {setup['employee']}"}
    body = {"title": "Bench", "description": "Fan-out", "department": setup["department"]}
    async with httpx.AsyncClient(timeout=120) as http:
        # Warm-up: the first write loads the AI index's model; the first socket imports the consumer.
        await agents.connect(feed_url, setup["agents"][:1])
        response = await http.post(f"{base}/api/v1/tickets/", json=body, headers=headers)
        assert response.status_code == 201, response.text
        await drained(http, base)
        before = rss_bytes(pid)
        await agents.connect(feed_url, setup["agents"][1:])
        await asyncio.sleep(2)
        after = rss_bytes(pid)
        count = len(agents.sockets)
        latencies: list[float] = []
        last: list[float] = []
        posts: list[float] = []
        for _ in range(args.writes):
            sent = time.perf_counter()
            response = await http.post(f"{base}/api/v1/tickets/", json=body, headers=headers)
            posts.append(time.perf_counter() - sent)
            assert response.status_code == 201, response.text
            ticket = response.json()["id"]
            deadline = time.perf_counter() + 30
            while len(agents.arrived.get(ticket, [])) < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            arrived = agents.arrived.get(ticket, [])
            if len(arrived) < count:
                closed = sum(1 for ws in agents.sockets if ws.close_code is not None)
                raise SystemExit(
                    f"only {len(arrived)} of {count} sockets got ticket {ticket} within 30 s ({closed} closed: "
                    f"{sorted({ws.close_code for ws in agents.sockets if ws.close_code is not None})})"
                )
            latencies += [moment - sent for moment in arrived]
            last.append(max(arrived) - sent)
            await drained(http, base)  # every consumer is done with it: the next write starts from rest
            await asyncio.sleep(0.2)
        await agents.close()
    return {
        "sockets": count,
        "writes": args.writes,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "all_delivered_p50_ms": round(percentile(last, 0.50) * 1000, 1),
        "all_delivered_p95_ms": round(percentile(last, 0.95) * 1000, 1),
        "post_p50_ms": round(percentile(posts, 0.50) * 1000, 1),
        "rss_per_connection_kib": round((after - before) / max(count - 1, 1) / 1024, 1),
        "rss_before_mib": round(before / 2**20, 1),
        "rss_after_mib": round(after / 2**20, 1),
    }


def one_layer(layer: str, args) -> dict:
    redis_url = (os.environ.get("REDIS_URL") or DEFAULT_REDIS) if layer == "redis" else ""
    var_dir = tempfile.mkdtemp(prefix=f"bench-feed-{layer}-")
    env = environment(var_dir, redis_url)
    logs = Path(var_dir)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    made = subprocess.run(
        [python, "manage.py", "shell", "-c", SETUP.format(n=args.agents)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    setup = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    server_log, worker_log = logs / "server.log", logs / "worker.log"
    server = start(
        [python, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        env,
        server_log,
    )
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if server.poll() is not None:
                raise SystemExit(f"the server stopped: {server_log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, seconds=90, what="the server's /healthz", log=server_log)
        if redis_url:
            worker = start(
                [python, "-m", "celery", "-A", "helpdesk", "worker", "--pool=solo", "--loglevel=INFO", *QUIET_WORKER],
                env,
                worker_log,
            )
            wait_until(lambda: b" ready." in worker_log.read_bytes(), seconds=120, what="the worker", log=worker_log)
        result = asyncio.run(run_writes(base, f"ws://127.0.0.1:{port}/ws/feed/", setup, args, server.pid))
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
    return {"layer": layer, "processes": "1 uvicorn" + (" + 1 Celery worker" if redis_url else ""), **result}


def run(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print its table and return the structured result (bench/run_all.py calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--layers", default="memory,redis")
    parser.add_argument("--max-seconds", type=int, default=900, help="stop the whole run after this long")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * args.agents + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the server inherits it

    def out_of_time(signum, frame):
        raise SystemExit(f"the benchmark ran longer than {args.max_seconds} s: stopped")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.max_seconds)
    results = [one_layer(layer.strip(), args) for layer in args.layers.split(",") if layer.strip()]
    signal.alarm(0)
    print(
        f"{'layer':8} {'processes':28} {'sockets':>7} {'writes':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'all p95':>8} {'POST p50':>8} {'KiB/conn':>8}"
    )
    for row in results:
        print(
            f"{row['layer']:8} {row['processes']:28} {row['sockets']:>7} {row['writes']:>6} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['max_ms']:>8} {row['all_delivered_p95_ms']:>8} {row['post_p50_ms']:>8} "
            f"{row['rss_per_connection_kib']:>8}"
        )
    return {"feed_fanout": results}


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
