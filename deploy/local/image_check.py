"""make image-check: the image of ./Dockerfile built and run on this machine, alone, as a person
would start it (`docker run -e SECRET_KEY=... -e ALLOWED_HOSTS=... helpdesk-ai`), then checked.

1. dockerd runs (started if installed and stopped; if Docker is missing, one line says how);
2. the stand-in base images exist (LOCAL TEST STAND-INS from Debian packages: standins.py);
3. the image is built with `--build-arg PYTHON_IMAGE=local/python:3.11-slim --network host`;
4. one container starts with SECRET_KEY and ALLOWED_HOSTS only (and a published port);
5. checks: the entrypoint migrated, /healthz, /readyz, Docker's HEALTHCHECK, sign-up, sign-in, a
   ticket, a chat answer (the knowledge base is empty: still 200), the process's user is not root,
   torch is not importable, the ONNX export is in the image and the app's embedder embeds on it,
   no traceback or ERROR in the log, and the image's size against a budget;
6. a summary, one line per check, with the build time, the sizes and the container's memory;
7. the container (and its anonymous volume) is removed. Exit status 1 on any failure.

The API calls run inside the container against 127.0.0.1:8000 with `X-Forwarded-Proto: https`, as
a TLS proxy beside it would send them: with DEBUG=false the app redirects plain-HTTP API requests
to HTTPS (SECURE_SSL_REDIRECT defaults on), and uvicorn trusts the forwarded scheme only from
127.0.0.1 (its FORWARDED_ALLOW_IPS default). The probes are asked over plain HTTP from the host, as a
load balancer would (they are exempt from the redirect); so is an API path, expecting the redirect.

Usage: python deploy/local/image_check.py [--no-cache] [--keep] [--port 18000] [--budget-mb 1600]
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import standins
from standins import Failure, Report, docker, say

IMAGE = "helpdesk-ai:latest"
CONTAINER = "helpdesk-image-check"
ALLOWED_HOSTS = "localhost,127.0.0.1"
# The stand-in base is larger than python:3.11-slim (Debian's python3.11 with its standard library
# and apt's lists); the image measured 1.47 GB on it before this check existed (STACK-NOTES.md).
BUDGET_MB = 1600
BUILD_LOG = Path("/tmp/helpdesk-image-build.log")

# Run inside the container by its own python: the API as a TLS proxy beside the app would reach it.
IN_CONTAINER_CLIENT = r"""
import json, secrets, sys, urllib.error, urllib.request

def call(method, path, body=None, token=None):
    headers = {"Host": "localhost", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request("http://127.0.0.1:8000" + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = text[:300]
    return status, payload

results = {}
email = "image-check-" + secrets.token_hex(4) + "@example.com"
password = "Image-check-" + secrets.token_urlsafe(12)
results["signup"] = call("POST", "/api/v1/auth/signup/", {"email": email, "password": password, "first_name": "Ima"})
results["login"] = call("POST", "/api/v1/auth/login/", {"email": email, "password": password})
access = results["login"][1].get("access") if isinstance(results["login"][1], dict) else None
results["me"] = call("GET", "/api/v1/auth/me/", token=access)
results["ticket"] = call(
    "POST",
    "/api/v1/tickets/",
    {"title": "VPN drops every hour", "description": "My VPN disconnects every hour since Monday."},
    token=access,
)
results["tickets"] = call("GET", "/api/v1/tickets/", token=access)
results["chat"] = call("POST", "/api/v1/ai/chat/", {"message": "How do I reset my VPN password?"}, token=access)
print(json.dumps(results))
"""

# Inside the container: what the import system would find, and the model files.
IN_CONTAINER_FACTS = r"""
import importlib.util, json, os, pathlib, sys, time
import django
django.setup()
from ai_assist import embeddings
started = time.monotonic()
vector = embeddings.embed_one("My VPN disconnects every hour")
model = pathlib.Path(os.environ.get("AI_ONNX_MODEL_DIR", "/app/model/onnx"))
print(json.dumps({
    "embedder": type(embeddings.embedder()).__name__,
    "embedding": [len(vector), round(float((vector**2).sum()) ** 0.5, 4), round(time.monotonic() - started, 2)],
    "torch_loaded": "torch" in sys.modules,
    "found": [m for m in ("torch", "sentence_transformers", "transformers") if importlib.util.find_spec(m)],
    "onnxruntime": bool(importlib.util.find_spec("onnxruntime")),
    "model_files": sorted(p.name for p in model.iterdir()) if model.is_dir() else [],
    "model_bytes": sum(p.stat().st_size for p in model.rglob("*") if p.is_file()) if model.is_dir() else 0,
}))
"""


def host_get(port: int, path: str) -> tuple[int, str, Message]:
    """Plain HTTP from the host, not following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "localhost"})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), error.headers


def wait_for(port: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if host_get(port, "/healthz")[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        state = docker("inspect", "--format", "{{.State.Status}}", CONTAINER, check=False).stdout.strip()
        if state in ("exited", "dead"):
            raise Failure(f"the container stopped ({state}):\n{logs()[-3000:]}")
        time.sleep(1)
    raise Failure(f"/healthz did not answer 200 within {seconds:.0f} s:\n{logs()[-3000:]}")


def logs() -> str:
    result = docker("logs", CONTAINER, check=False)
    return (result.stdout or "") + (result.stderr or "")


def in_container(code: str, timeout: float = 600) -> dict:
    result = subprocess.run(
        ["docker", "exec", "-i", CONTAINER, "python", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise Failure(f"a script in the container failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory() -> str:
    line = docker("stats", "--no-stream", "--format", "{{.MemUsage}} (CPU {{.CPUPerc}}, PIDs {{.PIDs}})", CONTAINER)
    return line.stdout.strip()


def short(payload: object, length: int = 160) -> str:
    text = json.dumps(payload) if not isinstance(payload, str) else payload
    return text if len(text) <= length else text[: length - 3] + "..."


def run_checks(report: Report, port: int, budget_mb: int, build_seconds: float | None) -> dict[str, str]:
    facts: dict[str, str] = {}
    started = time.monotonic()
    secret_key = secrets.token_urlsafe(50)
    docker("rm", "--force", "--volumes", CONTAINER, check=False)
    docker(
        "run",
        "--detach",
        "--name",
        CONTAINER,
        "--env",
        f"SECRET_KEY={secret_key}",
        "--env",
        f"ALLOWED_HOSTS={ALLOWED_HOSTS}",
        "--publish",
        f"127.0.0.1:{port}:8000",
        IMAGE,
    )
    say(f"container {CONTAINER} started: SECRET_KEY and ALLOWED_HOSTS={ALLOWED_HOSTS} only, port {port} ...")
    seconds = wait_for(port, 300)
    facts["first /healthz 200 after"] = f"{seconds:.1f} s (migrations included)"
    log_text = logs()
    report.check(
        "manage.py migrate --noinput" in log_text and "Applying" in log_text,
        "entrypoint migrated on start (MIGRATE_ON_START default)",
        f"{log_text.count('Applying ')} migrations applied",
    )
    pending = docker("exec", CONTAINER, "python", "manage.py", "migrate", "--check", check=False)
    report.check(pending.returncode == 0, "no migration pending (manage.py migrate --check)")

    status, body, _ = host_get(port, "/healthz")
    report.check(status == 200, "/healthz (plain HTTP from the host)", f"{status} {short(body.strip(), 80)}")
    status, body, _ = host_get(port, "/readyz")
    report.check(status == 200, "/readyz (plain HTTP from the host)", f"{status} {short(body.strip(), 200)}")
    status, _, headers = host_get(port, "/api/v1/auth/me/")
    location = headers.get("Location") or ""
    report.check(
        status == 301 and location.startswith("https://"),
        "plain-HTTP API request redirected to HTTPS (DEBUG=false default)",
        f"{status} -> {location}",
    )

    api = in_container(IN_CONTAINER_CLIENT)
    expected = {"signup": 201, "login": 200, "me": 200, "ticket": 201, "tickets": 200, "chat": 200}
    labels = {
        "signup": "sign-up POST /api/v1/auth/signup/",
        "login": "sign-in POST /api/v1/auth/login/",
        "me": "GET /api/v1/auth/me/",
        "ticket": "ticket POST /api/v1/tickets/",
        "tickets": "ticket list GET /api/v1/tickets/",
        "chat": "chat POST /api/v1/ai/chat/ (empty knowledge base)",
    }
    for key, want in expected.items():
        status, payload = api[key]
        detail = f"{status}"
        if key == "signup" and isinstance(payload, dict):
            detail += f" role={payload.get('role')}"
        elif key == "ticket" and isinstance(payload, dict):
            detail += f" id={payload.get('id')} status={payload.get('status')} department={payload.get('department')}"
        elif key == "tickets" and isinstance(payload, dict):
            detail += f" count={payload.get('count', len(payload.get('results', [])))}"
        elif key == "chat" and isinstance(payload, dict):
            detail += f" answered={payload.get('answered')} answer={short(payload.get('answer', ''), 90)}"
        else:
            detail += "" if status == want else f" {short(payload)}"
        report.check(status == want, labels[key], detail if status == want else f"{detail} {short(payload)}")

    status_line = docker("exec", CONTAINER, "sh", "-c", "grep -E '^(Uid|Gid):' /proc/1/status; cat /proc/1/cmdline")
    uid_fields = status_line.stdout.split()
    uids = uid_fields[1:5] if len(uid_fields) > 5 else []
    command = status_line.stdout.split("\n")[-1].replace("\x00", " ").strip()
    report.check(
        bool(uids) and all(uid != "0" for uid in uids),
        "the server process is not root",
        f"PID 1 uid {'/'.join(uids)} ({command[:60]})",
    )
    exec_user = docker("exec", CONTAINER, "id").stdout.strip()
    report.check("uid=0(" not in exec_user, "the image's user is not root", exec_user)

    found = in_container(IN_CONTAINER_FACTS)
    report.check(
        not found["found"], "torch/sentence-transformers/transformers not importable", f"found {found['found']}"
    )
    report.check(
        found["onnxruntime"] and "model.onnx" in found["model_files"],
        "ONNX export in the image (/app/model/onnx)",
        f"{found['model_bytes'] / 1e6:.0f} MB: {', '.join(found['model_files'])}",
    )
    dim, norm, took = found["embedding"]
    report.check(
        dim == 384 and abs(norm - 1) < 1e-3 and not found["torch_loaded"],
        "the embedder embeds on the ONNX export (Django set up as the app is)",
        f"{found['embedder']}: {dim} dimensions, norm {norm}, {took} s with the load; torch: {found['torch_loaded']}",
    )

    health = ""
    for _ in range(90):
        health = docker("inspect", "--format", "{{.State.Health.Status}}", CONTAINER).stdout.strip()
        if health != "starting":
            break
        time.sleep(1)
    report.check(health == "healthy", "Docker HEALTHCHECK", health)

    log_text = logs()
    tracebacks = log_text.count("Traceback")
    first = log_text[log_text.find("Traceback") :][:600] if tracebacks else ""
    report.check(
        tracebacks == 0, "no traceback in the container's log", f"{tracebacks} found {first!r}" if first else ""
    )
    errors = [line for line in log_text.splitlines() if '"level": "ERROR"' in line or " ERROR " in line]
    report.check(not errors, "no ERROR line in the container's log", short(errors[0], 300) if errors else "")

    size = standins.image_size(IMAGE)
    base = standins.image_size(standins.PYTHON_IMAGE)
    report.check(
        size <= budget_mb * 1_000_000,
        f"image size within {budget_mb / 1000:.1f} GB (on the stand-in base)",
        f"{size / 1e6:.0f} MB ({size / 2**30:.2f} GiB); base {base / 1e6:.0f} MB, ours {(size - base) / 1e6:.0f} MB",
    )
    facts["container memory (docker stats, after the checks)"] = memory()
    facts["checks took"] = f"{time.monotonic() - started:.0f} s"
    if build_seconds is not None:
        facts["image build"] = f"{build_seconds:.0f} s"
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-cache", action="store_true", help="build the image without Docker's layer cache")
    parser.add_argument("--keep", action="store_true", help="leave the container running afterwards")
    parser.add_argument("--port", type=int, default=18000, help="host port for the container (127.0.0.1)")
    parser.add_argument("--budget-mb", type=int, default=BUDGET_MB, help="image size budget, MB (10^6 bytes)")
    arguments = parser.parse_args()

    report = Report()
    facts: dict[str, str] = {}
    try:
        standins.ensure_dockerd()
        python_image = standins.ensure_python()
        say(f"building {IMAGE} (PYTHON_IMAGE={python_image}, legacy builder, log {BUILD_LOG}) ...")
        build_seconds = standins.build(
            IMAGE,
            standins.REPO,
            build_args={"PYTHON_IMAGE": python_image},
            log=BUILD_LOG,
            no_cache=arguments.no_cache,
        )
        cached = BUILD_LOG.read_text().count("Using cache")
        say(f"built {IMAGE} in {build_seconds:.0f} s ({cached} steps from the cache)")
        facts = run_checks(report, arguments.port, arguments.budget_mb, build_seconds)
        facts["docker"] = standins.docker_version() + " (legacy builder: DOCKER_BUILDKIT=0)"
        facts["image build"] += f" ({cached} steps from Docker's cache)"
    except Failure as failure:
        report.check(False, "image check", str(failure))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
        report.check(False, "image check", f"{type(error).__name__}: {error}")
    finally:
        if not arguments.keep:
            docker("rm", "--force", "--volumes", CONTAINER, check=False)

    say("")
    say("=" * 100)
    say(f"image check: {IMAGE} on the LOCAL TEST STAND-IN base {standins.PYTHON_IMAGE} (not python:3.11-slim)")
    for ok, name, detail in report.lines:
        say(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}")
    for name, value in facts.items():
        say(f"      {name}: {value}")
    say(f"container {CONTAINER}: {'kept running' if arguments.keep else 'removed'}")
    failed = report.failed or not report.lines
    say(f"RESULT: {'FAIL' if failed else 'PASS'} ({len(report.lines)} checks, {report.failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
