"""Profile of the ticket list (page 1, cursor, detail) in one process with pyinstrument.

    .venv/bin/python bench/profile_list.py [--tickets 5000] [--requests 300]

A temporary SQLite database (production settings, DEBUG off) with `--tickets` tickets seeded by
bench/ticket_list.py's generator; an agent's requests through Django's test client (the whole
middleware and DRF stack, no socket). Prints pyinstrument's text report (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=tempfile.mkdtemp(prefix="bench-profile-"),
        DATABASE_URL="",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        THROTTLE_ANON="100000/s",
        THROTTLE_USER="100000/s",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from pyinstrument import Profiler

    from accounts.models import Department, Role, User
    from accounts.tokens import issue_pair
    from bench.ticket_list import _ticket_fields
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    department = Department.objects.create(name="Bench IT")
    agent = User.objects.create_user("agent@bench.example", None, role=Role.AGENT, department=department)
    employee = User.objects.create_user("employee@bench.example", None)
    rng, now = random.Random(3), datetime.now(tz=UTC)
    for start in range(0, args.tickets, 1000):
        Ticket.objects.bulk_create(
            [
                Ticket(**_ticket_fields(rng, now, employee.id, agent.id, department.id))
                for _ in range(min(1000, args.tickets - start))
            ]
        )
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {issue_pair(agent)['access']}")
    paths = {
        "list": "/api/v1/tickets/?page_size=25",
        "cursor": "/api/v1/tickets/?page_size=25&cursor=",
        "plain": "/api/bench/plain/?page_size=25",
    }
    for name, path in paths.items():
        for _ in range(20):
            assert client.get(path).status_code == 200, name
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.requests):
            client.get(path)
        profiler.stop()
        print(f"\n===== {name}: {args.requests} x GET {path} ({args.tickets} tickets, SQLite)\n")
        print(profiler.output_text(unicode=False, color=False, show_all=os.environ.get("PROFILE_ALL") == "1")[:20000])


if __name__ == "__main__":
    main()
