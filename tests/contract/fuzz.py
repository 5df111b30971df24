"""The OpenAPI document is the truth (issue 15, point 4): `make fuzz`, a step of .ci/run.

Starts the real ASGI app (uvicorn, production settings, SQLite) on a free loopback port over a
fresh database migrated and seeded with the demo data, once per role, and:

1. runs schemathesis over the whole document served at /api/schema/, signed in as each role
   (anonymous, employee, agent, lead, admin), with the checks below: any server error, any status,
   content type, header or body the document does not declare, is a failure;
2. generates a Python client from the same document with openapi-python-client and drives sign-in,
   ticket create, comment and KB search through it (tests/contract/client_driver.py).

Each role gets its own copy of the seeded database, so what one role's run writes or deletes never
changes what the next one meets. Rate limits are raised for the run (their variables). Exit status
non-zero on any failure. Needs nothing but loopback; about 5 minutes on 2 cores.

    .venv/bin/python tests/contract/fuzz.py [--max-examples 8] [--roles employee,admin] [--only REGEX]
                                            [--no-client] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout (manage.py)
BIN = Path(sys.executable).parent
# Who signs in for each role: the demo people of accounts/demo.py (password accounts.demo.DEMO_PASSWORD).
ROLES = {
    "anonymous": None,
    "employee": "employee@example.com",
    "agent": "agent.network@example.com",
    "lead": "lead.network@example.com",
    "admin": "admin@example.com",
}
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
HIGH_RATE = "100000/m"


def rate_variables() -> list[str]:
    """Every rate-limit variable the settings read (env.rate("NAME", ...)), so a new limit is raised too."""
    settings = (ROOT / "helpdesk" / "settings" / "main.py").read_text()
    return sorted(set(re.findall(r'env\.rate\(\s*"([A-Z0-9_]+)"', settings)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VAR_DIR", "HELPDESK_TEST_VAR_DIR"}
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        JWT_ACCESS_MINUTES="60",  # one token per role outlives its run
        # The demo people sign in with the password alone (no authenticator is enrolled in the demo data);
        # the fuzzer still reaches every second-factor endpoint, with challenges and codes it cannot forge.
        STAFF_REQUIRE_2FA="false",
        # Email intake secured, as deployed: the inbound webhooks verify every post (the fuzzer has no
        # credentials, so it meets their refusals, never the "not configured" 503).
        ANYMAIL_WEBHOOK_SECRET="intake:" + secrets.token_urlsafe(24),
        EMAIL_INTAKE_ADDRESS="support@example.com",
        EMAIL_INTAKE_DOMAINS="example.com",
    )
    env.update({name: HIGH_RATE for name in rate_variables()})
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def http_json(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@contextmanager
def server(var_dir: Path, env: dict[str, str], log_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "helpdesk.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                sys.exit(f"The server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"The server did not answer /healthz in 120 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def demo_password() -> str:
    """The demo people's published password, read from its one home (importing it needs Django set up)."""
    found = re.search(r'^DEMO_PASSWORD = "([^"]+)"', (ROOT / "accounts" / "demo.py").read_text(), re.M)
    if not found:
        sys.exit("accounts/demo.py no longer defines DEMO_PASSWORD as a plain string: update .ci/fuzz.py.")
    return found.group(1)


def sign_in(url: str, email: str) -> str:
    status, body = http_json("POST", url + "/api/v1/auth/login/", {"email": email, "password": demo_password()})
    if status != 200 or "access" not in body:
        # A challenge ({"mfa_required": true, ...}) means an authenticator was enrolled in the demo data.
        sys.exit(f"Signing in as {email} answered {status}: {body}")
    return body["access"]


# A path parameter whose collection is not the path before it: the list that names real objects.
ID_LISTS = {
    "ticket_id": "/api/v1/tickets/",
    "conversation_id": "/api/v1/ai/conversations/",
    "suggestion_id": "/api/v1/ai/suggestions/",
    "gap_id": "/api/v1/ai/kb-gaps/",
}


def real_ids_config(url: str, token: str | None, path: Path) -> int:
    """Write a schemathesis config that draws each object's id, most of the time, from the ids this
    role can list (the rest stay random, for the 404s), so detail operations reach their logic.
    Returns how many operations got ids."""
    _, schema = http_json("GET", url + "/api/schema/?format=json")
    lists: dict[str, list[str]] = {}
    bindings: list[tuple[str, str, str]] = []
    for template in schema["paths"]:
        found = re.search(r"\{(\w+)\}", template)
        if not found:
            continue
        param = found.group(1)
        source = ID_LISTS.get(param, template[: found.start()])
        if "get" not in schema["paths"].get(source, {}):
            continue
        if source not in lists:
            status, body = http_json("GET", url + source + "?page_size=50", token=token)
            results = body.get("results", body) if status == 200 else []
            lists[source] = [str(item["id"]) for item in results if isinstance(item, dict) and "id" in item]
        if lists[source]:
            bindings.append((template, param, source))
    names = {source: f"ids{index}" for index, source in enumerate(lists)}
    lines = []
    for source, ids in lists.items():
        if ids:
            lines += [f"[dictionaries.{names[source]}]", f"values = {json.dumps(ids)}", ""]
    for template, param, source in bindings:
        lines += [
            "[[operations]]",
            f"include-path = {json.dumps(template)}",
            f'parameters = {{ "path.{param}" = {{ dictionary = "{names[source]}", probability = 0.8 }} }}',
            "",
        ]
    path.write_text("\n".join(lines))
    return len(bindings)


def fuzz_role(role: str, url: str, token: str | None, args, report_dir: Path) -> dict:
    config = report_dir / f"{role}.toml"
    with_ids = real_ids_config(url, token, config)
    command = [
        str(BIN / "st"),
        "--config-file",
        str(config),
        "run",
        url + "/api/schema/",
        "--url",
        url,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(args.max_examples),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--phases",
        args.phases,
        "--no-shrink",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        str(report_dir / f"{role}.xml"),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    if args.only:
        command += ["--include-path-regex", args.only]
    started = time.monotonic()
    # From the scratch folder: schemathesis keeps a cache of crashes (.schemathesis/) where it runs.
    done = subprocess.run(command, cwd=report_dir, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    (report_dir / f"{role}.txt").write_text(output)
    operations = re.search(r"API Operations:\s+Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    cases = re.search(r"Test cases:\s+(\d+) generated, (\d+) passed(?:, (\d+) failed)?", output, re.S)
    found = re.search(r"(\d+) generated, (\d+) found (\d+) unique failures", output)
    return {
        "role": role,
        "with_ids": with_ids,
        "exit": done.returncode,
        "operations": int(operations.group(3)) if operations else None,
        "cases": int(cases.group(1)) if cases else (int(found.group(1)) if found else None),
        "failures": int(found.group(3)) if found else 0,
        "seconds": round(seconds),
        "output": output,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated, of: " + ", ".join(ROLES))
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("FUZZ_MAX_EXAMPLES", "8")))
    # One worker: with threads, hypothesis' ast.parse trips CPython 3.11.7's "AST constructor
    # recursion depth mismatch" (a SystemError in the fuzzer, not in the API); the single uvicorn
    # process is the bottleneck anyway.
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=2, help="roles fuzzed at once (each its own server)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "15")))
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--only", help="fuzz only the paths matching this regex, e.g. '^/anymail/'")
    parser.add_argument("--no-client", action="store_true", help="skip the generated-client check")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (databases, logs, reports)")
    args = parser.parse_args()
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    unknown = set(roles) - set(ROLES)
    if unknown:
        parser.error(f"unknown roles: {', '.join(sorted(unknown))}")

    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="helpdesk-fuzz-"))
    reports = scratch / "reports"
    reports.mkdir()
    failed = False
    try:
        template = scratch / "seeded"
        template.mkdir()
        env = base_env(template)
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "seed_demo", "--allow-production", "-v0")
        print(f"Seeded a fresh SQLite database in {time.monotonic() - started:.0f} s.", flush=True)

        def run_role(role: str) -> dict:
            var_dir = scratch / role
            shutil.copytree(template, var_dir)
            role_env = {**env, "VAR_DIR": str(var_dir)}
            with server(var_dir, role_env, scratch / f"server-{role}.log") as url:
                token = sign_in(url, ROLES[role]) if ROLES[role] else None
                return fuzz_role(role, url, token, args, reports)

        results = []
        # Roles side by side, each with its own server and database: one schemathesis process and its
        # server leave a core idle much of the time. Printed in role order as they finish.
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            for role, result in zip(roles, pool.map(run_role, roles), strict=True):
                results.append(result)
                ok = result["exit"] == 0 and result["failures"] == 0
                failed |= not ok
                print(
                    f"schemathesis as {role:9} {result['operations']} operations, {result['cases']} cases, "
                    f"{result['failures']} failures, {result['seconds']} s "
                    f"({result['with_ids']} operations on real ids)"
                    f"{'' if ok else '  FAILED'}",
                    flush=True,
                )
                if not ok:
                    print(result["output"][-20000:])
                    print(f"--- server log ({role}) ---\n" + (scratch / f"server-{role}.log").read_text()[-5000:])

        if not args.no_client:
            var_dir = scratch / "client"
            shutil.copytree(template, var_dir)
            with server(var_dir, {**env, "VAR_DIR": str(var_dir)}, scratch / "server-client.log") as url:
                done = subprocess.run(
                    [sys.executable, str(Path(__file__).with_name("client_driver.py")), url, str(scratch / "client")],
                    cwd=scratch,
                    text=True,
                    timeout=600,
                )
            failed |= done.returncode != 0
            if done.returncode:
                print("--- server log (client) ---\n" + (scratch / "server-client.log").read_text()[-5000:])

        total = sum(result["cases"] or 0 for result in results)
        print(
            f"\nOpenAPI contract: {len(results)} roles, {total} schemathesis cases, "
            f"{'FAILED' if failed else '0 failures'}; {time.monotonic() - started:.0f} s in all."
        )
        return 1 if failed else 0
    finally:
        if args.keep or failed:
            print(f"Scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
