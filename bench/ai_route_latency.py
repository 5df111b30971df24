"""Latency of routing one ticket against embedding its text alone (warm, one process, side by side).

    make bench-ai-route   (or: .venv/bin/python bench/ai_route_latency.py [--csv PATH] [--tickets 300] [--json])

Trains the models on all but the last `--tickets` rows of the CSV (the shared tickets by default),
then, for each of those tickets in turn, times (a) embedding its text alone, (b) routing it (embed +
department router with calibrated confidence) and (c) routing it with the similar tickets the route
endpoint returns (b + label model + hybrid ranking over the training tickets). One thread, as in
production (torch.set_num_threads(1)). The target: p95 of (b) and (c) at most 1.5x p95 of (a).

Then (unless --no-service) the same tickets through the routing *service* the API calls
(ai_assist.routing.route_text: router, agent choice by skills and load, similar tickets among
those the caller may see, the suggestion row), on a temporary SQLite database holding the
training tickets and their vectors in a temporary Chroma index, as an admin (every ticket
visible) and as an agent (one department). HTTP and authentication are left out: they cost the
same with or without AI.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ai_assist.ml.data import Table, read_table  # noqa: E402
from ai_assist.ml.embed import CachedEmbedder, get_embedder  # noqa: E402
from ai_assist.ml.pipeline import train_models  # noqa: E402
from bench.routing_world import seed_routing_world  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def stats(samples: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
    }


def run(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print its table and return the structured result (bench/run_all.py calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-service", action="store_true", help="Skip the service part (database, index).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    table = read_table(args.csv)
    train = Table(rows=table.rows[: -args.tickets])
    queries = table.rows[-args.tickets :]
    embedder = get_embedder()
    var_dir = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    vectors = CachedEmbedder(embedder, var_dir / "ai" / "embeddings").embed_all(train.texts)
    print(f"training on {len(train.rows)} tickets...", file=sys.stderr, flush=True)
    models = train_models(
        texts=train.texts,
        titles=[row.title for row in train.rows],
        labels=train.labels,
        fine_labels=train.fine_labels,
        embeddings=vectors,
    )
    ranker = models.ranker().set_corpus(train.texts, train.fine_labels, vectors)

    def embed_only(row):
        return embedder.embed([row.text])[0]

    def route(row):
        return models.route(row.text, row.title, embedder.embed([row.text])[0], abstain_below=0.86)

    def route_and_similar(row):
        vector = embedder.embed([row.text])[0]
        decision = models.route(row.text, row.title, vector, abstain_below=0.86)
        return decision, ranker.rank(row.text, row.title, vector, limit=5)

    calls = {"embed": embed_only, "route": route, "route_similar": route_and_similar}
    for row in queries[: args.warmup]:
        for call in calls.values():
            call(row)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for row in queries:  # side by side: the same ticket through each path, in turn
        for name, call in calls.items():
            started = time.perf_counter()
            call(row)
            samples[name].append(time.perf_counter() - started)

    if not args.no_service:
        samples.update(service_samples(train, vectors, queries, embedder, warmup=args.warmup))

    result = {
        "csv": args.csv,
        "tickets": len(queries),
        "train_rows": len(train.rows),
        "words_median": int(np.median([len(row.text.split()) for row in queries])),
        **{name: stats(values) for name, values in samples.items()},
    }
    base = result["embed"]["p95_ms"]  # (service_embed: the embedding timed again beside the service calls)
    result["ratio_route_p95"] = round(result["route"]["p95_ms"] / base, 3)
    result["ratio_route_similar_p95"] = round(result["route_similar"]["p95_ms"] / base, 3)
    for name in ("service_admin", "service_agent"):
        if name in result:  # against the embedding timed beside the service calls
            result[f"ratio_{name}_p95"] = round(result[name]["p95_ms"] / result["service_embed"]["p95_ms"], 3)
    print(f"{len(queries)} tickets (median {result['words_median']} words), warm, one thread, side by side")
    print(f"{'path':<36}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'p95 / embed':>13}")
    for name, label in [
        ("embed", "embed the text alone"),
        ("route", "route (embed + router)"),
        ("route_similar", "route + similar tickets"),
        ("service_embed", "embed alone (beside the service)"),
        ("service_admin", "routing service, admin (all visible)"),
        ("service_agent", "routing service, agent (department)"),
    ]:
        if name not in result:
            continue
        row = result[name]
        ratio = row["p95_ms"] / (result["service_embed"]["p95_ms"] if name.startswith("service") else base)
        print(f"{label:<36}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['mean_ms']:>9}{ratio:>13.2f}")
    return result


def service_samples(train: Table, vectors, queries, embedder, *, warmup: int) -> dict[str, list[float]]:
    """Time routing.route_text on a temporary database and index holding the training tickets."""
    import tempfile

    os.environ.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="true",
        VAR_DIR=tempfile.mkdtemp(prefix="ai-bench-"),
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Role, User
    from ai_assist import routing

    print("building the service database and index...", file=sys.stderr, flush=True)
    world = seed_routing_world(train.rows, train.texts, vectors)
    admin = User.objects.create_user("admin@example.com", role=Role.ADMIN)
    callers = {"service_admin": admin, "service_agent": world.busiest_agent}

    def call(row, user):
        return routing.route_text(title=row.title, description=row.body, actor=user)

    for row in queries[:warmup]:
        for user in callers.values():
            call(row, user)
    samples: dict[str, list[float]] = {"service_embed": [], **{name: [] for name in callers}}
    for row in queries:
        started = time.perf_counter()
        embedder.embed([row.text])
        samples["service_embed"].append(time.perf_counter() - started)
        for name, user in callers.items():
            started = time.perf_counter()
            call(row, user)
            samples[name].append(time.perf_counter() - started)
    return samples


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
