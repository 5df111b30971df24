"""Knowledge-base search latency beside the article detail, over real HTTP, at 10,000 articles.

    make bench-kb
    .venv/bin/python bench/kb_search.py [--db sqlite|postgres|both] [--articles 10000]
        [--workers 2] [--concurrency 8] [--duration 12] [--rounds 4] [--json]

For each database: migrate a fresh one (production settings, DEBUG off; PostgreSQL: a database of
its own, `bench_kb`, dropped afterwards), seed N articles (bulk_create: the full-text index is
kept by the database's triggers, as for any write) in realistic proportions (70 % for everyone,
20 % agents, 10 % leads; 85 % published, 10 % drafts, 5 % archived), start uvicorn with the flags
bench/ticket_list.py uses, and load two endpoints as an employee from one asyncio client with a
fixed number of keep-alive connections, taking turns in rounds so that noise on the shared
machine hits both alike:

    search   GET /api/v1/kb/search/?q=...     (15 everyday queries in turn, 1 to 3 words)
    detail   GET /api/v1/kb/articles/{id}/    (200 published articles in turn)

Report: req/s, p50, p95, errors. Verdict: search p95 <= 2 x detail p95 (issue: at 10,000 articles,
on SQLite and on PostgreSQL). Numbers compare only within one run.
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
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PG_DATABASE = "bench_kb"
DETAIL_IDS = 200
QUERIES = [
    "reset password",
    "vpn disconnects",
    "printer offline",
    "mfa new phone",
    "email on phone",
    "laptop request",
    "guest wifi password",
    "teams audio",
    "shared drive access",
    "outlook calendar",
    "monitor flickers",
    "report phishing",
    "install software",
    "badge door",
    "expense report error",
]

# --- Seeding (a subprocess with the bench environment) ----------------------------------------

TOPICS = [
    ("Reset a forgotten password", ["password", "account"], "password reset self-service portal sign-in"),
    ("Set up MFA on a new phone", ["mfa", "phone"], "authenticator app new phone sign-in approve code"),
    ("Connect to the VPN", ["vpn", "remote"], "vpn client profile office network home connect"),
    ("The VPN disconnects", ["vpn", "wi-fi"], "vpn disconnects drops signal wi-fi profile hotel"),
    ("Add an office printer", ["printer"], "printer add queue driver floor print portal"),
    ("The printer is offline", ["printer", "offline"], "printer offline queue jam restart cable"),
    ("Request a laptop", ["laptop", "hardware"], "laptop request order new starter replacement loan"),
    ("Work email on your phone", ["email", "phone"], "email phone mail app device policy calendar"),
    ("Guest Wi-Fi for visitors", ["wi-fi", "guests"], "guest wifi password reception visitors network"),
    ("Teams calls without audio", ["teams", "audio"], "teams audio microphone headset call speaker"),
    ("Access a shared drive", ["permissions", "drive"], "shared drive access permission folder group owner"),
    ("Outlook calendar sharing", ["outlook", "calendar"], "outlook calendar share delegate meeting invite"),
    ("A monitor flickers", ["monitor"], "monitor flickers cable dock refresh display screen"),
    ("Report a phishing email", ["phishing", "security"], "phishing report email link attachment suspicious"),
    ("Install software", ["software"], "install software center licence application request"),
    ("Badge does not open a door", ["badges"], "badge door reader reception access card"),
    ("Expense tool shows an error", ["erp"], "expense report error tool submit receipt approval"),
    ("Book a meeting room", ["meeting rooms"], "meeting room book display screen share calendar"),
    ("Onboarding checklist", ["onboarding"], "onboarding new starter account laptop badge first day"),
    ("Back up your files", ["backup"], "backup files cloud drive restore version desktop"),
]
VARIANTS = [
    "",
    " on Windows 11",
    " on macOS",
    " in the Berlin office",
    " for contractors",
    " (2026 update)",
    " from home",
    " for managers",
    " step by step",
    " quick fix",
]
# Sentences every kind of article has: none of them carries a topic's keywords.
GENERAL = [
    "If this does not help, open a ticket and an agent will contact you within the working day.",
    "Most problems of this kind clear after a restart and a fresh sign-in.",
    "Write down the time and what you saw before you call; it helps the agent a lot.",
    "Colleagues on the same floor may see the same thing; check the status page first.",
    "The steps are the same on every office site, only the names of the rooms differ.",
    "Keep the machine plugged in during updates and wait until it restarts by itself.",
    "Managers can raise this on behalf of their staff from the service portal.",
    "This page is reviewed every quarter by the owners of the service.",
]
FILLER = "the then check settings open select wait minutes again button menu window tab top right left next"
FILLER_WORDS = FILLER.split()


def seed(total: int) -> dict:
    """Seed `total` articles, one employee and one author; return what the loader needs."""
    import django

    django.setup()
    from django.db import connection, transaction
    from tqdm import tqdm

    from accounts.models import Role, User
    from accounts.tokens import issue_pair
    from knowledge.models import Article, ArticleTag, Category, Status, Visibility

    author = User.objects.create_user("lead@bench.example", None, role=Role.LEAD, first_name="Lee")
    employee = User.objects.create_user("employee@bench.example", None, role=Role.EMPLOYEE, first_name="Emma")
    categories = [Category.objects.create(name=f"Bench category {n}", slug=f"bench-{n}") for n in range(8)]
    rng = random.Random(total)
    batch = 1000
    with tqdm(total=total, desc=f"articles to {total:,}", unit="row", file=sys.stderr) as bar:
        for start in range(0, total, batch):
            rows = []
            for n in range(start, min(start + batch, total)):
                title, tags, words = rng.choice(TOPICS)
                vocabulary = words.split()
                paragraphs = []
                for _ in range(rng.randint(3, 6)):
                    sentence = " ".join(
                        rng.choice(vocabulary) if rng.random() < 0.4 else rng.choice(FILLER_WORDS)
                        for _ in range(rng.randint(10, 18))
                    )
                    paragraphs.append(f"{sentence.capitalize()}. {rng.choice(GENERAL)} {rng.choice(GENERAL)}")
                if rng.random() < 0.5:  # a cross-link: another topic's words in a small share of articles
                    paragraphs.append(f"See also: {rng.choice(TOPICS)[0]}.")
                visibility = rng.choices(
                    [Visibility.EVERYONE, Visibility.AGENTS, Visibility.LEADS], weights=[70, 20, 10]
                )[0]
                status = rng.choices([Status.PUBLISHED, Status.DRAFT, Status.ARCHIVED], weights=[85, 10, 5])[0]
                rows.append(
                    Article(
                        title=f"{title}{rng.choice(VARIANTS)}",
                        slug=f"bench-{n}",
                        summary=paragraphs[0][:300],
                        body="\n\n".join(paragraphs),
                        category=rng.choice(categories),
                        tags=tags,
                        tags_text="|" + "|".join(tags) + "|",
                        visibility=visibility,
                        status=status,
                        author=author,
                        updated_by=author,
                    )
                )
            with transaction.atomic():
                Article.objects.bulk_create(rows, batch_size=batch)
                ArticleTag.objects.bulk_create(
                    [ArticleTag(article=row, tag=tag) for row in rows for tag in row.tags], batch_size=batch
                )
            bar.update(len(rows))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO knowledge_article_fts (knowledge_article_fts) VALUES ('optimize')")
            cursor.execute("ANALYZE")
    ids = list(
        Article.objects.filter(status=Status.PUBLISHED, visibility=Visibility.EVERYONE)
        .values_list("id", flat=True)
        .order_by("?")[:DETAIL_IDS]
    )
    return {"articles": Article.objects.count(), "access": issue_pair(employee)["access"], "detail_ids": ids}


# --- Server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, int]:
    """uvicorn as bench/ticket_list.py runs it: N workers, uvloop, httptools, no access log."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port"]
    command += [str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("The server exited during start-up (its output is above).")
        try:
            if asyncio.run(fetch(port, "/healthz"))[0] == 200:
                time.sleep(1.5)  # let every worker start
                return process, port
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit("The server did not answer /healthz within 60 s.")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- Client -----------------------------------------------------------------------------------


def request_bytes(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n{auth}\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.readexactly(int(headers.get("content-length", "0")))


async def fetch(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_bytes(path, token))
        await writer.drain()
        return await read_response(reader)
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], concurrency: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    ends = time.perf_counter() + seconds
    position = random.randrange(len(requests))

    async def connection() -> None:
        nonlocal errors, position
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < ends:
                position = (position + 1) % len(requests)
                started = time.perf_counter()
                writer.write(requests[position])
                await writer.drain()
                status, _ = await read_response(reader)
                finished = time.perf_counter()
                if finished > ends:
                    break  # answers after the window do not count
                if status == 200:
                    latencies.append(finished - started)
                else:
                    errors += 1
        finally:
            writer.close()

    results = await asyncio.gather(*(connection() for _ in range(concurrency)), return_exceptions=True)
    errors += sum(isinstance(result, Exception) for result in results)
    return latencies, errors


def load(port: int, requests: list[bytes], concurrency: int, seconds: float) -> tuple[list[float], int]:
    try:
        import uvloop

        return uvloop.run(_load(port, requests, concurrency, seconds))
    except ImportError:
        return asyncio.run(_load(port, requests, concurrency, seconds))


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


# --- One database -----------------------------------------------------------------------------


def postgres_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def postgres_admin(base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url(base, "postgres"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def postgres_answers(base: str) -> bool:
    try:
        postgres_admin(base, "SELECT 1")
        return True
    except Exception:
        return False


def run_database(args, database: str, secret_key: str) -> dict:
    var_dir = tempfile.mkdtemp(prefix=f"bench-kb-{database}-")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=var_dir,
        DATABASE_URL="",  # set and empty, so a local .env cannot fill it in
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        THROTTLE_ANON="100000/s",
        THROTTLE_USER="100000/s",
        RATE_KB_SEARCH="100000/s",
        JWT_ACCESS_MINUTES="600",
        # Under ASGI each request's sync code runs in a thread of its own: persistent connections
        # (the default 60 s) pile up until PostgreSQL refuses more ("too many clients").
        DATABASE_CONN_MAX_AGE="0",
    )
    if database == "postgres":
        env["DATABASE_URL"] = postgres_url(args.postgres, PG_DATABASE)
        postgres_admin(
            args.postgres, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)', f'CREATE DATABASE "{PG_DATABASE}"'
        )
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "bench.kb_search", "--seed-to", str(args.articles)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        seeded = json.loads(out.strip().splitlines()[-1])
        print(f"  {database}: {seeded['articles']:,} articles seeded in {time.perf_counter() - started:.0f} s")
        return measure(args, env, seeded) | {"database": database, "articles": seeded["articles"]}
    finally:
        if database == "postgres":
            postgres_admin(args.postgres, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


def measure(args, env: dict[str, str], seeded: dict) -> dict:
    token = seeded["access"]
    paths = {
        "search": [f"/api/v1/kb/search/?q={quote(query)}" for query in QUERIES],
        "detail": [f"/api/v1/kb/articles/{pk}/" for pk in seeded["detail_ids"]],
    }
    process, port = start_server(env, args.workers)
    try:
        matches = {}
        for path in paths["search"]:  # every query answers 200 and finds something before anything is timed
            status, body = asyncio.run(fetch(port, path, token))
            if status != 200 or not json.loads(body)["count"]:
                raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
            matches[path] = json.loads(body)["count"]
        status, body = asyncio.run(fetch(port, paths["detail"][0], token))
        if status != 200:
            raise SystemExit(f"GET {paths['detail'][0]} answered {status}: {body[:300]!r}")
        requests = {name: [request_bytes(path, token) for path in group] for name, group in paths.items()}
        for name in requests:
            load(port, requests[name], args.concurrency, args.warmup)
        samples: dict[str, list[float]] = {name: [] for name in requests}
        errors = {name: 0 for name in requests}
        for _ in range(args.rounds):
            for name in requests:
                latencies, failed = load(port, requests[name], args.concurrency, args.duration / args.rounds)
                samples[name] += latencies
                errors[name] += failed
    finally:
        stop_server(process)
    rows = {}
    for name in requests:
        rows[name] = {
            "rps": round(len(samples[name]) / args.duration, 1),
            "p50_ms": round(percentile(samples[name], 0.50) * 1000, 1),
            "p95_ms": round(percentile(samples[name], 0.95) * 1000, 1),
            "requests": len(samples[name]),
            "errors": errors[name],
        }
    counts = sorted(matches.values())
    return {
        "endpoints": rows,
        "matches_per_query": {"min": counts[0], "median": counts[len(counts) // 2], "max": counts[-1]},
    }


def report(result: dict, args) -> dict:
    rows = result["endpoints"]
    ratio = rows["search"]["p95_ms"] / rows["detail"]["p95_ms"] if rows["detail"]["p95_ms"] else float("inf")
    print(
        f"\n{result['database']}, {result['articles']:,} articles (uvicorn, {args.workers} workers; "
        f"{args.concurrency} connections; {args.duration:g} s per endpoint in {args.rounds} rounds; an employee)"
    )
    matches = result["matches_per_query"]
    print(f"  readable matches per query: min {matches['min']:,}, median {matches['median']:,}, max {matches['max']:,}")
    print(f"  {'endpoint':10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for name, row in rows.items():
        print(f"  {name:10} {row['rps']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['errors']:>7}")
    passed = ratio <= 2.0 and not any(row["errors"] for row in rows.values())
    print(f"  search p95 / detail p95 = {ratio:.2f} (at most 2.0)  {'PASS' if passed else 'FAIL'}", flush=True)
    return {**result, "p95_ratio": round(ratio, 2), "passed": passed}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), help="default: both when PostgreSQL answers")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=4, help="the endpoints take turns this many times")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per endpoint")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server for --db postgres")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--seed-to", type=int, help=argparse.SUPPRESS)  # internal: the seeding subprocess
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed_to is not None:
        print(json.dumps(seed(args.seed_to)))
        return 0
    result = run(argv)
    if args.json:
        print(json.dumps(result))
    return 0 if result["passed"] else 1


def run(argv: list[str] | None = None) -> dict:
    """Every database asked for; prints the report and returns the structured result (bench/run_all.py)."""
    args = parse_args(argv)
    if args.db is None:
        args.db = "both" if postgres_answers(args.postgres) else "sqlite"
        if args.db == "sqlite":
            print(f"PostgreSQL does not answer at {args.postgres}: SQLite only.")
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    secret_key = secrets.token_urlsafe(50)
    results = [report(run_database(args, database, secret_key), args) for database in databases]
    passed = all(result["passed"] for result in results)
    print(f"\nVerdict: search p95 <= 2 x detail p95 on {', '.join(databases)}: {'PASS' if passed else 'FAIL'}")
    command = " ".join(["bench/kb_search.py", *(argv or sys.argv[1:])])
    return {"command": command, "results": results, "passed": passed}


if __name__ == "__main__":
    sys.exit(main())
