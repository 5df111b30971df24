"""A bounded load test: employees and agents against the production server on PostgreSQL, then a
check that no acknowledged write was lost.

    make bench-load
    .venv/bin/python bench/load.py [--seconds 60] [--users 24] [--tickets 10000] [--articles 1000]
        [--warmup 10] [--think-ms 0,300] [--out bench/results] [--json]

1. A fresh PostgreSQL database (`--database`, default helpdesk_load: dropped and created), migrated
   and seeded as the product does: `seed_demo` (departments, people, the demo knowledge base and
   ticket history, a trained router), then `--tickets` tickets and `--articles` articles by bulk
   insert (the rows bench/ticket_list.py and bench/kb_search.py make, each ticket in the department
   its topic belongs to), then the AI's index and router by `manage.py reindex` and `train_router`.
2. The production shape of docs/operations.md and decision 0009, on loopback ports only: gunicorn
   (helpdesk.wsgi, gthread, `--workers` x `--threads`, DATABASE_CONN_MAX_AGE=60), one Celery worker
   and beat (the outbox's deliveries: routing, index, audit), a Chroma server (`chroma run`), Redis
   at `--redis` (database 9, flushed first). DEBUG=false, a random SECRET_KEY; only the HTTPS
   redirect is off (plain HTTP on loopback) and the rate limits are raised for the run.
3. `--users` virtual users sign in (half employees, half agents and leads of the six departments)
   and each runs the mix below in a closed loop with a think time, for `--warmup` untimed seconds,
   then `--seconds` timed ones; then they stop.
4. Reports per endpoint: requests, expected refusals (a 409 of a transition that lost a race; a
   404 of a ticket moved out of the user's sight since they listed it, which the check then
   proves exists and is hidden from them), errors (any other answer that is not 2xx),
   min / median / p95 / max. Then, once the outbox is
   delivered, checks every acknowledged write in the database: each ticket created exists, each
   comment answered 201 is in its ticket with its text, exactly once, and each transition answered
   200 is the ticket's event at the version it returned (outbox row and audit entry), no two
   acknowledged writes share a version, and the last acknowledged status is the ticket's status.
5. Writes `--out`/load-<date>.json and .md; the exit status is 1 on any error or lost write.

The mix (weights per action, each a request):

    employee  list 25, detail 20, KB search 15, chat 10, comment 10, create 8, similar 5
    agent     list 20, detail 25, comment 20, transition 20, KB search 8, similar 7

Agents transition the tickets of a small hot set per department (and the tickets they see), so two
agents of a department race for the same ticket: exactly one of two concurrent moves may win.
"""

from __future__ import annotations

import argparse
import asyncio
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENDPOINTS = ("list", "detail", "create", "comment", "transition", "kb_search", "similar", "chat")
EMPLOYEE_MIX = {"list": 25, "detail": 20, "kb_search": 15, "chat": 10, "comment": 10, "create": 8, "similar": 5}
AGENT_MIX = {"list": 20, "detail": 25, "comment": 20, "transition": 20, "kb_search": 8, "similar": 7}
HOT_PER_DEPARTMENT = 8
# A topic's category (bench/ticket_list.py TOPICS) -> the demo department that handles it.
DEPARTMENT_OF = {
    "network": "Network",
    "hardware": "Hardware",
    "printing": "Hardware",
    "email": "Software",
    "applications": "Software",
    "collaboration": "Software",
    "access": "Access",
    "security": "Access",
    "onboarding": "HR Systems",
}
CHAT_QUESTIONS = [
    "How do I reset my password?",
    "My VPN keeps disconnecting, what can I do?",
    "How do I set up MFA on my new phone?",
    "The printer on my floor is offline",
    "How can I get my work email on my phone?",
    "What is the guest Wi-Fi password?",
    "I have no audio in Teams calls",
    "How do I get access to a shared drive?",
    "How do I report a phishing email?",
    "My second monitor flickers",
    "How do I install software on my laptop?",
    "My badge does not open the door",
]
REDIS_DEFAULT = "redis://127.0.0.1:6379/9"  # a database no test or other bench uses (they use 15)
RAISED = "100000/m"
RATE_VARIABLES = (
    "THROTTLE_ANON",
    "THROTTLE_USER",
    "RATE_LOGIN_ACCOUNT",
    "RATE_LOGIN_IP",
    "RATE_REFRESH_IP",
    "RATE_TICKET_CREATE",
    "RATE_AI_SIMILAR",
    "RATE_AI_CHAT",
    "RATE_KB_SEARCH",
)


# --- Seeding (a subprocess with the run's environment) ----------------------------------------


def seed(tickets: int, articles: int, users: int, train_router: bool) -> dict:
    """The demo, then `tickets` and `articles` by bulk insert, then the AI's index and router."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from tqdm import tqdm

    from accounts import demo
    from accounts.models import Department, Role, User
    from bench import kb_search, ticket_list
    from knowledge.models import Article
    from tickets.models import Status, Ticket

    call_command("seed_demo", allow_production=True, verbosity=0)
    departments = {department.name: department for department in Department.objects.filter(name__in=demo.DEPARTMENTS)}
    agents = {name: demo.user(f"agent.{demo._slug(name)}") for name in departments}
    staff = [demo.user(f"{kind}.{demo._slug(name)}") for kind in ("agent", "lead") for name in departments]
    employees = [demo.user("employee"), demo.user("employee2")]
    wanted = max(users - users // 2, len(employees))
    for n in tqdm(range(len(employees), wanted), desc="load employees", unit="user", file=sys.stderr):
        person = User.objects.create_user(f"employee{n:02d}@load.example", demo.DEMO_PASSWORD, first_name=f"Emp{n}")
        employees.append(person)
    # Other requesters (they do not sign in): the load's employees own a share of the history only.
    others = User.objects.bulk_create(
        [User(email=f"requester{n:03d}@load.example", role=Role.EMPLOYEE) for n in range(200)]
    )
    requesters = [person.pk for person in [*employees, *others]]

    # Rows of any age: created_at and updated_at come from the generator, not "now".
    for name in ("created_at", "updated_at"):
        model_field = Ticket._meta.get_field(name)
        model_field.auto_now = model_field.auto_now_add = False
    rng = random.Random(tickets)
    now = datetime.now(tz=UTC)
    batch = 1000
    with tqdm(total=tickets, desc=f"tickets to {tickets:,}", unit="row", file=sys.stderr) as bar:
        for start in range(0, tickets, batch):
            rows = []
            for _ in range(min(batch, tickets - start)):
                fields = ticket_list._ticket_fields(rng, now, rng.choice(requesters), "", "")
                department = departments[DEPARTMENT_OF[fields["category"]]]
                fields["department_id"] = department.pk
                fields["assignee_id"] = agents[department.name].pk if fields["assignee_id"] else None
                for comment in fields["comments"]:
                    if comment["author"] == "":
                        comment["author"] = agents[department.name].pk
                rows.append(Ticket(**fields))
            with transaction.atomic():
                Ticket.objects.bulk_create(rows, batch_size=batch)
            bar.update(len(rows))
    if articles:
        kb_search.seed(articles)  # its rows, its two users, its VACUUM ANALYZE
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    call_command("reindex", verbosity=1)  # the vector index of every ticket and article
    if train_router:  # seed_demo trained on the demo history; retraining costs a second embedding pass
        call_command("train_router", verbosity=1)

    # The hot set: open tickets of each department that its agents and lead transition in turn.
    hot = {}
    for department in departments.values():
        ids = list(
            Ticket.objects.filter(department=department, status__in=[Status.OPEN, Status.PENDING], deleted_at=None)
            .order_by("-created_at")
            .values_list("id", flat=True)[:HOT_PER_DEPARTMENT]
        )
        hot[department.pk] = ids
    return {
        "password": demo.DEMO_PASSWORD,
        "employees": [person.email for person in employees],
        "staff": [{"email": person.email, "department": person.department_id} for person in staff],
        "hot": hot,
        "tickets": Ticket.objects.count(),
        "articles": Article.objects.count(),
    }


# --- The check afterwards (a subprocess with the run's environment) ---------------------------


def verify(path: str, wait_seconds: float) -> dict:
    """Every acknowledged write, in the database: see the module's docstring, point 4."""
    import django

    django.setup()
    from audit.models import AuditEntry
    from helpdesk import outbox
    from helpdesk.models import OutboxEvent
    from tickets.models import Ticket

    acked = json.loads(Path(path).read_text())
    deadline = time.monotonic() + wait_seconds
    while (waiting := outbox.lag().undelivered) and time.monotonic() < deadline:
        time.sleep(0.5)
    problems: list[str] = []

    ids = {row["ticket"] for row in acked["comments"] + acked["transitions"]} | {row["id"] for row in acked["creates"]}
    tickets = {ticket.pk: ticket for ticket in Ticket.objects.filter(pk__in=ids)}
    for row in acked["creates"]:
        ticket = tickets.get(row["id"])
        if ticket is None or ticket.title != row["title"]:
            problems.append(f"created ticket {row['id']} ({row['title']!r}) is missing")

    for row in acked["comments"]:
        ticket = tickets.get(row["ticket"])
        found = [c for c in (ticket.comments if ticket else []) if c["id"] == row["id"]]
        if len(found) != 1 or found[0]["body"] != row["body"] or found[0]["internal"] != row["internal"]:
            problems.append(f"comment {row['id']} on ticket {row['ticket']}: found {len(found)} copies")

    by_ticket: dict[str, list[dict]] = {}
    for row in acked["transitions"]:
        by_ticket.setdefault(row["ticket"], []).append(row)
    event_ids = {outbox.event_id(Ticket, row["ticket"], row["version"]): row for row in acked["transitions"]}
    events = {event.pk: event for event in OutboxEvent.objects.filter(pk__in=list(event_ids))}
    audited = set(AuditEntry.objects.filter(pk__in=list(event_ids)).values_list("pk", flat=True))
    for event_id, row in event_ids.items():
        event = events.get(event_id)
        if event is None or event.name != "ticket.status_changed" or event.data.get("status") != row["status"]:
            problems.append(f"transition of {row['ticket']} to {row['status']} at v{row['version']}: no such event")
        elif event_id not in audited:
            problems.append(f"transition of {row['ticket']} to {row['status']} at v{row['version']}: not audited")
    last_moves = 0
    for ticket_id, rows in by_ticket.items():
        versions = [row["version"] for row in rows]
        if len(versions) != len(set(versions)):
            problems.append(f"ticket {ticket_id}: two acknowledged transitions share a version: {sorted(versions)}")
        last = max(rows, key=lambda row: row["version"])
        ticket = tickets[ticket_id]
        later = OutboxEvent.objects.filter(
            target_id=ticket_id, sequence__gt=last["version"], name__in=["ticket.status_changed", "ticket.assigned"]
        )
        changed_later = [event for event in later if "status" in event.data.get("changes", {})]
        if ticket.status != last["status"] and not changed_later:
            problems.append(
                f"ticket {ticket_id}: last acknowledged status {last['status']} (v{last['version']}), "
                f"but it is {ticket.status} (v{ticket.version})"
            )
        last_moves += 1
    from accounts.models import User as Account
    from tickets import policies

    for row in acked.get("gone", []):
        account = Account.objects.get(email=row["user"])
        if not Ticket.objects.filter(pk=row["ticket"]).exists():
            problems.append(f"ticket {row['ticket']} answered 404 to {row['user']} and is gone")
        elif Ticket.objects.filter(policies.visible_tickets(account), pk=row["ticket"]).exists():
            problems.append(f"ticket {row['ticket']} answered 404 to {row['user']}, who may see it")
    return {
        "undelivered_events": waiting,
        "moved_out_of_sight_checked": len(acked.get("gone", [])),
        "creates_checked": len(acked["creates"]),
        "comments_checked": len(acked["comments"]),
        "transitions_checked": len(acked["transitions"]),
        "tickets_transitioned": last_moves,
        "lost": len(problems),
        "problems": problems[:50],
    }


# --- Processes --------------------------------------------------------------------------------


def postgres_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def postgres_admin(base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url(base, "postgres"), autocommit=True, connect_timeout=5) as connection:
        for statement in statements:
            connection.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(check, *, seconds: float, what: str, processes: dict[str, tuple[subprocess.Popen, Path]]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped: {log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not ready within {seconds:.0f} s")
        time.sleep(0.2)


def answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# --- The virtual users ------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # of every answer in the window
    expected: int = 0  # refusals the mix expects (a transition that lost a race)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few errors


@dataclass
class Run:
    base: str
    ends: float = 0.0
    timing: bool = False
    tallies: dict[str, Tally] = field(default_factory=lambda: {name: Tally() for name in ENDPOINTS})
    acked: dict[str, list] = field(
        default_factory=lambda: {"creates": [], "comments": [], "transitions": [], "gone": []}
    )
    status_seen: dict[str, str] = field(default_factory=dict)  # what the clients last saw of each ticket


@dataclass
class User:
    email: str
    agent: bool
    department: str | None
    client: object = None
    tickets: list[str] = field(default_factory=list)  # ids seen in lists or made
    conversation: str = ""
    made: int = 0


STAFF_MOVES = {
    "new": ["open", "pending"],
    "open": ["pending", "resolved"],
    "pending": ["open", "resolved"],
    "resolved": ["open", "closed"],
    "closed": ["open"],
}


async def call(run: Run, user: User, endpoint: str, method: str, path: str, body=None, expect=(200,)):
    """One request: timed, counted under `endpoint`; returns (status, json or None)."""
    import httpx

    started = time.perf_counter()
    try:
        response = await user.client.request(method, path, json=body)
        status, text = response.status_code, response.text
    except httpx.HTTPError as error:
        status, text = 0, f"{type(error).__name__}: {error}"
    elapsed = time.perf_counter() - started
    tally = run.tallies[endpoint]
    if run.timing:
        tally.latencies.append(elapsed)
        tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    conflict = status == 409 and endpoint == "transition"
    if status in expect:
        pass
    elif conflict and isinstance(data, dict) and data.get("code") in ("stale_version", "invalid_transition"):
        tally.expected += run.timing
    elif (
        status == 404
        and endpoint in ("detail", "comment")
        and isinstance(data, dict)
        and data.get("code") == "not_found"
    ):
        # Seen in a list, then moved out of this user's sight (a lead saw it in triage, then
        # routing placed it elsewhere): the check afterwards proves it exists and is hidden from them.
        tally.expected += run.timing
        run.acked["gone"].append({"ticket": path.split("/tickets/")[1].split("/")[0], "user": user.email})
    else:
        tally.errors += 1  # in the warm-up too: an error is an error
        if len(tally.samples) < 5:
            tally.samples.append(f"{method} {path} -> {status}: {text[:300]}")
    return status, data


def topic(rng: random.Random) -> tuple[str, str]:
    from bench import ticket_list

    title = rng.choice(ticket_list.TOPICS)[0]
    return title, " ".join(rng.sample(ticket_list.SENTENCES, 3))


async def act(run: Run, user: User, action: str, rng: random.Random, hot: list[str]) -> None:
    from bench import kb_search

    if action == "list":
        query = "?page_size=25"
        if user.agent and rng.random() < 0.4:
            query += "&status=open&status=pending"
        status, data = await call(run, user, "list", "GET", f"/api/v1/tickets/{query}")
        if status == 200:
            for row in data["results"]:
                run.status_seen.setdefault(row["id"], row["status"])
            user.tickets = list(dict.fromkeys([*user.tickets, *(row["id"] for row in data["results"])]))[-200:]
    elif action == "detail" and user.tickets:
        ticket_id = rng.choice(user.tickets)
        status, data = await call(run, user, "detail", "GET", f"/api/v1/tickets/{ticket_id}/")
        if status == 200:
            run.status_seen[ticket_id] = data["status"]
    elif action == "create":
        title, description = topic(rng)
        user.made += 1
        title = f"{title} ({user.email.split('@')[0]} #{user.made})"
        status, data = await call(
            run, user, "create", "POST", "/api/v1/tickets/", {"title": title, "description": description}, (201,)
        )
        if status == 201:
            run.acked["creates"].append({"id": data["id"], "title": title})
            user.tickets.append(data["id"])
    elif action == "comment" and (user.tickets or hot):
        ticket_id = rng.choice(hot if user.agent and hot and rng.random() < 0.5 else user.tickets or hot)
        internal = user.agent and rng.random() < 0.3
        body = f"load comment {secrets.token_hex(6)} by {user.email}"
        status, data = await call(
            run,
            user,
            "comment",
            "POST",
            f"/api/v1/tickets/{ticket_id}/comments/",
            {"body": body, "internal": internal},
            (201,),
        )
        if status == 201:
            run.acked["comments"].append({"ticket": ticket_id, "id": data["id"], "body": body, "internal": internal})
    elif action == "transition" and hot:
        ticket_id = rng.choice(hot)
        target = rng.choice(STAFF_MOVES[run.status_seen.get(ticket_id, "open")])
        status, data = await call(
            run, user, "transition", "POST", f"/api/v1/tickets/{ticket_id}/transition/", {"status": target}
        )
        if status == 200:
            run.status_seen[ticket_id] = data["status"]
            run.acked["transitions"].append(
                {"ticket": ticket_id, "status": data["status"], "version": data["version"], "by": user.email}
            )
        elif status == 409:  # lost a race: reload, as a client would
            status, data = await call(run, user, "detail", "GET", f"/api/v1/tickets/{ticket_id}/")
            if status == 200:
                run.status_seen[ticket_id] = data["status"]
    elif action == "kb_search":
        query = rng.choice(kb_search.QUERIES)
        await call(run, user, "kb_search", "GET", f"/api/v1/kb/search/?q={query.replace(' ', '+')}")
    elif action == "similar":
        title, description = topic(rng)
        await call(run, user, "similar", "POST", "/api/v1/ai/similar/", {"title": title, "description": description})
    elif action == "chat":
        body = {"message": rng.choice(CHAT_QUESTIONS)}
        if user.conversation and rng.random() < 0.3:
            body["conversation_id"] = user.conversation  # a follow-up
        status, data = await call(run, user, "chat", "POST", "/api/v1/ai/chat/", body)
        if status == 200:
            user.conversation = data.get("conversation_id", "")


async def user_loop(run: Run, user: User, hot: list[str], seed_value: int, think: tuple[float, float]) -> None:
    rng = random.Random(seed_value)
    mix = AGENT_MIX if user.agent else EMPLOYEE_MIX
    actions, weights = list(mix), list(mix.values())
    while time.perf_counter() < run.ends:
        await act(run, user, rng.choices(actions, weights)[0], rng, hot)
        await asyncio.sleep(rng.uniform(*think))


async def drive(args, base: str, seeded: dict) -> tuple[Run, dict]:
    import httpx

    run = Run(base=base)
    people = [User(email, False, None) for email in seeded["employees"]][: args.users - args.users // 2]
    staff = seeded["staff"]
    people += [
        User(staff[n % len(staff)]["email"], True, staff[n % len(staff)]["department"]) for n in range(args.users // 2)
    ]
    # A connection idle for longer than gunicorn's keep-alive (2 s) is closed by the server; a client
    # that reuses it then races the close (a ReadError on a request the server never saw). Browsers
    # and proxies drop idle connections first, and so does this client.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=1.0)
    headers = {"Accept": "application/json"}
    login_times = []

    async def sign_in(user: User) -> None:
        user.client = httpx.AsyncClient(base_url=base, timeout=120, limits=limits, headers=headers)
        started = time.perf_counter()
        answer = await user.client.post(
            "/api/v1/auth/login/", json={"email": user.email, "password": seeded["password"]}
        )
        login_times.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"sign-in of {user.email} answered {answer.status_code}: {answer.text[:300]}")
        user.client.headers["Authorization"] = f"Bearer {answer.json()['access']}"

    async def prime(user: User, rng: random.Random) -> None:
        """Every server process loads the embedding model and the index on its first AI request:
        all users ask at once, before any timing, so that each process has done so."""
        await act(run, user, "similar", rng, [])
        if not user.agent:
            await act(run, user, "chat", rng, [])

    think = tuple(value / 1000 for value in args.think_ms)
    try:
        await asyncio.gather(*(sign_in(user) for user in people))  # the morning: everyone signs in at once
        print("signed in; priming the AI of every server process", file=sys.stderr, flush=True)
        await asyncio.gather(*(prime(user, random.Random(n)) for n, user in enumerate(people)))
        for timing, seconds in ((False, args.warmup), (True, args.seconds)):
            if seconds <= 0:
                continue
            run.timing = timing
            started = time.perf_counter()
            run.ends = started + seconds
            phase = "timed" if timing else "warm-up"
            print(f"{phase}: {seconds:g} s, {len(people)} users", file=sys.stderr, flush=True)
            await asyncio.gather(
                *(
                    user_loop(run, user, seeded["hot"].get(user.department or "", []), n * 7919 + timing, think)
                    for n, user in enumerate(people)
                )
            )
            window = time.perf_counter() - started
    finally:
        for user in people:
            await user.client.aclose()
    employees = sum(not user.agent for user in people)
    return run, {
        "window_s": round(window, 1),
        "employees": employees,
        "agents": len(people) - employees,
        "login_p50_ms": round(percentile(login_times, 0.5) * 1000, 1),
    }


# --- Report -----------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def rows_of(run: Run, window: float) -> list[dict]:
    rows = []
    for name, tally in run.tallies.items():
        samples = tally.latencies
        ms = (lambda value: round(value * 1000, 1)) if samples else (lambda value: None)
        rows.append(
            {
                "endpoint": name,
                "requests": len(samples),
                "req_s": round(len(samples) / window, 1) if window else 0.0,
                "expected_409": tally.expected,
                "errors": tally.errors,
                "statuses": tally.statuses,
                "min_ms": ms(min(samples, default=0)),
                "median_ms": ms(percentile(samples, 0.5)),
                "p95_ms": ms(percentile(samples, 0.95)),
                "max_ms": ms(max(samples, default=0)),
                "error_samples": tally.samples,
            }
        )
    return rows


def markdown(result: dict) -> str:
    setup, check = result["setup"], result["lost_write_check"]
    lines = [
        f"Load run {result['date']} (commit {result['commit']}): `{result['command']}`",
        "",
        f"{setup['users']['employees']} employees + {setup['users']['agents']} agents, {result['seconds']:g} s timed "
        f"after {result['warmup']:g} s warm-up, think time {setup['think_ms'][0]}-{setup['think_ms'][1]} ms; "
        f"{setup['tickets']:,} tickets, {setup['articles']:,} articles; {setup['server']}.",
        "",
        "| endpoint | requests | req/s | expected 409/404 | errors | min ms | median ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["endpoints"]:
        lines.append(
            f"| {row['endpoint']} | {row['requests']:,} | {row['req_s']} | {row['expected_409']} | {row['errors']} | "
            f"{row['min_ms']} | {row['median_ms']} | **{row['p95_ms']}** | {row['max_ms']} |"
        )
    total = sum(row["requests"] for row in result["endpoints"])
    lines += [
        f"| all | {total:,} | {round(total / result['users']['window_s'], 1)} | | {result['errors']} | | | | |",
        "",
        f"Lost writes: **{check['lost']}** ({check['creates_checked']} tickets created, {check['comments_checked']} "
        f"comments, {check['transitions_checked']} transitions on {check['tickets_transitioned']} tickets checked; "
        f"{check['undelivered_events']} events undelivered when checked). Server log: "
        f"{result['server_log_errors']} ERROR lines.",
    ]
    return "\n".join(lines) + "\n"


def environment(args, var_dir: str, chroma_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",  # plain HTTP on loopback; everything else stays production
        VAR_DIR=var_dir,
        DATABASE_URL=postgres_url(args.postgres, args.database),
        REDIS_URL=args.redis,
        CHROMA_URL=chroma_url,
        AI_LLM_MODEL="",  # extractive answers: nothing leaves the machine
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",  # sent, into memory
        LOG_LEVEL="WARNING",
        JWT_ACCESS_MINUTES="120",
        **dict.fromkeys(RATE_VARIABLES, RAISED),
    )
    for name in ("AI_LLM_BASE_URL", "AI_LLM_API_KEY"):
        env.pop(name, None)
    return env


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return (out.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.strip() else "")
    except OSError:
        return "unknown"


def run_load(args) -> dict:
    import psycopg
    import redis

    try:
        postgres_admin(args.postgres, "SELECT 1")
    except psycopg.Error as error:
        raise SystemExit(f"PostgreSQL does not answer at {args.postgres}: {type(error).__name__}") from None
    try:
        redis.Redis.from_url(args.redis, socket_timeout=3).flushdb()  # this run's database only
    except redis.RedisError as error:
        raise SystemExit(f"Redis does not answer at {args.redis}: {type(error).__name__}") from None
    postgres_admin(args.postgres, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    postgres_admin(args.postgres, f'CREATE DATABASE "{args.database}"')
    var_dir = tempfile.mkdtemp(prefix="bench-load-")
    logs = Path(var_dir) / "logs"
    logs.mkdir()
    processes: dict[str, tuple[subprocess.Popen, Path]] = {}
    python = sys.executable
    try:
        chroma_port = free_port()
        chroma = shutil.which("chroma") or str(Path(python).with_name("chroma"))
        chroma_command = [chroma, "run", "--path", f"{var_dir}/chroma-server", "--host", "127.0.0.1"]
        chroma_command += ["--port", str(chroma_port)]
        processes["chroma"] = (start(chroma_command, os.environ.copy(), logs / "chroma.log"), logs / "chroma.log")
        chroma_url = f"http://127.0.0.1:{chroma_port}"
        env = environment(args, var_dir, chroma_url)
        wait_until(lambda: answers(f"{chroma_url}/api/v2/heartbeat"), seconds=60, what="Chroma", processes=processes)

        started = time.perf_counter()
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        # Seeding runs its jobs in-process (no broker), as `make run` does: the demo's routing included.
        out = subprocess.run(
            [
                python,
                "-m",
                "bench.load",
                "--seed",
                f"{args.tickets},{args.articles},{args.users},{int(args.train_router)}",
            ],
            cwd=ROOT,
            env={**env, "REDIS_URL": ""},
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        seeded = json.loads(out.strip().splitlines()[-1])
        seed_seconds = time.perf_counter() - started
        print(f"seeded in {seed_seconds:.0f} s: {seeded['tickets']:,} tickets", file=sys.stderr, flush=True)

        port = free_port()
        gunicorn = [python, "-m", "gunicorn", "helpdesk.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        if (ROOT / "helpdesk" / "gunicorn_conf.py").is_file():  # the production settings (docs/operations.md)
            gunicorn += ["--config", "python:helpdesk.gunicorn_conf"]
        gunicorn += ["--worker-class", "gthread", "--workers", str(args.workers), "--threads", str(args.threads)]
        gunicorn += ["--log-level", "warning", "--timeout", "120"]
        web_env = {**env, "DATABASE_CONN_MAX_AGE": "60"}  # decision 0009: gthread threads keep their connection
        processes["gunicorn"] = (start(gunicorn, web_env, logs / "gunicorn.log"), logs / "gunicorn.log")
        celery = [python, "-m", "celery", "-A", "helpdesk"]
        worker = [*celery, "worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle"]
        processes["worker"] = (start(worker, env, logs / "worker.log"), logs / "worker.log")
        beat = [*celery, "beat", "--loglevel=WARNING", "--schedule", f"{var_dir}/beat-schedule"]
        processes["beat"] = (start(beat, env, logs / "beat.log"), logs / "beat.log")
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/readyz"), seconds=90, what="gunicorn", processes=processes)

        run, users = asyncio.run(drive(args, base, seeded))
        acked_path = Path(var_dir) / "acked.json"
        acked_path.write_text(json.dumps(run.acked))
        out = subprocess.run(
            [python, "-m", "bench.load", "--verify", str(acked_path)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        check = json.loads(out.strip().splitlines()[-1])
        server_errors = [
            line
            for name in ("gunicorn", "worker")
            for line in processes[name][1].read_text(errors="replace").splitlines()
            if " ERROR " in line or "Traceback" in line
        ]
    finally:
        for process, _ in reversed(list(processes.values())):
            stop(process)
        if not args.keep_db:
            try:
                postgres_admin(args.postgres, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            except Exception as error:  # the report matters more than the clean-up
                print(f"could not drop {args.database}: {type(error).__name__}", file=sys.stderr)
        if args.keep_logs:
            print(f"logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    endpoints = rows_of(run, users["window_s"])
    return {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "command": " ".join(["bench/load.py", *sys.argv[1:]]),
        "seconds": args.seconds,
        "warmup": args.warmup,
        "users": users,
        "setup": {
            "users": users,
            "think_ms": list(args.think_ms),
            "tickets": seeded["tickets"],
            "articles": seeded["articles"],
            "seed_seconds": round(seed_seconds),
            "server": (
                f"gunicorn gthread {args.workers} workers x {args.threads} threads (DATABASE_CONN_MAX_AGE=60), "
                "1 Celery worker + beat, Chroma server, Redis, PostgreSQL; DEBUG=false"
            ),
            "mix": {"employee": EMPLOYEE_MIX, "agent": AGENT_MIX},
        },
        "endpoints": endpoints,
        "errors": sum(row["errors"] for row in endpoints),
        "lost_write_check": check,
        "server_log_errors": len(server_errors),
        "server_log_samples": server_errors[:10],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds of load")
    parser.add_argument("--warmup", type=float, default=10.0, help="untimed seconds of the same mix before")
    parser.add_argument("--users", type=int, default=24, help="virtual users: half employees, half agents")
    parser.add_argument("--think-ms", default="0,300", help="pause between a user's requests: min,max ms")
    parser.add_argument("--tickets", type=int, default=5_000, help="bulk-inserted besides the demo's")
    parser.add_argument("--train-router", action="store_true", help="retrain the router on them (slow)")
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="helpdesk_load", help="dropped and created; dropped afterwards")
    parser.add_argument("--redis", default=REDIS_DEFAULT, help="flushed first: a database of its own")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where load-<date>.json/.md go")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    parser.add_argument("--keep-logs", action="store_true", help="leave the servers' logs (path printed)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    parser.add_argument("--seed", help=argparse.SUPPRESS)  # internal: the seeding subprocess
    parser.add_argument("--verify", help=argparse.SUPPRESS)  # internal: the check subprocess
    args = parser.parse_args(argv)
    args.think_ms = tuple(int(value) for value in args.think_ms.split(","))
    if len(args.think_ms) != 2 or args.think_ms[0] > args.think_ms[1]:
        parser.error("--think-ms takes min,max")
    if args.users < 2:
        parser.error("--users must be at least 2 (an employee and an agent)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed:
        tickets, articles, users, train = (int(value) for value in args.seed.split(","))
        print(json.dumps(seed(tickets, articles, users, bool(train))))
        return 0
    if args.verify:
        print(json.dumps(verify(args.verify, wait_seconds=120)))
        return 0
    result = run_load(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"load-{datetime.now(tz=UTC):%Y-%m-%d}"
    table = markdown(result)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(table)
    for row in result["endpoints"]:
        for sample in row["error_samples"]:
            print(f"  error: {sample}")
    for problem in result["lost_write_check"]["problems"]:
        print(f"  lost: {problem}")
    for line in result["server_log_samples"]:
        print(f"  server log: {line}")
    print(f"written: {stem}.json, {stem}.md")
    if args.json:
        print(json.dumps(result))
    return 1 if result["errors"] or result["lost_write_check"]["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
