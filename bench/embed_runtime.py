"""Embedding runtimes side by side: sentence-transformers + torch against onnxruntime (no torch).

    .venv/bin/python bench/embed_runtime.py [--texts 300] [--warmup 20] [--onnx-dir DIR] [--json]

Exports the packaged all-MiniLM-L6-v2 to ONNX (into a temporary directory unless --onnx-dir holds
an export), then, for each runtime, in a fresh process of its own (so that one's imports never
count in the other's memory), one thread as in production:
- import + load time of the embedder;
- batch-1 latency (p50/p95/mean) over --texts ticket-like texts, after --warmup;
- batch-32 throughput (texts/s);
- RSS after loading the embedder alone, and of a web process: Django set up with production
  settings, the ASGI application imported, the embedder loaded and used (what each uvicorn or
  gunicorn worker holds);
- max abs diff of the vectors against the torch runtime's.
Numbers are comparable only within one run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORDS = [
    *("printer", "vpn", "laptop", "password", "outlook", "mailbox", "calendar", "teams", "badge", "monitor"),
    *("docking", "station", "wifi", "license", "excel", "sharepoint", "access", "request", "onboarding", "new"),
    *("starter", "broken", "screen", "slow", "boot", "update", "error", "code", "reset", "account", "locked"),
    *("cannot", "connect", "since", "yesterday", "please", "help", "urgent", "floor", "office"),
]


def texts(n: int) -> list[str]:
    import random

    rng = random.Random(14)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 60))) for _ in range(n)]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def child(runtime: str, onnx_dir: str, n: int, warmup: int, app: bool, out: str) -> None:
    """One runtime in this process: load, time, measure memory, save the vectors."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    if app:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
            DEBUG="false",
            SECRET_KEY="bench-" + "k" * 60,
            ALLOWED_HOSTS="127.0.0.1",
            VAR_DIR=tempfile.mkdtemp(prefix="bench-embed-"),
            AI_EMBEDDING_RUNTIME=runtime,
            AI_ONNX_MODEL_DIR=onnx_dir,
        )
        from ai_assist import embeddings
        from helpdesk.asgi import application  # noqa: F401  (django.setup() and every app)

        embedder = embeddings.embedder()
    else:
        from ai_assist.ml.embed import get_embedder

        embedder = get_embedder("", runtime=runtime, onnx_dir=onnx_dir)
    load_s = time.perf_counter() - started
    sample = texts(n)
    for text in sample[:warmup]:
        embedder.embed([text])
    timings = []
    for text in sample:
        t0 = time.perf_counter()
        embedder.embed([text])
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    vectors = embedder.embed(sample)
    batch_s = time.perf_counter() - t0
    np.save(out, vectors)
    result = {
        "runtime": runtime,
        "process": "app" if app else "embedder",
        "embedder": type(embedder).__name__,
        "load_s": round(load_s, 2),
        "batch1_p50_ms": round(percentile(timings, 0.5) * 1000, 2),
        "batch1_p95_ms": round(percentile(timings, 0.95) * 1000, 2),
        "batch1_mean_ms": round(statistics.fmean(timings) * 1000, 2),
        "batch32_texts_per_s": round(len(sample) / batch_s, 1),
        "rss_mb": round(rss_mb(), 1),
        "torch_imported": "torch" in sys.modules,
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--onnx-dir", help="an existing export (default: export into a temporary directory)")
    parser.add_argument("--runtimes", default="torch,onnx")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("RUNTIME", "ONNX_DIR", "APP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        runtime, onnx_dir, app, out = args.child
        child(runtime, onnx_dir, args.texts, args.warmup, app == "app", out)
        return

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from ai_assist.ml.embed_onnx import is_exported

    scratch = Path(tempfile.mkdtemp(prefix="bench-embed-runtime-"))
    onnx_dir = args.onnx_dir or str(scratch / "onnx")
    if not is_exported(onnx_dir):
        from ai_assist.ml.onnx_export import export

        print(f"exporting the model to {onnx_dir}...", file=sys.stderr, flush=True)
        export(onnx_dir, "", progress=lambda line: print(line, file=sys.stderr, flush=True))
    env = os.environ | {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    rows, vectors = [], {}
    for runtime in args.runtimes.split(","):
        for process in ("embedder", "app"):
            out = scratch / f"{runtime}-{process}.npy"
            print(f"{runtime}, {process} process...", file=sys.stderr, flush=True)
            command = [sys.executable, __file__, "--texts", str(args.texts), "--warmup", str(args.warmup)]
            done = subprocess.run(
                [*command, "--child", runtime, onnx_dir, process, str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode:
                raise SystemExit(f"{runtime} ({process}) failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            vectors[(runtime, process)] = np.load(out)
    reference = vectors.get(("torch", "embedder"))
    for row in rows:
        mine = vectors[(row["runtime"], row["process"])]
        row["max_abs_diff_vs_torch"] = None if reference is None else float(np.abs(mine - reference).max())
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    header = (
        "| runtime | process | load s | batch-1 p50 ms | p95 ms | batch-32 texts/s | RSS MB | torch imported "
        "| max abs diff |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for r in rows:
        diff = "-" if r["max_abs_diff_vs_torch"] is None else f"{r['max_abs_diff_vs_torch']:.1e}"
        print(
            f"| {r['runtime']} | {r['process']} | {r['load_s']} | {r['batch1_p50_ms']} | {r['batch1_p95_ms']} | "
            f"{r['batch32_texts_per_s']} | {r['rss_mb']:.0f} | {r['torch_imported']} | {diff} |"
        )


if __name__ == "__main__":
    main()
