"""Every benchmark, one command: results as JSON, a Markdown table and PNG plots.

    make bench         (.venv/bin/python bench/run_all.py)                 1k, 10k, 100k tickets, SQLite and PostgreSQL
    make bench-quick   (.venv/bin/python bench/run_all.py --quick)         1k and 10k, short windows: under 5 minutes
    .venv/bin/python bench/run_all.py [--quick] [--with-1m] [--only tickets,kb,...] [--out bench/results]

Each benchmark's own `run(argv) -> dict` is called in a fresh process (they set up Django with
settings of their own), so nothing is parsed from their output. `--with-1m` adds PostgreSQL at
10,000 and 1,000,000 tickets side by side (seeding 1M takes minutes: the 1M database is kept as
`bench_tickets_1000000` and reused by the next run). Writes bench/results/<date>.json, <date>.md
and <date>-*.png, and prints the Markdown. Numbers compare only within one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import json
import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TICKET_ENDPOINTS = "list,deep,cursor,cursor_deep,detail,create,comment"

# name -> (module, arguments of the full run, arguments of --quick)
BENCHES = {
    "tickets": (
        "bench.ticket_list",
        ["--sizes", "1000,10000,100000", "--endpoints", TICKET_ENDPOINTS, "--duration", "6", "--rounds", "3"],
        [
            "--sizes",
            "1000,10000",
            "--endpoints",
            TICKET_ENDPOINTS,
            "--duration",
            "1",
            "--rounds",
            "2",
            "--db",
            "sqlite",
        ],
    ),
    "kb": (
        "bench.kb_search",
        ["--articles", "10000"],
        ["--articles", "1000", "--duration", "2", "--rounds", "1", "--warmup", "0.5", "--db", "sqlite"],
    ),
    "auth": ("bench.auth_latency", [], ["--logins", "5", "--me", "60"]),
    "ai_route": ("bench.ai_route_latency", [], ["--tickets", "60", "--warmup", "5"]),
    "ai_answer": ("bench.ai_answer_latency", [], ["--sizes", "300", "--samples", "25", "--warmup", "3"]),
    "feed": ("bench.ws_fanout", [], ["--agents", "100", "--writes", "5", "--layers", "memory", "--max-seconds", "150"]),
    "throughput": ("bench.throughput", ["--tickets", "5000", "--texts", "512"], ["--tickets", "200", "--texts", "48"]),
}
TICKETS_1M = ["--db", "postgres", "--sizes", "10000,1000000", "--keep-db", "--endpoints", TICKET_ENDPOINTS]
TICKETS_1M += ["--duration", "4", "--rounds", "2"]


CACHE = Path(os.environ.get("BENCH_CACHE_DIR", Path.home() / ".cache" / "helpdesk-bench"))
SHARED_CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"


def quick_csv(rows: int = 700) -> str:
    """The first `rows` tickets of the shared CSV (the quick run trains on these)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"train-{rows}.csv"
    if not path.exists():
        import csv

        with SHARED_CSV.open(newline="") as source, path.open("w", newline="") as target:
            reader, writer = csv.reader(source), csv.writer(target)
            for index, row in enumerate(reader):
                if index > rows:
                    break
                writer.writerow(row)
    return str(path)


def _call(module: str, argv: list[str]) -> dict:
    """In the child process: the benchmark's own run()."""
    return importlib.import_module(module).run(argv)


def call(module: str, argv: list[str]) -> dict:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_call, module, argv).result()


# --- Targets -------------------------------------------------------------------------------------


def ticket_rows(results: dict) -> list[dict]:
    rows = []
    for run_name in ("tickets", "tickets_1m"):
        for row in (results.get(run_name) or {}).get("results", []):
            rows.append({**row, "run": run_name})
    return rows


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, per run and database (sizes of one run were measured side by side)."""
    out = []
    for run_name, database in dict.fromkeys((row["run"], row["database"]) for row in rows):
        mine = [row for row in rows if row["run"] == run_name and row["database"] == database]
        found = {(row["size"], row["endpoint"]): row for row in mine}
        sizes = sorted({row["size"] for row in mine})
        where = f"{database} ({run_name})"
        for endpoint in dict.fromkeys(row["endpoint"] for row in mine):
            counts = {found[size, endpoint]["queries"] for size in sizes if (size, endpoint) in found}
            counts.discard(None)
            if counts:
                out.append(
                    {
                        "where": where,
                        "target": f"queries per request of {endpoint} constant across sizes",
                        "value": "/".join(str(found[size, endpoint]["queries"]) for size in sizes),
                        "passed": len(counts) == 1,
                    }
                )
        low = 10_000 if 10_000 in sizes else sizes[0]
        high = sizes[-1]
        for endpoint, limit in (("list", 1.5), ("cursor", 1.5), ("cursor_deep", 1.5)):
            a, b = found.get((low, endpoint)), found.get((high, endpoint))
            if a and b and low != high and a["p95_ms"] and b["p95_ms"]:
                ratio = b["p95_ms"] / a["p95_ms"]
                out.append(
                    {
                        "where": where,
                        "target": f"{endpoint} p95 {high:,} / {low:,} < {limit}x",
                        "value": round(ratio, 2),
                        "passed": ratio < limit,
                    }
                )
        for size in sizes:
            plain, ticket = found.get((size, "plain")), found.get((size, "list"))
            if plain and ticket and plain["rps"]:
                ratio = ticket["rps"] / plain["rps"]
                out.append(
                    {
                        "where": where,
                        "target": f"list req/s >= 0.8 x plain at {size:,}",
                        "value": round(ratio, 2),
                        "passed": ratio >= 0.8,
                    }
                )
    return out


# --- Report --------------------------------------------------------------------------------------


def markdown(results: dict, checks: list[dict], meta: dict) -> str:
    lines = [f"# Benchmarks, {meta['date']} ({'quick' if meta['quick'] else 'full'})", ""]
    lines += [
        f"Machine: {meta['cpus']} CPUs shared with other jobs (numbers are noisy; compare within one run). "
        f"Command: `{meta['command']}`; {meta['seconds']:.0f} s.",
        "",
        "## REST API (gunicorn gthread, 2 workers x 4 threads, 8 keep-alive connections, loopback)",
        "",
        "| run | db | tickets | endpoint | req/s | min ms | p50 ms | p95 ms | queries | RSS MB/worker | errors |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in ticket_rows(results):
        lines.append(
            f"| {row['run']} | {row['database']} | {row['size']:,} | {row['label']} | {row['rps']} | "
            f"{row.get('min_ms') or '-'} | {row['p50_ms'] or '-'} | {row['p95_ms'] or '-'} | "
            f"{row.get('queries') if row.get('queries') is not None else '-'} | {row.get('server_rss_mb') or '-'} | "
            f"{row['errors']} |"
        )
    seeds = {
        (row["run"], row["database"], row["size"]): row.get("seed_s")
        for row in ticket_rows(results)
        if row.get("seed_s") is not None
    }
    if seeds:
        lines += ["", "Seeding (bulk_create, progress bar; PostgreSQL above 20,000 rows: copies inside the server):"]
        lines += [f"- {db} {size:,}: {seconds} s ({run})" for (run, db, size), seconds in seeds.items()]
    if checks:
        lines += ["", "## Targets", "", "| where | target | value | |", "|---|---|---|---|"]
        lines += [
            f"| {c['where']} | {c['target']} | {c['value']} | {'PASS' if c['passed'] else 'FAIL'} |" for c in checks
        ]
    kb = results.get("kb")
    if kb:
        lines += ["", "## Knowledge-base search", "", "| db | articles | endpoint | req/s | p50 ms | p95 ms |"]
        lines += ["|---|---:|---|---:|---:|---:|"]
        for result in kb["results"]:
            for name, row in result.get("endpoints", {}).items():
                lines.append(
                    f"| {result.get('database')} | {result.get('articles', '-')} | {name} | {row.get('rps')} | "
                    f"{row.get('p50_ms')} | {row.get('p95_ms')} |"
                )
    latency = []
    for row in (results.get("auth") or {}).get("results", []):
        latency.append((row["endpoint"], row))
    route = results.get("ai_route") or {}
    for name in ("embed", "route", "route_similar", "service_admin", "service_agent"):
        if name in route:
            latency.append((f"AI {name}", route[name]))
    for row in (results.get("ai_answer") or {}).get("results", []):
        latency.append((f"chat answer, {row['articles']:,} articles", row["chat"]))
        latency.append((f"routing beside chat, {row['articles']:,} articles", row["route"]))
    if latency:
        lines += ["", "## Latency in process (auth over HTTP; AI paths without HTTP)", ""]
        lines += ["| path | min ms | p50 ms | p95 ms |", "|---|---:|---:|---:|"]
        for name, row in latency:
            lines.append(f"| {name} | {row.get('min_ms', '-')} | {row.get('p50_ms')} | {row.get('p95_ms')} |")
    feed = (results.get("feed") or {}).get("feed_fanout", [])
    if feed:
        lines += ["", "## Websocket fan-out", "", "| layer | sockets | writes | p50 ms | p95 ms | max ms | KiB/conn |"]
        lines += ["|---|---:|---:|---:|---:|---:|---:|"]
        for row in feed:
            lines.append(
                f"| {row['layer']} | {row['sockets']} | {row['writes']} | {row['p50_ms']} | {row['p95_ms']} | "
                f"{row['max_ms']} | {row['rss_per_connection_kib']} |"
            )
    throughput = results.get("throughput")
    if throughput:
        lines += [
            "",
            "## Throughput and memory",
            "",
            f"- embedding: {throughput['embed_batch_texts_per_s']} texts/s in batches; one text "
            f"min/p50/p95 {throughput['embed_one']['min_ms']}/{throughput['embed_one']['p50_ms']}/"
            f"{throughput['embed_one']['p95_ms']} ms ({throughput['embedder']})",
            f"- reindex: {throughput['reindex_tickets']:,} tickets in {throughput['reindex_seconds']} s "
            f"({throughput['reindex_tickets_per_s']}/s)",
            f"- RSS of that process: {throughput['rss_mb']} MB",
        ]
        for row in (results.get("ai_answer") or {}).get("results", []):
            lines.append(f"- chat process with {row['articles']:,} articles indexed: {row['rss_mb']:.0f} MB")
    failed = {name: error for name, error in meta["errors"].items()}
    if failed:
        lines += ["", "## Did not finish", ""] + [f"- {name}: {error}" for name, error in failed.items()]
    return "\n".join(lines) + "\n"


def plots(results: dict, stem: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ticket_rows(results)
    if not rows:
        return []
    written = []
    for metric, label in (("p95_ms", "p95 latency (ms)"), ("rps", "requests per second")):
        databases = list(dict.fromkeys((row["run"], row["database"]) for row in rows))
        figure, axes = plt.subplots(1, len(databases), figsize=(6.5 * len(databases), 4.5), squeeze=False)
        for axis, (run_name, database) in zip(axes[0], databases, strict=True):
            mine = [row for row in rows if row["run"] == run_name and row["database"] == database]
            for endpoint in dict.fromkeys(row["endpoint"] for row in mine):
                points = sorted((row["size"], row[metric]) for row in mine if row["endpoint"] == endpoint)
                points = [(size, value) for size, value in points if value]
                if points:
                    label_of = next(row["label"] for row in mine if row["endpoint"] == endpoint)
                    axis.plot(*zip(*points, strict=True), marker="o", label=label_of)
            axis.set_xscale("log")
            if metric == "p95_ms":
                axis.set_yscale("log")
            axis.set_xlabel("tickets")
            axis.set_ylabel(label)
            axis.set_title(f"{database} ({run_name})")
            axis.grid(True, which="both", alpha=0.3)
            axis.legend(fontsize=7)
        figure.tight_layout()
        path = stem.with_name(f"{stem.name}-{'latency' if metric == 'p95_ms' else 'rps'}.png")
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short windows (under 5 minutes)")
    parser.add_argument("--with-1m", action="store_true", help="also PostgreSQL at 10,000 and 1,000,000 tickets")
    parser.add_argument(
        "--only", help=f"comma-separated from {','.join(BENCHES)} (`--only none --with-1m`: the 1M run alone)"
    )
    parser.add_argument("--redis", default=REDIS, help="REDIS_URL of the API servers ('' for none)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",")] if args.only else list(BENCHES)
    started = time.perf_counter()
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    plan = [(name, *BENCHES[name][:1], BENCHES[name][2 if args.quick else 1]) for name in wanted if name in BENCHES]
    if args.with_1m:
        plan.append(("tickets_1m", "bench.ticket_list", TICKETS_1M))
    # A bench that caches (ai_route's embeddings under VAR_DIR) never writes into the checkout's var/.
    os.environ["VAR_DIR"] = str(CACHE / "var")
    (CACHE / "var").mkdir(parents=True, exist_ok=True)
    for name, module, options in plan:
        if name in ("ai_route", "ai_answer") and args.quick:
            options = [*options, "--csv", quick_csv()]
        if module == "bench.ticket_list":
            options = [*options, "--redis", args.redis]
        print(f"\n=== {name}: {module} {' '.join(options)}", flush=True)
        began = time.perf_counter()
        try:
            results[name] = call(module, options)
        except BaseException as error:  # one benchmark failing leaves the others' results
            if isinstance(error, KeyboardInterrupt):
                raise
            errors[name] = f"{error.__class__.__name__}: {error}"[:300]
            print(f"{name} failed: {errors[name]}", flush=True)
        print(f"=== {name}: {time.perf_counter() - began:.0f} s", flush=True)

    if args.redis:  # the job messages no worker consumed (the API servers' broker)
        try:
            import redis

            redis.Redis.from_url(args.redis).flushdb()
        except Exception as error:
            print(f"could not empty {args.redis}: {error}")
    date = datetime.now(tz=UTC).strftime("%Y-%m-%d")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (date + ("-quick" if args.quick else ""))
    checks = targets(ticket_rows(results))
    meta = {
        "date": date,
        "quick": args.quick,
        "command": " ".join(["bench/run_all.py", *(argv if argv is not None else sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "seconds": time.perf_counter() - started,
        "errors": errors,
    }
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "targets": checks, **results}, indent=1))
    text = markdown(results, checks, meta)
    stem.with_suffix(".md").write_text(text)
    images = plots(results, stem)
    print("\n" + text)
    print(f"wrote {stem}.json, {stem}.md, " + ", ".join(str(path) for path in images))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
