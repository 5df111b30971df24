"""Embedding and reindex throughput, and the memory of a process that holds the embedder.

    .venv/bin/python bench/throughput.py [--tickets 2000] [--texts 256] [--json]

In this process, on a temporary SQLite database and Chroma index (nothing of var/ is touched),
production code only: `--tickets` tickets seeded with bulk_create (bench/ticket_list.py's
generator, progress bar), then
- embedding: `ai_assist.embeddings.embed_many` over `--texts` ticket texts, cache off, after a
  warm-up batch: texts/s; and `embed_one` per text, min/median/p95 ms;
- reindex: `manage.py reindex --only tickets` (what an operator runs after a model change):
  tickets/s;
- the resident memory (RSS) of the process before Django, after the embedder has loaded, and at
  the end.
One thread for torch, as in production. Numbers compare only within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def stats(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "min_ms": round(ordered[0] * 1000, 2),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000, 2),
        "samples": len(ordered),
    }


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    before = rss_mb()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="true",
        VAR_DIR=tempfile.mkdtemp(prefix="bench-throughput-"),
        DATABASE_URL="",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from tqdm import tqdm

    from accounts.models import Department, Role, User
    from ai_assist import embeddings
    from bench.ticket_list import _ticket_fields
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    department = Department.objects.create(name="Bench IT")
    agent = User.objects.create_user("agent@bench.example", None, role=Role.AGENT, department=department)
    employee = User.objects.create_user("employee@bench.example", None)
    rng, now = random.Random(7), datetime.now(tz=UTC)
    with tqdm(total=args.tickets, desc="tickets", unit="row", file=sys.stderr) as bar:
        for start in range(0, args.tickets, 1000):
            count = min(1000, args.tickets - start)
            Ticket.objects.bulk_create(
                [Ticket(**_ticket_fields(rng, now, employee.id, agent.id, department.id)) for _ in range(count)]
            )
            bar.update(count)
    texts = list(Ticket.objects.values_list("public_text", flat=True)[: args.texts])

    embeddings.embed_many(texts[:32], cache=False)  # loads the model; not timed
    loaded = rss_mb()
    started = time.perf_counter()
    embeddings.embed_many(texts, cache=False)
    batch_seconds = time.perf_counter() - started
    singles = []
    for text in texts[: min(len(texts), 100)]:
        started = time.perf_counter()
        embeddings.embed_one(text)
        singles.append(time.perf_counter() - started)

    started = time.perf_counter()
    call_command("reindex", only="tickets", verbosity=0)
    reindex_seconds = time.perf_counter() - started
    result = {
        "embed_batch_texts_per_s": round(len(texts) / batch_seconds, 1),
        "embed_one": stats(singles),
        "reindex_tickets": args.tickets,
        "reindex_seconds": round(reindex_seconds, 1),
        "reindex_tickets_per_s": round(args.tickets / reindex_seconds, 1),
        "rss_mb": {"start": before, "embedder_loaded": loaded, "end": rss_mb()},
        "embedder": embeddings.model_name(),
    }
    print(
        f"embedding {result['embed_batch_texts_per_s']} texts/s (batch), "
        f"one text p50 {result['embed_one']['p50_ms']} ms p95 {result['embed_one']['p95_ms']} ms; "
        f"reindex {args.tickets} tickets in {result['reindex_seconds']} s "
        f"({result['reindex_tickets_per_s']}/s); RSS {result['rss_mb']}"
    )
    return result


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
