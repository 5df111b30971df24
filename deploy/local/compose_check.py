"""make compose-check: docker-compose.yml's whole stack brought up on this machine, on LOCAL TEST
STAND-INS for PostgreSQL, Redis, Chroma and nginx (deploy/local/standins/, compose.standins.yml),
smoke-tested through the proxy, measured, and taken down.

1. dockerd runs; the stand-ins and the app image are built where missing (standins.py; the app
   image as make image-check builds it, on the python:3.11-slim stand-in);
2. `docker-compose -f docker-compose.yml -f deploy/local/compose.standins.yml up -d` as the project
   `helpdesk-standins`, the proxy on 127.0.0.1:18080 (HTTP_PORT). With Debian's docker-compose
   1.29.2, docker-compose.yml is first copied without what only Compose v2 reads (the top-level
   `name:`, `depends_on: ...: required: false`) and run with --project-directory; with Compose v2
   (`docker compose`, --compose v2) the files are used as they are;
3. waits for migrate to exit 0 and every other container to be healthy (or running, without a
   healthcheck);
4. through nginx only: the probes, the API docs, a demo sign-in, a ticket whose `ticket.created`
   reaches a websocket on /ws/feed/ (uvicorn behind the proxy), a password-reset email that the
   Celery worker delivers (file backend: read back from the worker's own folder; its reset token
   in no log), a chat answer, and
   /metrics refused without METRICS_TOKEN and served with it;
5. the memory of each container (`docker stats --no-stream`), the tracebacks in each log, a summary;
6. `down -v` (unless --keep). Exit status 1 on any failure.

Usage: .venv/bin/python deploy/local/compose_check.py [--port 18080] [--keep] [--compose v1|v2]
Needs the `websockets` package (the project's virtualenv has it) and PyYAML.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import standins
from standins import REPO, Failure, Report, docker, say

try:
    import websockets
    import yaml
except ImportError as missing:  # pragma: no cover - a message for a person
    sys.exit(f"compose-check needs {missing.name} (make install, then .venv/bin/python {sys.argv[0]})")

PROJECT = "helpdesk-standins"
APP_IMAGE = "helpdesk-ai:latest"
OVERRIDE = REPO / "deploy" / "local" / "compose.standins.yml"
LOGS = Path("/tmp/compose-check.logs")
DEMO_PASSWORD = "helpdesk-demo-2026"  # accounts/demo.py: published, demo accounts only
ADMIN, EMPLOYEE = "admin@example.com", "employee@example.com"


# --- Compose -------------------------------------------------------------------------------------


def compose_flavour(wanted: str | None) -> str:
    if wanted:
        return wanted
    if shutil.which("docker-compose"):
        version = standins.run(["docker-compose", "version", "--short"], check=False).stdout.strip()
        if version.startswith("1."):
            return "v1"
    if standins.run(["docker", "compose", "version"], check=False).returncode == 0:
        return "v2"
    raise Failure("no Compose: apt-get install -y docker-compose (Debian 12: 1.29.2)")


def v1_copy(scratch: Path) -> Path:
    """docker-compose.yml without what Compose 1.29 refuses: the top-level `name:` (the project is
    named with -p) and `required: false` dependencies (on services of a profile that is not
    enabled: dropped, as Compose v2 drops them)."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    compose.pop("name", None)
    for service in compose["services"].values():
        depends = service.get("depends_on")
        if isinstance(depends, dict):
            for target, condition in list(depends.items()):
                if isinstance(condition, dict) and condition.pop("required", True) is False:
                    del depends[target]
    copy = scratch / "docker-compose.v1.yml"
    copy.write_text(
        "# Written by deploy/local/compose_check.py for docker-compose 1.29: see that file.\n"
        + yaml.safe_dump(compose, sort_keys=False)
    )
    return copy


class Compose:
    def __init__(self, flavour: str, scratch: Path, env: dict[str, str]) -> None:
        self.env = env
        if flavour == "v1":
            self.base = [
                "docker-compose",
                "--project-directory",
                str(REPO),
                "--project-name",
                PROJECT,
                "-f",
                str(v1_copy(scratch)),
                "-f",
                str(OVERRIDE),
            ]
        else:
            self.base = [
                "docker",
                "compose",
                "--project-name",
                PROJECT,
                "-f",
                "docker-compose.yml",
                "-f",
                str(OVERRIDE),
            ]

    def __call__(
        self, *args: str, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.base, *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise Failure(
                f"`{' '.join(args)}` failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
            )
        return result


def containers() -> list[dict]:
    """Every container of the project: name, service, status, health, exit code, restarts."""
    names = docker(
        "ps", "--all", "--filter", f"label=com.docker.compose.project={PROJECT}", "--format", "{{.Names}}"
    ).stdout.split()
    found = []
    for name in sorted(names):
        info = json.loads(docker("inspect", name).stdout)[0]
        state = info["State"]
        found.append(
            {
                "name": name,
                "service": info["Config"]["Labels"].get("com.docker.compose.service", "?"),
                "status": state["Status"],
                "health": (state.get("Health") or {}).get("Status", ""),
                "exit": state["ExitCode"],
                "restarts": info.get("RestartCount", 0),
            }
        )
    return found


def wait_healthy(seconds: float) -> list[dict]:
    started = time.monotonic()
    while True:
        found = containers()
        waiting = []
        for box in found:
            if box["service"] == "migrate":
                if box["status"] == "exited" and box["exit"] != 0:
                    raise Failure(f"migrate exited {box['exit']}:\n{docker('logs', box['name']).stderr[-3000:]}")
                if box["status"] != "exited":
                    waiting.append(f"{box['name']} {box['status']}")
            elif box["status"] != "running" or box["health"] not in ("", "healthy"):
                waiting.append(f"{box['name']} {box['status']}/{box['health'] or '-'}")
            if box["restarts"]:
                raise Failure(
                    f"{box['name']} restarted {box['restarts']} times:\n{docker('logs', box['name']).stderr[-3000:]}"
                )
        if found and not waiting:
            return found
        if time.monotonic() - started > seconds:
            raise Failure(f"not healthy after {seconds:.0f} s: {', '.join(waiting)}")
        time.sleep(3)


# --- HTTP and the websocket, through the proxy ----------------------------------------------------


def http(base: str, method: str, path: str, body: dict | None = None, token: str | None = None, headers=None):
    request_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    if token:
        request_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=request_headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, text = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def short(payload: object, length: int = 150) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 3] + "..."


async def feed_hears_ticket(base: str, admin: str, employee: str) -> tuple[bool, str]:
    """The admin's feed through the proxy: hello, then the ticket.created of a ticket the employee
    opens over the REST API (gunicorn) while the socket (uvicorn) listens."""
    url = base.replace("http://", "ws://") + f"/ws/feed/?token={admin}"
    async with websockets.connect(url, open_timeout=20) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 20))
        if hello.get("type") != "hello":
            return False, f"first message {short(hello)}"
        status, ticket = await asyncio.to_thread(
            http,
            base,
            "POST",
            "/api/v1/tickets/",
            {"title": "Printer on floor 3 jams", "description": "The printer near the kitchen jams on every job."},
            employee,
        )
        if status != 201:
            return False, f"POST /api/v1/tickets/ {status} {short(ticket)}"
        started = time.monotonic()
        seen = []
        while time.monotonic() - started < 60:
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            seen.append(message.get("type"))
            if message.get("type") == "ticket.created" and message.get("data", {}).get("ticket_id") == ticket["id"]:
                return True, f"hello, then ticket.created {ticket['id']} after {time.monotonic() - started:.2f} s"
        return False, f"no ticket.created for {ticket['id']} within 60 s (saw {seen})"


RESET_SUBJECT = "Subject: [Helpdesk AI] Reset your password"
MAIL_SERVICES = ("worker", "web", "ws")


def reset_emails(compose: Compose, service: str, to: str) -> list[str]:
    """The password-reset emails to `to` that `service` delivered: the file backend of the compose
    file writes each to the service's own folder (the override's EMAIL_FILE_PATH)."""
    script = f"cat /app/var/sent-mail/{service}/*.log 2>/dev/null || true"
    text = compose("exec", "-T", "worker", "sh", "-c", script, check=False).stdout
    messages = re.split(r"\n-{79}\n", text)
    return [m for m in messages if RESET_SUBJECT in m and re.search(rf"^To: {re.escape(to)}$", m, re.MULTILINE)]


def worker_delivered(compose: Compose, to: str, before: dict[str, int], seconds: float) -> tuple[bool, str]:
    """A new password-reset email to `to` delivered by the Celery worker and by no other app
    container (`before`: the counts per service before the request); its reset token in no log."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        delivered = reset_emails(compose, "worker", to)
        if len(delivered) > before["worker"]:
            took = time.monotonic() - started
            elsewhere = [name for name in MAIL_SERVICES[1:] if len(reset_emails(compose, name, to)) > before[name]]
            if elsewhere:
                return False, f"sent by {elsewhere} as well as the worker"
            token = re.search(r"token[=:]\s*([\w-]{20,})", delivered[-1])
            if token is None:
                return False, "the reset email holds no token"
            logs = compose("logs", "--no-color", check=False).stdout
            if token.group(1) in logs:
                return False, "the reset token is in the containers' logs"
            return True, f"To: {to} by the worker {took:.1f} s after the request (web, ws: none); its token in no log"
        time.sleep(2)
    return False, f"no new reset email to {to} from the worker within {seconds:.0f} s"


# --- The run -------------------------------------------------------------------------------------


def check_override_tags() -> None:
    override = yaml.safe_load(OVERRIDE.read_text())["services"]
    want = standins.service_images()
    have = {
        "postgres": override["postgres"]["image"],
        "redis": override["redis"]["image"],
        "nginx": override["proxy"]["image"],
        "chroma": override["chroma"]["image"],
    }
    if have != want:
        raise Failure(f"{OVERRIDE.name} names {have}, standins.py builds {want}: make them agree")


def smoke(report: Report, compose: Compose, base: str, metrics_token: str) -> None:
    status, body = http(base, "GET", "/proxy-healthz")
    report.check(status == 200, "nginx /proxy-healthz", str(status))
    status, body = http(base, "GET", "/healthz")
    report.check(status == 200, "/healthz through nginx (gunicorn)", f"{status} {short(body, 80)}")
    status, body = http(base, "GET", "/readyz")
    report.check(status == 200, "/readyz through nginx", f"{status} {short(body, 220)}")
    status, _ = http(base, "GET", "/api/docs/", headers={"Accept": "text/html"})
    report.check(status == 200, "API docs /api/docs/", str(status))

    tokens = {}
    for email in (ADMIN, EMPLOYEE):
        status, body = http(base, "POST", "/api/v1/auth/login/", {"email": email, "password": DEMO_PASSWORD})
        tokens[email] = body.get("access") if isinstance(body, dict) else None
        report.check(status == 200 and bool(tokens[email]), f"sign-in {email} (demo account)", str(status))
    if not all(tokens.values()):
        return

    try:
        ok, detail = asyncio.run(feed_hears_ticket(base, tokens[ADMIN], tokens[EMPLOYEE]))
    except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as error:
        ok, detail = False, f"{type(error).__name__}: {error}"
    report.check(ok, "ticket POST -> ticket.created on /ws/feed/ through nginx", detail)

    status, body = http(base, "GET", "/api/v1/tickets/", token=tokens[EMPLOYEE])
    count = body.get("count") if isinstance(body, dict) else None
    report.check(status == 200, "ticket list GET /api/v1/tickets/ (employee)", f"{status} count={count}")

    before = {service: len(reset_emails(compose, service, EMPLOYEE)) for service in MAIL_SERVICES}
    status, body = http(base, "POST", "/api/v1/auth/password/reset/", {"email": EMPLOYEE})
    report.check(status == 202, "password reset requested POST /api/v1/auth/password/reset/", str(status))
    ok, detail = worker_delivered(compose, EMPLOYEE, before, 120)
    report.check(ok, "the email delivered by the Celery worker (file backend), its token in no log", detail)

    status, body = http(base, "POST", "/api/v1/ai/chat/", {"message": "My VPN keeps disconnecting"}, tokens[EMPLOYEE])
    detail = f"{status}"
    if isinstance(body, dict):
        cited = len(body.get("citations") or [])
        detail += f" answered={body.get('answered')} citations={cited} {short(body.get('answer', ''), 80)}"
    report.check(status == 200, "chat POST /api/v1/ai/chat/", detail)

    status, _ = http(base, "GET", "/metrics")
    report.check(status in (401, 403, 404), "/metrics without METRICS_TOKEN refused", str(status))
    status, body = http(
        base, "GET", "/metrics", headers={"Authorization": f"Bearer {metrics_token}", "Accept": "text/plain"}
    )
    series = len(re.findall(r"^helpdesk_\w+", body, re.M)) if isinstance(body, str) else 0
    report.check(status == 200 and series > 0, "/metrics with METRICS_TOKEN", f"{status}, {series} helpdesk_* samples")


def scan_logs(report: Report, compose: Compose) -> None:
    text = compose("logs", "--no-color", "--timestamps", check=False).stdout
    LOGS.write_text(text)
    per_service: dict[str, list[str]] = {}
    for line in text.splitlines():
        service = line.split("|", 1)[0].strip()
        if "Traceback (most recent call last)" in line:
            per_service.setdefault(service, []).append(line)
    if per_service:
        for service, lines in sorted(per_service.items()):
            report.check(
                False, f"no traceback in {service}'s log", f"{len(lines)}, first: {short(lines[0], 200)} ({LOGS})"
            )
    else:
        report.check(True, "no traceback in any container's log", f"full logs: {LOGS}")


def memory(found: list[dict]) -> list[str]:
    running = [box["name"] for box in found if box["status"] == "running"]
    if not running:
        return []
    out = docker("stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}\t{{.CPUPerc}}", *running).stdout
    return [line for line in out.strip().splitlines() if line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=18080, help="host port of the proxy (127.0.0.1)")
    parser.add_argument("--keep", action="store_true", help="leave the stack up afterwards")
    parser.add_argument("--compose", choices=["v1", "v2"], help="docker-compose 1.29 or docker compose (v2)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds for the stack to become healthy")
    arguments = parser.parse_args()

    report = Report()
    facts: dict[str, str] = {}
    stats: list[str] = []
    compose = None
    scratch = Path(tempfile.mkdtemp(prefix="compose-check-"))
    metrics_token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(18),
        "METRICS_TOKEN": metrics_token,
        "HTTP_PORT": f"127.0.0.1:{arguments.port}",
        "HELPDESK_IMAGE": APP_IMAGE,
    }
    base = f"http://127.0.0.1:{arguments.port}"
    try:
        standins.ensure_dockerd()
        check_override_tags()
        images = standins.ensure_services()
        build_log = Path("/tmp/helpdesk-image-build.log")
        say(f"building {APP_IMAGE} on {standins.PYTHON_IMAGE} (cached layers reused; log {build_log}) ...")
        seconds = standins.build(APP_IMAGE, REPO, build_args={"PYTHON_IMAGE": standins.PYTHON_IMAGE}, log=build_log)
        facts["app image"] = f"{APP_IMAGE}, {standins.image_size(APP_IMAGE) / 1e6:.0f} MB, build {seconds:.0f} s"
        facts["stand-ins"] = ", ".join(f"{tag} {standins.image_size(tag) / 1e6:.0f} MB" for tag in images.values())
        flavour = compose_flavour(arguments.compose)
        compose = Compose(flavour, scratch, env)
        version = standins.run([*compose.base[:1], *(["compose"] if flavour == "v2" else []), "version"]).stdout
        facts["compose"] = f"{flavour}: {version.splitlines()[0].strip()}"
        facts["docker"] = standins.docker_version()
        compose("down", "--volumes", "--remove-orphans", check=False)
        say(f"compose up ({flavour}, project {PROJECT}, proxy on {base}) ...")
        started = time.monotonic()
        up = compose("up", "--detach", "--no-build", timeout=arguments.timeout)
        say(up.stderr.strip()[-1500:])
        found = wait_healthy(arguments.timeout)
        facts["up to healthy"] = f"{time.monotonic() - started:.0f} s"
        web = [box for box in found if box["service"] == "web"]
        report.check(len(web) == 2, "web runs two replicas (deploy.replicas)", ", ".join(box["name"] for box in web))
        for box in found:
            state = f"exited {box['exit']}" if box["status"] == "exited" else f"{box['status']} {box['health']}".strip()
            report.check(True, f"container {box['name']}", state)
        smoke(report, compose, base, metrics_token)
        time.sleep(5)
        stats = memory(containers())
        scan_logs(report, compose)
    except Failure as failure:
        report.check(False, "compose check", str(failure))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
        report.check(False, "compose check", f"{type(error).__name__}: {error}")
    finally:
        if compose is not None:
            if not LOGS.exists() or LOGS.stat().st_mtime < time.time() - 600:
                LOGS.write_text(compose("logs", "--no-color", "--timestamps", check=False).stdout)
            if not arguments.keep:
                down = compose("down", "--volumes", "--remove-orphans", check=False, timeout=300)
                facts["down -v"] = "done" if down.returncode == 0 else f"failed: {down.stderr[-300:]}"
        shutil.rmtree(scratch, ignore_errors=True)

    say("")
    say("=" * 100)
    say("compose check: docker-compose.yml + deploy/local/compose.standins.yml (LOCAL TEST STAND-INS)")
    for ok, name, detail in report.lines:
        say(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
    for name, value in facts.items():
        say(f"      {name}: {value}")
    if stats:
        say("      memory per container (docker stats --no-stream, after the smoke test):")
        for line in stats:
            name, usage, cpu = line.split("\t")
            say(f"        {name:<36} {usage:<24} CPU {cpu}")
    failed = report.failed or not report.lines
    say(f"RESULT: {'FAIL' if failed else 'PASS'} ({len(report.lines)} checks, {report.failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
