"""The list/detail/create mix against any helpdesk API, through an adapter (bench/compare/README.md).

    .venv/bin/python bench/compare/run.py --base-url http://127.0.0.1:8000 --adapter ours \
        --username agent@example.com --password SECRET [--duration 10] [--concurrency 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

HERE = Path(__file__).resolve().parent
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def load_adapter(name: str) -> dict:
    path = Path(name)
    if not path.exists():
        path = HERE / f"{name}.json"
    return json.loads(path.read_text())


def fill(value, **names):
    """`{username}` and friends inside strings of a JSON-like value."""
    if isinstance(value, str):
        for key, replacement in names.items():
            value = value.replace("{" + key + "}", str(replacement))
        return value
    if isinstance(value, dict):
        return {key: fill(item, **names) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, **names) for item in value]
    return value


def sign_in(client: httpx.Client, adapter: dict, username: str, password: str) -> dict:
    """The headers that authenticate each request, or the client's auth set."""
    auth = adapter["auth"]
    if auth["kind"] == "basic":
        client.auth = (username, password)
        return {}
    if auth["kind"] == "token":
        return {auth.get("header", "Authorization"): f"{auth.get('scheme', 'Token')} {password}".strip()}
    response = client.post(auth["path"], json=fill(auth["body"], username=username, password=password))
    response.raise_for_status()
    token = response.json()[auth.get("token_field", "access")]
    return {auth.get("header", "Authorization"): f"{auth.get('scheme', 'Bearer')} {token}".strip()}


def stats(samples: list[float], errors: int, seconds: float) -> dict:
    ordered = sorted(samples)
    pick = lambda share: round(ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] * 1000, 1)  # noqa: E731
    return {
        "requests": len(ordered) + errors,
        "errors": errors,
        "rps": round(len(ordered) / seconds, 1) if seconds else 0.0,
        "min_ms": round(ordered[0] * 1000, 1) if ordered else None,
        "p50_ms": pick(0.5) if ordered else None,
        "p95_ms": pick(0.95) if ordered else None,
    }


async def closed_loop(make_request, concurrency: int, seconds: float) -> dict:
    """`concurrency` workers, each sending its next request when the previous answer is in."""
    samples: list[float] = []
    errors = 0
    ends = time.perf_counter() + seconds

    async def worker():
        nonlocal errors
        while time.perf_counter() < ends:
            started = time.perf_counter()
            try:
                response = await make_request()
                ok = 200 <= response.status_code < 300
            except httpx.HTTPError:
                ok = False
            if ok:
                samples.append(time.perf_counter() - started)
            else:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return stats(samples, errors, time.perf_counter() - began)


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--adapter", default="ours", help="a name in bench/compare/ or a JSON file")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per operation")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--operations", default="list,detail,create")
    parser.add_argument("--allow-remote", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    host = urlsplit(args.base_url).hostname or ""
    if host not in LOOPBACK and not args.allow_remote:
        raise SystemExit(f"{host} is not loopback: pass --allow-remote to load it anyway")
    adapter = load_adapter(args.adapter)
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        headers = sign_in(client, adapter, args.username, args.password)
        auth = client.auth
        body = fill(adapter["create"]["body"], username=args.username)
        for _ in range(3):  # the detail needs ids: a few tickets of our own
            client.post(adapter["create"]["path"], json=body, headers=headers).raise_for_status()
        listed = client.get(adapter["list"]["path"], headers=headers)
        listed.raise_for_status()
        field = adapter["list"].get("results_field")
        rows = listed.json()[field] if field else listed.json()
        ids = [row[adapter["detail"].get("id_field", "id")] for row in rows][:25]
    if not ids:
        raise SystemExit("The list shows no ticket, not even the three just created.")

    async def measure() -> dict:
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(
            base_url=args.base_url, headers=headers, auth=auth, limits=limits, timeout=30
        ) as http:
            turn = {"n": 0}

            def detail():
                turn["n"] += 1
                return http.get(fill(adapter["detail"]["path"], id=ids[turn["n"] % len(ids)]))

            operations = {
                "list": lambda: http.get(adapter["list"]["path"]),
                "detail": detail,
                "create": lambda: http.post(adapter["create"]["path"], json=copy.deepcopy(body)),
            }
            out = {}
            for name in args.operations.split(","):
                await closed_loop(operations[name], args.concurrency, args.warmup)
                out[name] = await closed_loop(operations[name], args.concurrency, args.duration)
            return out

    results = asyncio.run(measure())
    print(
        f"{adapter.get('name', args.adapter)} at {args.base_url}: "
        f"{args.concurrency} connections, {args.duration:g} s each"
    )
    print(f"{'operation':10} {'req/s':>8} {'min ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for name, row in results.items():
        print(f"{name:10} {row['rps']:>8} {row['min_ms']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['errors']:>7}")
    return {"adapter": adapter.get("name", args.adapter), "base_url": args.base_url, "results": results}


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
