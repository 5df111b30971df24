"""Requests per second of the ticket list beside a plain DRF ModelViewSet list, over real HTTP.

    make bench-tickets
    .venv/bin/python bench/ticket_list.py [--db sqlite|postgres|both] [--sizes 1000,10000,100000]
        [--server gunicorn,gunicorn-sync,uvicorn,daphne] [--workers 2] [--concurrency 8]
        [--duration 6] [--rounds 3] [--endpoints list,deep,detail,me] [--json]

For each database and size N: a fresh database, migrated with bench.settings (production
settings plus the bench-only `bench.plain` app), with N tickets in the agent's department and N
rows of the plain table (bulk_create). Then one server of each kind asked for per size, all at
once, with production settings (DEBUG off, a random SECRET_KEY, no HTTPS redirect on loopback)
and `--workers` processes; load each endpoint from one lean client (asyncio +
uvloop + the httptools parser, keep-alive HTTP/1.1, `--concurrency` connections, each sending its
next request when the previous answer is in) and report req/s, p50, p95, errors (any answer but
200) and CPU per request. Sizes, servers and endpoints take turns in rounds, so a burst of noise
on the shared machine hits all of them alike:

    plain list   GET /api/bench/plain/?page_size=25            (the baseline)
    list         GET /api/v1/tickets/?page_size=25             (first page, as an agent)
    deep         GET /api/v1/tickets/?page_size=25&page=LAST   (the last page)
    detail       GET /api/v1/tickets/{id}/                     (200 ids in turn)

Verdicts: list req/s >= 0.5 x plain req/s at 10,000; list req/s at 1,000 and at 100,000 within
1.2x (the ratio of req/s). Numbers compare only within one run: the machine is shared.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PAGE_SIZE = 25
DETAIL_IDS = 200
ORM_SEED_MAX = 20_000  # on PostgreSQL, larger sizes copy these rows inside the server (_multiply_postgres)
PG_DATABASE = "bench_tickets"  # one database per size: bench_tickets_1000, ...
SERVERS = ("gunicorn", "gunicorn-sync", "uvicorn", "daphne")
# As decision 0009 runs them: WSGI threads live long, so they keep their PostgreSQL connection;
# under ASGI every request has a thread of its own, so connections stay per request (the default).
SERVER_ENV = {"gunicorn": {"DATABASE_CONN_MAX_AGE": "60"}, "gunicorn-sync": {"DATABASE_CONN_MAX_AGE": "60"}}
DEFAULT_SERVER = "gunicorn"  # gthread workers: the production choice, docs/decisions/0009-serving-http.md
ENDPOINTS = ("list", "deep", "cursor", "cursor_deep", "detail", "create", "comment", "me")
LABELS = {
    "plain": "plain list, page 1",
    "list": "ticket list, page 1",
    "deep": "ticket list, deepest page number",
    "cursor": "ticket list, cursor page 1",
    "cursor_deep": "ticket list, cursor last page",
    "detail": "ticket detail",
    "create": "ticket create",
    "comment": "comment add",
    "me": "auth/me (no list)",
}
TICKS = os.sysconf("SC_CLK_TCK")


# --- Seeding (runs in a subprocess with DJANGO_SETTINGS_MODULE=bench.settings) ----------------

TOPICS = [
    ("VPN drops every few minutes", "network", ["vpn", "remote"]),
    ("Laptop does not boot after the update", "hardware", ["laptop"]),
    ("Cannot print to the third floor printer", "printing", ["printers"]),
    ("Outlook keeps asking for my password", "email", ["email", "mfa"]),
    ("Need access to the finance share", "access", ["permissions"]),
    ("Second monitor flickers", "hardware", ["monitor"]),
    ("Teams calls have no audio", "collaboration", ["audio", "teams"]),
    ("New starter needs an account", "onboarding", ["accounts"]),
    ("Wi-Fi in meeting room B is very slow", "network", ["wifi"]),
    ("Expense tool shows error 500", "applications", ["erp"]),
    ("Phone lost, please wipe it", "security", ["mobile", "security"]),
    ("Suspicious email with an attachment", "security", ["phishing"]),
]
SENTENCES = [
    "It started this morning right after I signed in, and restarting did not help.",
    "Two colleagues on the same floor see the same thing since yesterday afternoon.",
    "I already tried clearing the cache and signing out and back in, without luck.",
    "The error message says the service is temporarily unavailable and to try later.",
    "This blocks the monthly report I have to send to the auditors by Friday.",
    "It works from home over the VPN but not from the office network.",
    "I can share my screen with whoever picks this up, any time after ten.",
    "The machine is the standard laptop we got last spring, asset tag on the bottom.",
    "Nothing changed on my side as far as I know, apart from the update on Monday.",
    "Please call me on my desk phone, extension 4417, if you need more details.",
]
REPLIES = [
    "Thanks for the report, I am looking into it now.",
    "Could you send a screenshot of the error and the time it happened?",
    "We pushed a fix to the gateway, please try again and tell us if it still happens.",
    "Still happening here, screenshot attached as requested.",
    "Works now, thank you for the quick help!",
]
NOTES = [
    "Same root cause as last week's gateway incident; linking to the problem record.",
    "Escalate to the network team if it comes back after the certificate renewal.",
]


def _ticket_fields(rng: random.Random, now: datetime, requester_id: str, agent_id: str, department_id: str) -> dict:
    """One ticket as the services would have left it: derived text, counts and SLA fields filled."""
    from tickets import sla
    from tickets.models import Priority

    title, category, tags = rng.choice(TOPICS)
    title = f"{title} (ref {rng.randint(1000, 99999)})"
    description = " ".join(rng.sample(SENTENCES, rng.randint(3, 6)))
    created = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
    comments, public_bodies, internal_bodies, first_response = [], [], [], None
    for index in range(rng.choice((0, 1, 2, 3, 4))):
        internal = index > 0 and rng.random() < 0.25
        author = agent_id if internal or index % 2 == 0 else requester_id
        body = rng.choice(NOTES if internal else REPLIES)
        at = created + timedelta(hours=index + 1)
        comments.append(
            {
                "id": f"{rng.getrandbits(96):024x}",
                "author": author,
                "body": body,
                "internal": internal,
                "created_at": at.isoformat(),
            }
        )
        (internal_bodies if internal else public_bodies).append(body)
        if author == agent_id and not internal and first_response is None:
            first_response = at
    status = rng.choice(("new", "open", "open", "pending", "resolved", "closed"))
    priority = rng.choice(("low", "medium", "medium", "high", "urgent"))
    finished = created + timedelta(hours=len(comments) + 2)
    return {
        "title": title,
        "description": description,
        "status": status,
        "priority": priority,
        "priority_rank": Priority.rank(priority),
        "category": category,
        "tags": tags,
        "requester_id": requester_id,
        "department_id": department_id,
        "assignee_id": agent_id if status != "new" and rng.random() < 0.7 else None,
        "comments": comments,
        "public_comment_count": len(public_bodies),
        "internal_comment_count": len(internal_bodies),
        "public_text": "\n".join([title, description, *public_bodies]),
        "internal_text": "\n".join(internal_bodies),
        **sla.due_times(priority=priority, created_at=created),
        "first_responded_at": first_response,
        "resolved_at": finished if status in ("resolved", "closed") else None,
        "closed_at": finished if status == "closed" else None,
        "created_at": created,
        "updated_at": finished if status in ("resolved", "closed") else created + timedelta(hours=len(comments)),
    }


def seed(total: int) -> dict:
    """Grow the database to `total` tickets and `total` plain rows; return what the loader needs."""
    import django

    django.setup()
    from django.db import connection, transaction
    from tqdm import tqdm

    from accounts.models import Department, Role, User
    from accounts.tokens import issue_pair
    from bench.plain.models import PlainRow
    from tickets.models import Ticket

    # Rows of any age: updated_at is set here, not stamped "now" by bulk_create (auto_now).
    for name in ("created_at", "updated_at"):
        model_field = Ticket._meta.get_field(name)
        model_field.auto_now = model_field.auto_now_add = False

    department, _ = Department.objects.get_or_create(name="Bench IT", defaults={"description": "Bench department"})
    agent = User.objects.filter(email="agent@bench.example").first() or User.objects.create_user(
        "agent@bench.example", None, role=Role.AGENT, department=department, first_name="Ada", last_name="Agent"
    )
    employees = list(User.objects.filter(role=Role.EMPLOYEE, email__endswith="@bench.example").order_by("email"))
    if not employees:
        User.objects.bulk_create(
            [User(email=f"employee{n:03d}@bench.example", first_name=f"Emp{n}", role=Role.EMPLOYEE) for n in range(50)]
        )
        employees = list(User.objects.filter(role=Role.EMPLOYEE, email__endswith="@bench.example").order_by("email"))

    rng = random.Random(total)
    now = datetime.now(tz=UTC)
    batch = 1000
    started = time.perf_counter()
    timings: dict[str, float | int] = {}
    orm_total = total
    if connection.vendor == "postgresql" and total > ORM_SEED_MAX:
        orm_total = ORM_SEED_MAX  # the rest is copied from these rows by the database (below)
    missing = orm_total - Ticket.objects.count()
    timings["bulk_create_rows"] = max(missing, 0)
    with tqdm(total=max(missing, 0), desc=f"tickets to {total:,}", unit="row", file=sys.stderr) as bar:
        while missing > 0:
            count = min(batch, missing)
            rows = [
                Ticket(**_ticket_fields(rng, now, rng.choice(employees).id, agent.id, department.id))
                for _ in range(count)
            ]
            with transaction.atomic():
                Ticket.objects.bulk_create(rows, batch_size=batch)
            missing -= count
            bar.update(count)
    timings["bulk_create_seconds"] = round(time.perf_counter() - started, 1)
    if orm_total < total:
        copied = time.perf_counter()
        timings["server_copy_rows"] = _multiply_postgres(Ticket, total)
        timings["server_copy_seconds"] = round(time.perf_counter() - copied, 1)
    plain_started = time.perf_counter()
    missing = orm_total - PlainRow.objects.count()
    with tqdm(total=max(missing, 0), desc=f"plain rows to {total:,}", unit="row", file=sys.stderr) as bar:
        while missing > 0:
            count = min(batch * 5, missing)
            rows = []
            for _ in range(count):
                created = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
                rows.append(
                    PlainRow(
                        title=f"{rng.choice(TOPICS)[0]} (ref {rng.randint(1000, 99999)})",
                        status=rng.choice(("new", "open", "pending", "resolved", "closed")),
                        priority=rng.choice(("low", "medium", "high", "urgent")),
                        requester_email=rng.choice(employees).email,
                        created_at=created,
                        updated_at=created,
                    )
                )
            with transaction.atomic():
                PlainRow.objects.bulk_create(rows, batch_size=batch)
            missing -= count
            bar.update(count)
    if orm_total < total:
        _multiply_postgres(PlainRow, total)
    timings["plain_rows_seconds"] = round(time.perf_counter() - plain_started, 1)
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load in production: statistics and visibility map.
        vacuumed = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - vacuumed, 1)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    ids = list(Ticket.objects.filter(department=department).values_list("id", flat=True).order_by("?")[:DETAIL_IDS])
    access = issue_pair(agent)["access"]
    # The first detail (the one whose queries are counted) has comments: their authors cost a query.
    commented = Ticket.objects.filter(pk__in=ids, public_comment_count__gt=0).values_list("pk", flat=True).first()
    if commented:
        ids = [commented, *(pk for pk in ids if pk != commented)]
    # A cursor to the list's last page (what following `next` to the end reaches): the row before it.
    from helpdesk.api.pagination import KeysetPagination

    last_page = -(-total // PAGE_SIZE)
    before = Ticket.objects.order_by("-created_at", "-id")[(last_page - 1) * PAGE_SIZE - 1]
    deep_cursor = KeysetPagination().cursor_after(before, order="-")
    paths = endpoint_paths_for(total, ids, deep_cursor, str(department.pk))
    return {
        "tickets": Ticket.objects.count(),
        "plain_rows": PlainRow.objects.count(),
        "access": access,
        "detail_ids": ids,
        "deep_cursor": deep_cursor,
        "counted_up_to": KeysetPagination.max_offset,  # page-number counts stop there (decision 0021)
        "department_id": str(department.pk),
        "seed": timings,
        "queries": queries_per_request(paths, access),
        "paths": paths,
    }


def endpoint_paths_for(size: int, ids: list[str], deep_cursor: str, department_id: str) -> dict[str, list]:
    """Every endpoint's requests: (method, path, JSON body or None)."""
    from helpdesk.api.pagination import KeysetPagination

    deepest = min(-(-size // PAGE_SIZE), KeysetPagination.max_offset // PAGE_SIZE)  # page numbers stop there
    ticket = {"title": "Bench: the printer on floor 3 jams", "description": "Paper jam every morning since Monday."}
    return {
        "plain": [("GET", f"/api/bench/plain/?page_size={PAGE_SIZE}", None)],
        "list": [("GET", f"/api/v1/tickets/?page_size={PAGE_SIZE}", None)],
        "deep": [("GET", f"/api/v1/tickets/?page_size={PAGE_SIZE}&page={deepest}", None)],
        "cursor": [("GET", f"/api/v1/tickets/?page_size={PAGE_SIZE}&cursor=", None)],
        "cursor_deep": [("GET", f"/api/v1/tickets/?page_size={PAGE_SIZE}&cursor={quote(deep_cursor)}", None)],
        "detail": [("GET", f"/api/v1/tickets/{pk}/", None) for pk in ids],
        "create": [("POST", "/api/v1/tickets/", {**ticket, "department": department_id})],
        "comment": [("POST", f"/api/v1/tickets/{pk}/comments/", {"body": "Bench: any news?"}) for pk in ids[:50]],
        "me": [("GET", "/api/v1/auth/me/", None)],
    }


def queries_per_request(paths: dict[str, list], token: str) -> dict[str, int]:
    """Database queries of one request per endpoint (the second of two: caches warm, as in a server)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    counts = {}
    for name, requests in paths.items():
        method, path, body = requests[0]
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                if method == "GET":
                    response = client.get(path)
                else:
                    response = client.post(path, data=json.dumps(body), content_type="application/json")
        counts[name] = len(captured) if response.status_code < 300 else -response.status_code
    return counts


def _multiply_postgres(model, total: int) -> int:
    """Grow `model`'s table to `total` rows on PostgreSQL by copying the rows bulk_create made,
    inside the server (INSERT ... SELECT over generate_series: new ids, creation times spread over
    two years, everything else as in the copied row). Bench-only SQL: about 20x faster than
    bulk_create for the 1M-row run; the application's queries never see the difference."""
    from django.db import connection
    from tqdm import tqdm

    table = connection.ops.quote_name(model._meta.db_table)
    auto_id = model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField")
    columns = [field.column for field in model._meta.concrete_fields if not (auto_id and field.primary_key)]
    chosen = {
        "id": "substr(md5(t.id || ':' || g::text || ':' || {round}::text), 1, 24)",
        "created_at": "t.created_at - make_interval(secs => floor(random() * 63072000)::int)",
    }
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        have = cursor.fetchone()[0]
        base = have
        rounds = 0
        with tqdm(total=total - have, desc=f"copies to {total:,}", unit="row", file=sys.stderr) as bar:
            while have < total:
                rounds += 1
                copies = max(1, min((total - have) // base, max(1, 100_000 // base)))
                limit = min(total - have, copies * base)
                select = ", ".join(
                    chosen[column].format(round=rounds)
                    if column in chosen
                    else f"t.{connection.ops.quote_name(column)}"
                    for column in columns
                )
                names = ", ".join(connection.ops.quote_name(column) for column in columns)
                pk = connection.ops.quote_name(model._meta.pk.column)
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT {select} FROM "
                    f"(SELECT * FROM {table} ORDER BY {pk} LIMIT {base}) t "
                    f"CROSS JOIN generate_series(1, {copies}) g LIMIT {limit}"
                )
                have += limit
                bar.update(limit)
    return total - base


# --- Databases and servers --------------------------------------------------------------------


def postgres_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def postgres_answers(base: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(postgres_url(base, "postgres"), connect_timeout=3):
            return True
    except Exception:
        return False


def postgres_has(base: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(postgres_url(base, "postgres"), autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def postgres_admin(base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url(base, "postgres"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_commands(server: str, workers: int, threads: int, port: int, fd: int | None) -> list[list[str]]:
    python = sys.executable
    if server == "uvicorn":
        command = [python, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
        return [[*command, "--no-access-log", "--log-level", "warning"]]
    if server.startswith("gunicorn"):
        command = [python, "-m", "gunicorn", "helpdesk.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(workers), "--log-level", "warning"]
        if server == "gunicorn":  # threads: keep-alive connections, and a thread free while another waits
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        return [command]
    if server == "daphne":
        # Daphne runs one process; N processes share one listening socket passed by descriptor.
        where = ["--fd", str(fd)] if fd is not None else ["--bind", "127.0.0.1", "--port", str(port)]
        return [[python, "-m", "daphne", *where, "-v", "0", "helpdesk.asgi:application"] for _ in range(workers)]
    raise ValueError(server)


class Server:
    """The server under test: its processes, and the CPU time they have used."""

    def __init__(self, server: str, workers: int, threads: int, env: dict[str, str]):
        self.port = free_port()
        self.listener = None
        fd = None
        if server == "daphne" and workers > 1:
            self.listener = socket.socket()
            self.listener.bind(("127.0.0.1", self.port))
            self.listener.listen(2048)
            fd = self.listener.fileno()
        self.processes = [
            subprocess.Popen(
                command, cwd=ROOT, env=env, start_new_session=True, pass_fds=(fd,) if fd is not None else ()
            )
            for command in server_commands(server, workers, threads, self.port, fd)
        ]
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                raise SystemExit("The server exited during start-up (its output is above).")
            try:
                if get(self.port, "/healthz")[0] == 200:
                    time.sleep(0.5 if len(self.processes) == 1 else 1.5)  # let the other workers start
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("The server did not answer /healthz within 60 s.")

    def pids(self) -> set[int]:
        parents, _ = processes()
        mine = {process.pid for process in self.processes}
        grew = True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in mine and pid not in mine}
            mine |= more
            grew = bool(more)
        return mine

    def rss_mb(self) -> dict:
        """Resident memory of each process serving requests (gunicorn's arbiter left out), in MB."""
        sizes = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            sizes.append(kib / 1024)
        if len(sizes) > 1 and len(self.processes) == 1:
            sizes.remove(min(sizes))  # the master / arbiter process
        return {"processes": len(sizes), "per_process_mb": round(max(sizes), 1) if sizes else None}

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes and all their descendants."""
        parents, times = processes()
        mine = {process.pid for process in self.processes}
        grew = True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in mine and pid not in mine}
            mine |= more
            grew = bool(more)
        return sum(times.get(pid, 0.0) for pid in mine)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.listener is not None:
            self.listener.close()


def processes() -> tuple[dict[int, int], dict[int, float]]:
    """Parent and CPU seconds (user + system) of every process on the machine."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / TICKS
    return parents, times


def database_cpu(name: str | None) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving database `name` (none on SQLite, which runs
    inside the server)."""
    backends = {}
    if name is None:
        return backends
    for pid, seconds in processes()[1].items():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {name} ".encode() in title:
            backends[pid] = seconds
    return backends


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings (a backend that ended in between is not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- The loader -------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    completed: int = 0  # answers of any status
    loader_cpu: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.seconds += other.seconds
        self.completed += other.completed
        self.loader_cpu += other.loader_cpu
        self.server_cpu += other.server_cpu
        self.database_cpu += other.database_cpu


class _Connection(asyncio.Protocol):
    """One keep-alive client connection: send, wait for the whole answer, send the next."""

    def __init__(self, load: _Load):
        import httptools

        self.load = load
        self.parser = httptools.HttpResponseParser(self)
        self.transport = None
        self.started = 0.0
        self.waiting = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        self.started = time.perf_counter()
        self.waiting = True
        self.transport.write(self.load.next_request())

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except Exception:
            self.load.count(0, 0.0, time.perf_counter())
            self.waiting = False
            self.transport.close()

    def on_message_complete(self) -> None:
        self.waiting = False
        finished = time.perf_counter()
        self.load.count(self.parser.get_status_code(), finished - self.started, finished)
        if finished < self.load.ends and self.parser.should_keep_alive():
            self.send()
        else:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        if self.waiting:  # closed before answering
            self.load.count(0, 0.0, time.perf_counter())
        self.load.closed()


class _Load:
    def __init__(self, port: int, requests: list[bytes], concurrency: int, seconds: float, record: bool):
        self.port, self.requests, self.concurrency = port, requests, concurrency
        self.seconds, self.record = seconds, record
        self.position = random.randrange(len(requests))
        self.tally = Tally()
        self.open = 0

    def next_request(self) -> bytes:
        self.position = (self.position + 1) % len(self.requests)
        return self.requests[self.position]

    def count(self, status: int, latency: float, finished: float) -> None:
        """Every answer counts, also those to requests sent before the window ended that arrive
        after it: the window is measured up to the last answer."""
        if not self.record:
            return
        self.tally.completed += 1
        self.last = max(self.last, finished)
        self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            self.tally.latencies.append(latency)
        else:
            self.tally.errors += 1

    def closed(self) -> None:
        self.open -= 1
        if time.perf_counter() < self.ends:
            self.loop.create_task(self.connect())  # the server closed (gunicorn sync): reconnect
        elif self.open == 0:
            self.done.set_result(None)

    async def connect(self) -> None:
        self.open += 1
        try:
            await self.loop.create_connection(lambda: _Connection(self), "127.0.0.1", self.port)
        except OSError:
            self.tally.errors += int(self.record)
            self.open -= 1
            await asyncio.sleep(0.01)
            if time.perf_counter() < self.ends:
                self.loop.create_task(self.connect())
            elif self.open == 0 and not self.done.done():
                self.done.set_result(None)

    async def run(self) -> Tally:
        self.loop = asyncio.get_running_loop()
        self.done = self.loop.create_future()
        started = self.last = time.perf_counter()
        self.ends = started + self.seconds
        for _ in range(self.concurrency):
            self.loop.create_task(self.connect())
        await self.done
        self.tally.seconds = max(self.last, self.ends) - started
        return self.tally


def load(port: int, requests: list[bytes], concurrency: int, seconds: float, record: bool = True) -> Tally:
    import uvloop

    cpu = time.process_time()
    tally = uvloop.run(_Load(port, requests, concurrency, seconds, record).run())
    tally.loader_cpu = time.process_time() - cpu
    return tally


def warm(port: int, requests: list[bytes], concurrency: int, seconds: float) -> None:
    """Untimed load until answers are steady: at least `seconds`, longer (up to 120 s) while a
    first request per worker still loads something (the embedding model on a first write)."""
    deadline = time.monotonic() + 120
    while True:
        tally = load(port, requests, concurrency, seconds)
        slow = sorted(tally.latencies)[len(tally.latencies) // 2] if tally.latencies else 1.0
        if slow < 0.5 or time.monotonic() > deadline:
            return


def request_bytes(path: str, token: str, method: str = "GET", body: dict | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    extra = f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n" if body is not None else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Authorization: Bearer {token}\r\n{extra}Connection: keep-alive\r\n\r\n"
    ).encode() + payload


def percentile_ms(samples: list[float], share: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000, 1)


def per_request(total: float, requests: int, digits: int) -> float | None:
    return round(total / requests, digits) if requests and total else None


def summary(endpoint: str, path: str, tally: Tally) -> dict:
    done = len(tally.latencies) + tally.errors
    return {
        "endpoint": endpoint,
        "label": LABELS[endpoint],
        "path": path,
        "requests": done,
        "rps": round(len(tally.latencies) / tally.seconds, 1) if tally.seconds else 0.0,
        "min_ms": round(min(tally.latencies) * 1000, 1) if tally.latencies else None,
        "p50_ms": percentile_ms(tally.latencies, 0.50),
        "p95_ms": percentile_ms(tally.latencies, 0.95),
        "errors": tally.errors,
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "server_cpu_ms_per_request": per_request(tally.server_cpu * 1000, tally.completed, 2),
        "database_cpu_ms_per_request": per_request(tally.database_cpu * 1000, tally.completed, 2),
        "loader_cpu_us_per_request": per_request(tally.loader_cpu * 1e6, tally.completed, 0),
    }


# --- One database: every size and server at once ----------------------------------------------


def endpoint_paths(port: int, token: str, size: int, seeded: dict, wanted: list[str]) -> dict[str, list]:
    """The requests of each endpoint to load (method, path, body), after checking that each GET
    answers 200 and the list shows every ticket."""
    paths = {name: [tuple(each) for each in seeded["paths"][name]] for name in ("plain", *wanted)}
    status, body = get(port, paths["plain"][0][1], token)
    if status != 200 or json.loads(body)["count"] < size:
        raise SystemExit(f"The plain list answered {status}: {body[:300]!r}")
    status, body = get(port, f"/api/v1/tickets/?page_size={PAGE_SIZE}", token)
    if status != 200:
        raise SystemExit(f"The ticket list answered {status}: {body[:300]!r}")
    page = json.loads(body)
    if page["count"] < min(size, seeded["counted_up_to"]) or len(page["results"]) != min(PAGE_SIZE, size):
        raise SystemExit(f"The ticket list shows {page['count']} of {size:,} tickets, {len(page['results'])} a page.")
    for name, each in paths.items():  # every GET answers 200 before anything is timed
        for method, path, _ in each[:3]:
            if method == "GET" and (status := get(port, path, token)[0]) != 200:
                raise SystemExit(f"GET {path} ({name}) answered {status}")
    return paths


def shown_path(path: str) -> str:
    """A path for the report: ids and cursors elided."""
    import re

    path = re.sub(r"/[0-9a-f]{24}/", "/{id}/", path)
    return re.sub(r"cursor=[^&]+", "cursor=...", path)


def measure(args, database: str, prepared: dict[int, tuple[dict[str, str], dict]]) -> list[dict]:
    """Start a server of each kind for each size at once; they and their endpoints then take
    turns in rounds, so a burst of load from elsewhere on the machine hits every size and server
    alike (the 1,000 vs 100,000 comparison included)."""
    servers: dict[tuple[int, str], Server] = {}
    requests: dict[tuple[int, str], dict[str, list[bytes]]] = {}
    shown: dict[tuple[int, str], dict[str, str]] = {}
    try:
        for size, (env, _) in prepared.items():
            for name in args.servers:
                servers[size, name] = Server(name, args.workers, args.threads, {**env, **server_env(name)})
        for (size, name), server in servers.items():
            token = prepared[size][1]["access"]
            paths = endpoint_paths(server.port, token, size, prepared[size][1], args.endpoints)
            requests[size, name] = {
                key: [request_bytes(path, token, method, body) for method, path, body in each]
                for key, each in paths.items()
            }
            shown[size, name] = {key: f"{each[0][0]} {shown_path(each[0][1])}" for key, each in paths.items()}
            for each in requests[size, name].values():
                warm(server.port, each, args.concurrency, args.warmup)
        tallies = {key: {endpoint: Tally() for endpoint in requests[key]} for key in servers}
        for _ in range(args.rounds):
            for key, server in servers.items():
                backends = f"{PG_DATABASE}_{key[0]}" if database == "postgres" else None
                for endpoint, each in requests[key].items():
                    cpu, before = server.cpu_seconds(), database_cpu(backends)
                    tally = load(server.port, each, args.concurrency, args.duration / args.rounds)
                    tally.server_cpu = server.cpu_seconds() - cpu
                    tally.database_cpu = cpu_since(before, database_cpu(backends))
                    tallies[key][endpoint].add(tally)
        memory = {key: server.rss_mb() for key, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    return [
        {
            "database": database,
            "size": size,
            "server": name,
            **summary(endpoint, shown[size, name][endpoint], tally),
            "queries": prepared[size][1]["queries"].get(endpoint),
            "seed_s": prepared[size][1]["seed"].get("total_seconds"),
            "server_rss_mb": memory[size, name]["per_process_mb"],
        }
        for (size, name), each in tallies.items()
        for endpoint, tally in each.items()
    ]


def prepare(args, database: str, size: int, secret_key: str, var_dir: str) -> tuple[dict[str, str], dict]:
    """A fresh database with `size` tickets; the environment of its servers and what seeding returned."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback; everything else stays production
        VAR_DIR=var_dir,
        DATABASE_URL="",  # set and empty, so a local .env cannot fill it in
        REDIS_URL=args.redis,
        BENCH_CACHE_PREFIX=f"bench-{database}-{size}",  # one Redis, a key space per installation
        LOG_LEVEL="WARNING",
        THROTTLE_ANON="100000/s",  # throttles still run (and cost what they cost), but never refuse
        THROTTLE_USER="100000/s",
        RATE_TICKET_CREATE="1000000/m",  # the write endpoints are measured, not their limits
        JWT_ACCESS_MINUTES="600",
    )
    if database == "postgres":
        name = f"{PG_DATABASE}_{size}"
        env["DATABASE_URL"] = postgres_url(args.postgres, name)
        if not (args.keep_db and postgres_has(args.postgres, name)):
            postgres_admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.ticket_list", "--seed-to", str(size)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    seeded = json.loads(out.strip().splitlines()[-1])
    print(f"  {database}: {seeded['tickets']:,} tickets ready in {time.perf_counter() - started:.0f} s", flush=True)
    return env, seeded


def run_database(args, database: str, secret_key: str) -> list[dict]:
    var_root = tempfile.mkdtemp(prefix=f"bench-tickets-{database}-")
    try:
        prepared = {}
        for size in args.sizes:
            var_dir = os.path.join(var_root, str(size))
            os.makedirs(var_dir)
            prepared[size] = prepare(args, database, size, secret_key, var_dir)
        rows = measure(args, database, prepared)
    finally:
        if database == "postgres" and not args.keep_db:
            postgres_admin(
                args.postgres, *(f'DROP DATABASE IF EXISTS "{PG_DATABASE}_{size}" WITH (FORCE)' for size in args.sizes)
            )
        shutil.rmtree(var_root, ignore_errors=True)
    for size in args.sizes:
        for name in args.servers:
            print_table(args, [row for row in rows if row["size"] == size and row["server"] == name])
    return rows


# --- Report -----------------------------------------------------------------------------------


def server_env(server: str) -> dict[str, str]:
    """SERVER_ENV, unless the caller's environment already says."""
    return {key: value for key, value in SERVER_ENV.get(server, {}).items() if key not in os.environ}


def describe(args, server: str) -> str:
    threads = f" (gthread, {args.threads} threads each)" if server == "gunicorn" else ""
    age = {**os.environ, **server_env(server)}.get("DATABASE_CONN_MAX_AGE", "0")
    return f"{server}, {args.workers} worker{'s' * (args.workers != 1)}{threads}, DATABASE_CONN_MAX_AGE={age}"


def print_table(args, results: list[dict]) -> None:
    first = results[0]
    print(
        f"\n{first['database']}, {first['size']:,} tickets: {describe(args, first['server'])}; "
        f"{args.concurrency} connections, {args.duration:g} s per endpoint in {args.rounds} rounds"
    )
    print(f"{'endpoint':24} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'CPU ms/req: app':>16} {'db':>6}")
    for row in results:
        print(
            f"{row['label']:24} {row['rps']:>8} {row['p50_ms'] or '-':>8} {row['p95_ms'] or '-':>8} {row['errors']:>7} "
            f"{row['server_cpu_ms_per_request'] or '':>16} {row['database_cpu_ms_per_request'] or '-':>6}"
        )
    print(flush=True)


def verdicts(rows: list[dict], sizes: list[int]) -> list[dict]:
    """The two checks of the issue, per database and server."""
    found = {(row["database"], row["server"], row["size"], row["endpoint"]): row for row in rows}
    at = 10_000 if 10_000 in sizes else sizes[len(sizes) // 2]
    small, large = min(sizes), max(sizes)
    out = []
    for database, server in dict.fromkeys((row["database"], row["server"]) for row in rows):
        plain, ticket = found.get((database, server, at, "plain")), found.get((database, server, at, "list"))
        if plain and ticket:
            ratio = ticket["rps"] / plain["rps"] if plain["rps"] else 0.0
            out.append(
                {
                    "database": database,
                    "server": server,
                    "check": f"list req/s / plain req/s at {at:,} >= 0.5",
                    "value": round(ratio, 3),
                    "passed": ratio >= 0.5,
                }
            )
        first, last = found.get((database, server, small, "list")), found.get((database, server, large, "list"))
        if first and last and small != large:
            rps, p50s = (first["rps"], last["rps"]), (first["p50_ms"] or 0.0, last["p50_ms"] or 0.0)
            ratio = max(rps) / min(rps) if min(rps) else float("inf")
            p50 = max(p50s) / min(p50s) if min(p50s) else float("inf")
            out.append(
                {
                    "database": database,
                    "server": server,
                    "check": f"list req/s at {small:,} vs {large:,} within 1.2x",
                    "value": round(ratio, 3) if ratio != float("inf") else None,
                    "p50_ratio": round(p50, 2) if p50 != float("inf") else None,
                    "passed": ratio <= 1.2,
                }
            )
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), help="default: both when PostgreSQL answers")
    parser.add_argument("--sizes", default="1000,10000,100000", help="ticket counts, comma-separated")
    parser.add_argument(
        "--server",
        default=DEFAULT_SERVER,
        help=f"one or more (comma-separated, each measured on the same data) of {', '.join(SERVERS)}",
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--duration", type=float, default=6.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="the endpoints take turns this many times")
    parser.add_argument("--warmup", type=float, default=1.5, help="untimed seconds per endpoint")
    parser.add_argument("--endpoints", default="list,deep,detail", help=f"besides plain, from {','.join(ENDPOINTS)}")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server for --db postgres")
    parser.add_argument(
        "--redis",
        default="",
        help="REDIS_URL of the servers (cache, throttles, job broker; no worker runs, so writes cost the API's "
        "share, as in production). Default: none (per-process cache, jobs in the request)",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="PostgreSQL: reuse bench_tickets_<size> when it exists (seeding only tops it up) and keep it after",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--seed-to", type=int, help=argparse.SUPPRESS)  # internal: the seeding subprocess
    args = parser.parse_args(argv)
    args.sizes = sorted({int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()})
    args.servers = list(dict.fromkeys(name.strip() for name in args.server.split(",") if name.strip()))
    if unknown := set(args.servers) - set(SERVERS):
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    args.endpoints = [name.strip() for name in args.endpoints.split(",") if name.strip() not in ("", "plain")]
    if unknown := set(args.endpoints) - set(ENDPOINTS):
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed_to is not None:
        print(json.dumps(seed(args.seed_to)))
        return 0
    result = run(argv)
    if args.json:
        print(json.dumps(result))
    return 1 if result["errors"] else 0


def run(argv: list[str] | None = None) -> dict:
    """Every database, size, server and endpoint asked for; prints the tables and verdicts and
    returns the structured result (bench/run_all.py calls this)."""
    args = parse_args(argv)
    if args.db is None:
        args.db = "both" if postgres_answers(args.postgres) else "sqlite"
        if args.db == "sqlite":
            print(f"PostgreSQL does not answer at {args.postgres}: SQLite only.")
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    secret_key = secrets.token_urlsafe(50)
    started = time.perf_counter()
    rows = []
    for database in databases:
        rows += run_database(args, database, secret_key)

    checks = verdicts(rows, args.sizes)
    print("Verdicts (on req/s; the p50 ratio is shown beside):")
    for check in checks:
        verdict = "PASS" if check["passed"] else "FAIL"
        extra = f"  (p50 ratio {check['p50_ratio']})" if "p50_ratio" in check else ""
        value = "n/a" if check["value"] is None else check["value"]
        print(f"  {check['database']:9} {check['server']:14} {check['check']:44} {value:>6}  {verdict}{extra}")
    errors = sum(row["errors"] for row in rows)
    print(f"  errors (any answer but 200): {errors}  {'PASS' if errors == 0 else 'FAIL'}")
    loader = [row["loader_cpu_us_per_request"] for row in rows if row["loader_cpu_us_per_request"]]
    if loader:
        print(f"  loader CPU per request: {min(loader):.0f}-{max(loader):.0f} us (it shares the machine's cores)")
    print(f"  total {time.perf_counter() - started:.0f} s")
    return {
        "command": " ".join(["bench/ticket_list.py", *(argv if argv is not None else sys.argv[1:])]),
        "servers": args.servers,
        "workers": args.workers,
        "threads": args.threads if "gunicorn" in args.servers else None,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "page_size": PAGE_SIZE,
        "results": rows,
        "verdicts": checks,
        "errors": errors,
    }


if __name__ == "__main__":
    sys.exit(main())
