"""Similar-ticket search at scale: memory and latency of one web-like process at 10k and 100k tickets
(1M with --with-1m), on the embedded Chroma index and, with --server, on a Chroma server (`chroma run`
from the installed chromadb, started by the bench on a free loopback port, stopped after).

    make bench-ai-scale       (or: .venv/bin/python bench/ai_scale.py [--sizes 10000,100000] [--with-1m]
                                   [--server | --stores embedded,server] [--worlds DIR] [--articles N]
                                   [--old REV] [--recall] [--queries 40] [--json])

Per size and store, a world is built once in a throwaway VAR_DIR (or, with --worlds DIR, in
DIR/<store>-<size>, kept and reused by later runs): a SQLite database, the embedded index or a
server's folder; 9 departments (the shared tickets' categories), one agent each, 200 employees; N
resolved tickets whose texts are the 4,346 shared tickets' texts over and over, with those tickets'
real MiniLM vectors for the first 4,346 and **synthetic vectors** for the rest (a real vector plus
Gaussian noise of norm 0.3-1.0, renormalised: realistic for size and for the index's work, not for
ranking quality, which `make ai-cv` measures); requesters drawn at random among the employees; the
routing and label models trained on the real tickets; with --articles N also the knowledge base of
bench/ai_kb_scale.py (the intranet articles and synthetic fillers). A server is restarted on the
built index and warmed (one query per collection) before the web-like process starts. Then a
fresh process per code version serves, on the same world:
- RSS: peak (VmHWM) and steady (VmRSS after everything), and the server's RSS (now and peak);
- the first similar query as admin (cold: whatever the process loads on first use);
- another process writes ONE new ticket (database and index; its vector is a query's plus a little
  noise) and this process asks that query until the ticket is among the hits: the time from the
  write to that, and the latency of the first query after the write;
- similar p50/p95 as an employee (own tickets: about N/200), an agent of the 5.5% department
  and an admin (everything), the query vector given (embedding excluded);
- one embedding p95 (the query text, alone) and one routing p95 (`route_text` without similar
  tickets), for scale; with --articles, chat p50/p95 (`ai_assist.chat.ask`, bench/ai_kb_scale.py);
- with --recall, HNSW recall@50 against exact search over the whole collection's vectors (200
  queries: a vector of the index plus noise), asking for 50 and for 400 (what the serving code asks).
--old REV measures the code of a git revision too (a temporary `git worktree`), e.g. the commit
before decision 0033, whose process holds the whole collection.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"
ONNX_CACHE = Path(tempfile.gettempdir()) / "helpdesk-bench-onnx"
EMPLOYEES = 200
SEED = 20261125

BUILD = r"""
import json, sys, time
import numpy as np
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import Department, Role, User
from ai_assist import retrieval, store
from ai_assist.ml.data import read_table
from ai_assist.ml.embed import CachedEmbedder, get_embedder
from ai_assist.ml.pipeline import train_models
from ai_assist.retrieval.tickets import ticket_label
from tickets.models import Status, Ticket
from pathlib import Path

size, csv, cache, employees, seed = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
articles, onnx = int(sys.argv[6]), sys.argv[7]
started = time.perf_counter()
table = read_table(csv)
real = CachedEmbedder(get_embedder(), Path(cache)).embed_all(table.texts).astype(np.float32)
rng = np.random.default_rng(seed)
labels = sorted({row.label for row in table.rows})
departments = {
    label: Department.objects.create(name=f"Category {label}", description=f"Tickets labelled {label}.")
    for label in labels
}
for label, department in departments.items():
    User.objects.create_user(f"agent{label}@example.com", role=Role.AGENT, department=department)
User.objects.create_user("admin@example.com", role=Role.ADMIN)
people = User.objects.bulk_create(
    [User(email=f"employee{n}@example.com", role=Role.EMPLOYEE) for n in range(employees)]
)
rows = table.rows
corpus = retrieval.ticket_corpus()
made = 0
for start in range(0, size, 5000):
    n = min(5000, size - start)
    source = [(start + i) % len(rows) for i in range(n)]
    tickets = Ticket.objects.bulk_create([
        Ticket(
            title=(rows[j].title or rows[j].body[:80] or "(no title)")[:200],
            description=rows[j].body,
            public_text=f"{rows[j].title}\n{rows[j].body}",
            category=rows[j].category,
            department=departments[rows[j].label],
            requester=people[int(rng.integers(employees))],
            status=Status.RESOLVED,
        )
        for j in source
    ], batch_size=1000)
    vectors = real[source].copy()
    synthetic = np.asarray([start + i >= len(rows) for i in range(n)])
    if synthetic.any():
        noise = rng.normal(size=(int(synthetic.sum()), real.shape[1])).astype(np.float32)
        length = rng.uniform(0.3, 1.0, size=(len(noise), 1)).astype(np.float32)
        noise *= length / np.linalg.norm(noise, axis=1, keepdims=True)
        moved = vectors[synthetic] + noise
        vectors[synthetic] = moved / np.linalg.norm(moved, axis=1, keepdims=True)
    for part in range(0, n, 1000):
        corpus.upsert(tickets[part : part + 1000], vectors=vectors[part : part + 1000])
    made += n
    if made % 50000 == 0 or made == size:
        print(f"  {made:,} tickets, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
train_models(
    texts=table.texts,
    titles=[row.title for row in rows],
    labels=[departments[row.label].pk for row in rows],
    fine_labels=[ticket_label(departments[row.label].pk, row.category) for row in rows],
    embeddings=real,
).save(store.models_path())
if articles:  # the knowledge base of bench/ai_kb_scale.py (intranet articles and synthetic fillers)
    from types import SimpleNamespace
    from bench.ai_kb_scale import build as build_kb
    kb_started = time.perf_counter()
    kb = str(Path(csv).resolve().parents[1] / "kb_qa" / "intranet")
    build_kb(SimpleNamespace(csv=csv, onnx=onnx, articles=articles, kb=kb))
    print(f"  {articles:,} articles in {time.perf_counter() - kb_started:.0f} s", file=sys.stderr, flush=True)
from django.db import connection
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:  # planner statistics, as a server's connections keep them (0022)
        cursor.execute("ANALYZE")
print(json.dumps({"build_seconds": round(time.perf_counter() - started, 1), "articles": articles}))
"""

MEASURE = r"""
import json, os, subprocess, sys, time
import numpy as np
import django
django.setup()
from accounts.models import User
from ai_assist import embeddings, retrieval, routing, store
from ai_assist.ml.data import read_table
from ai_assist.retrieval import similar
from tickets import policies
from tickets.models import Ticket

def memory():
    found = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    return found

queries, csv, write_code, chat_samples = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
store.current_models()
rows = read_table(csv).rows
rng = np.random.default_rng(7)
picked = [rows[int(i)] for i in rng.choice(len(rows), size=queries + 1, replace=False)]
texts = [f"{row.title}\n{row.body}" for row in picked]
embedded, embed_ms = [], []
for text in texts:
    started = time.perf_counter()
    embedded.append(embeddings.embed_one(text))
    embed_ms.append((time.perf_counter() - started) * 1000)
result = {"rss_start_mb": memory()["VmRSS"]}
admin = User.objects.get(email="admin@example.com")
agent = User.objects.get(email="agent6@example.com")
employee = User.objects.get(email="employee0@example.com")

def ask(user, i, vector=None):
    started = time.perf_counter()
    found = similar.similar_tickets(scope=policies.retrieval_scope(user), text=texts[i], title=picked[i].title,
                                    embedding=embedded[i] if vector is None else vector, limit=10)
    return (time.perf_counter() - started) * 1000, found

result["first_query_ms"], found = ask(admin, 0)
result["first_found"] = len(found)
latencies = {"employee": [], "agent": [], "admin": []}
for i in range(1, queries + 1):
    for name, user in (("employee", employee), ("agent", agent), ("admin", admin)):
        latencies[name].append(ask(user, i)[0])
for name, values in latencies.items():
    result[f"{name}_p50_ms"] = float(np.percentile(values, 50))
    result[f"{name}_p95_ms"] = float(np.percentile(values, 95))
result["embed_p95_ms"] = float(np.percentile(embed_ms, 95))
routed = []
for i in range(1, queries + 1):
    started = time.perf_counter()
    routing.route_text(title=picked[i].title, description=picked[i].body, actor=admin, with_similar=False)
    routed.append((time.perf_counter() - started) * 1000)
result["route_p95_ms"] = float(np.percentile(routed, 95))
# Another process writes ONE new ticket (the database and the index) whose vector is query 1's
# with a little noise; then this process asks query 1 again until that ticket is among the hits.
target = np.asarray(embedded[1], dtype=np.float32)
writer = subprocess.Popen([sys.executable, "-c", write_code, json.dumps(target.tolist())], env=os.environ.copy(),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
line = ""
while not line.startswith("["):  # the writer's line once written: asked at once, while the writer exits
    line = writer.stdout.readline()
    if not line:
        raise RuntimeError("the writing process said nothing")
new_id, wrote_at = json.loads(line)
first_after, attempts = None, 0
while True:
    ms, found = ask(admin, 1, target)
    attempts += 1
    first_after = ms if first_after is None else first_after
    if any(ticket.pk == new_id for ticket, _ in found):
        result["visible_after_write_ms"] = (time.time() - wrote_at) * 1000
        break
    if time.time() - wrote_at > 10:
        result["visible_after_write_ms"] = None
        break
    time.sleep(0.05)
writer.wait()
result["visible_attempts"] = attempts
result["after_foreign_write_ms"] = first_after
result["next_after_write_ms"], _ = ask(admin, 2)
if chat_samples:
    from bench.ai_kb_scale import ask as chat_ask
    from types import SimpleNamespace
    kb = str(__import__("pathlib").Path(csv).resolve().parents[1] / "kb_qa" / "intranet")
    chat = chat_ask(SimpleNamespace(kb=kb, samples=chat_samples))
    result.update({f"chat_{key}": value for key, value in chat.items()})
result.update({"rss_end_mb": memory()["VmRSS"], "rss_peak_mb": memory()["VmHWM"]})
print(json.dumps(result))
"""

RECALL = r"""
import json, sys
import numpy as np
import django
django.setup()
from ai_assist.retrieval import chroma
from ai_assist.retrieval.tickets import TICKETS
data = chroma.read_all(TICKETS, ["embeddings"])
ids, vectors = data["ids"], data["embeddings"]
rng = np.random.default_rng(3)
picked = vectors[rng.choice(len(vectors), size=200, replace=False)]
noise = rng.normal(size=picked.shape).astype(np.float32)
noise *= rng.uniform(0.3, 1.0, size=(len(noise), 1)).astype(np.float32) / np.linalg.norm(noise, axis=1, keepdims=True)
queries = (picked + noise) / np.linalg.norm(picked + noise, axis=1, keepdims=True)
similarity = queries @ vectors.T
kth = -np.partition(-similarity, 49, axis=1)[:, 49]
out = {}
for asked in (50, 400):
    found = chroma.call(TICKETS, lambda c: c.query(query_embeddings=list(queries), n_results=asked, include=[]))
    row_of = {ticket_id: row for row, ticket_id in enumerate(ids)}
    recall = [
        min(1.0, sum(similarity[q, row_of[t]] >= kth[q] - 1e-5 for t in hits[:50]) / 50)
        for q, hits in enumerate(found["ids"])
    ]
    out[f"recall@50 asking {asked}"] = round(float(np.mean(recall)), 4)
    out[f"worst asking {asked}"] = round(float(np.min(recall)), 2)
print(json.dumps(out))
"""

FOREIGN_WRITE = r"""
import json, sys, time
import numpy as np
import django
django.setup()
from accounts.models import Department, User
from ai_assist import retrieval
from tickets.models import Status, Ticket
vector = np.asarray(json.loads(sys.argv[1]), dtype=np.float32)
noise = np.random.default_rng(5).normal(size=vector.shape).astype(np.float32)
vector = vector + 0.05 * noise / np.linalg.norm(noise)
vector /= np.linalg.norm(vector)
text = "Written by another process"
ticket = Ticket.objects.create(title=text, description=text, public_text=text, status=Status.RESOLVED,
                               department=Department.objects.order_by("pk").first(),
                               requester=User.objects.get(email="employee1@example.com"))
retrieval.ticket_corpus().upsert([ticket], vectors=vector[None, :])
print(json.dumps([ticket.pk, time.time()]), flush=True)
"""


def ensure_onnx() -> None:
    from ai_assist.ml.embed_onnx import is_exported
    from ai_assist.ml.onnx_export import export

    if not is_exported(ONNX_CACHE):
        print(f"exporting the model to {ONNX_CACHE} (once)...", file=sys.stderr, flush=True)
        export(ONNX_CACHE, "", progress=lambda line: print(line, file=sys.stderr, flush=True))


def environment(var_dir: Path, chroma_url: str = "") -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "CHROMA_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="true",
        VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",
        AI_LLM_MODEL="",
        AI_EMBEDDING_RUNTIME="onnx",
        AI_ONNX_MODEL_DIR=str(ONNX_CACHE),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONWARNINGS="ignore",
    )
    if chroma_url:
        env["CHROMA_URL"] = chroma_url
    return env


def run_json(code: str, args: list[str], env: dict, cwd: Path, timeout: float) -> dict:
    env = {**env, "PYTHONPATH": str(cwd)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(path: Path, port: int = 0) -> tuple[subprocess.Popen, str]:
    command = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = port or free_port()
    server = subprocess.Popen(
        [command, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # a large index takes a while to load
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.1)
    os.killpg(server.pid, signal.SIGTERM)
    raise RuntimeError("the Chroma server did not answer within 2 minutes")


def warm_server(url: str) -> None:
    """One query per collection on a restarted server, so that it has loaded its indexes before a
    web process starts (the web process's first query is measured, not the server's start)."""
    subprocess.run(
        [sys.executable, "-c", WARM, url],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=1800,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


WARM = r"""
import sys
from urllib.parse import urlsplit
import numpy as np
import chromadb
from chromadb.config import Settings
url = urlsplit(sys.argv[1])
client = chromadb.HttpClient(host=url.hostname, port=url.port, settings=Settings(anonymized_telemetry=False))
for collection in client.list_collections():
    if collection.count():
        collection.query(query_embeddings=[np.ones(384, dtype=np.float32) / 384**0.5], n_results=1, include=[])
"""


def process_memory_mb(pid: int) -> dict:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return found


def old_checkout(rev: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ai-scale-old-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True, capture_output=True)
    return folder


def disk_mb(path: Path) -> int:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20) if path.exists() else 0


def measure_size(size: int, args, old: Path | None) -> list[dict]:
    out = []
    for store_kind in args.stores:
        kept = args.worlds is not None
        name = f"{store_kind}-{size}" + (f"-{args.articles}a" if args.articles else "")
        var_dir = Path(args.worlds) / name if kept else Path(tempfile.mkdtemp(prefix=f"ai-scale-{size}-"))
        var_dir.mkdir(parents=True, exist_ok=True)
        server = None
        try:
            url = ""
            if store_kind == "server":
                server, url = start_server(var_dir / "chroma-server")
            env = environment(var_dir, url)
            done = var_dir / "built.json"
            if done.exists():
                built = json.loads(done.read_text())
                print(f"{size:,} tickets, {store_kind}: the world of {var_dir}", file=sys.stderr, flush=True)
            else:
                print(f"{size:,} tickets, {store_kind}: building...", file=sys.stderr, flush=True)
                built = run_json(
                    BUILD,
                    [
                        str(size),
                        str(args.csv),
                        str(ROOT / "var" / "ai" / "embeddings"),
                        str(EMPLOYEES),
                        str(SEED),
                        str(args.articles),
                        str(ONNX_CACHE),
                    ],
                    env,
                    ROOT,
                    timeout=6 * 3600,
                )
                built["index_disk_mb"] = disk_mb(var_dir / ("chroma-server" if server else "ai/chroma"))
                done.write_text(json.dumps(built))
            if server is not None:
                # The server as it starts on a built index (its memory after the build is the build's).
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=60)
                server, url = start_server(var_dir / "chroma-server", port=int(url.rsplit(":", 1)[1]))
                warm_server(url)
                built["server_rss_idle_mb"] = process_memory_mb(server.pid).get("VmRSS", 0)
            if args.recall:
                built.update(run_json(RECALL, [], env, ROOT, timeout=3600))
                print(json.dumps(built), file=sys.stderr, flush=True)
            versions = [("new", ROOT)] + ([("old", old)] if old is not None and size <= args.old_max else [])
            for version, tree in versions:
                print(f"{size:,} tickets, {store_kind}, {version} code: measuring...", file=sys.stderr, flush=True)
                try:
                    measured = run_json(
                        MEASURE,
                        [
                            str(args.queries),
                            str(args.csv),
                            FOREIGN_WRITE,
                            str(args.chat_samples if args.articles else 0),
                        ],
                        env,
                        tree,
                        3 * 3600,
                    )
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    measured = {"error": str(exc)[-500:]}
                if server is not None:
                    memory = process_memory_mb(server.pid)
                    measured["server_rss_mb"], measured["server_peak_mb"] = (
                        memory.get("VmRSS", 0),
                        memory.get("VmHWM", 0),
                    )
                out.append({"tickets": size, "store": store_kind, "code": version, **built, **measured})
                print(json.dumps(out[-1]), file=sys.stderr, flush=True)
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=60)
            if not kept:
                shutil.rmtree(var_dir, ignore_errors=True)
    return out


def table(rows: list[dict]) -> str:
    head = (
        "| tickets | store | code | web process RSS peak / steady (MB) | Chroma server RSS (MB) | first query (ms) "
        "| a foreign write: visible after / that query (ms) | similar p95 employee / agent / admin (ms) "
        "| one embedding p95 (ms) | one routing p95 (ms) | chat p95 (ms) |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['tickets']:,} | {r['store']} | {r['code']} | failed: {r['error'][-120:]!r} |||||||||")
            continue
        server = f"{r['server_rss_mb']:,} (peak {r['server_peak_mb']:,})" if "server_rss_mb" in r else "-"
        visible = r.get("visible_after_write_ms")
        chat = f"{r['chat_p95_ms']:,.0f} ({r['chat_articles']:,} articles)" if "chat_p95_ms" in r else "-"
        lines.append(
            f"| {r['tickets']:,} | {r['store']} | {r['code']} | {r['rss_peak_mb']:,} / {r['rss_end_mb']:,} "
            f"| {server} | {r['first_query_ms']:,.0f} "
            f"| {'not seen' if visible is None else f'{visible:,.0f}'} / {r['after_foreign_write_ms']:,.0f} "
            f"| {r['employee_p95_ms']:.0f} / {r['agent_p95_ms']:.0f} / {r['admin_p95_ms']:.0f} "
            f"| {r['embed_p95_ms']:.0f} | {r['route_p95_ms']:.0f} | {chat} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--with-1m", action="store_true", help="also 1,000,000 tickets (hours to build)")
    parser.add_argument("--server", action="store_true", help="also on a Chroma server (`chroma run`)")
    parser.add_argument("--stores", help="embedded,server (default: embedded, and server with --server)")
    parser.add_argument("--worlds", metavar="DIR", help="keep each built world in DIR/<store>-<size> and reuse it")
    parser.add_argument("--articles", type=int, default=0, help="also this many knowledge-base articles (chat p95)")
    parser.add_argument("--chat-samples", type=int, default=40)
    parser.add_argument("--old", metavar="REV", help="also measure the code of this git revision")
    parser.add_argument("--old-max", type=int, default=100_000, help="largest size measured with --old")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument(
        "--recall", action="store_true", help="also HNSW recall@50 against exact search (200 perturbed queries)"
    )
    parser.add_argument("--csv", default=str(CSV))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.stores = (args.stores or ("embedded,server" if args.server else "embedded")).split(",")
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.with_1m else [])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.main")
    ensure_onnx()
    old = old_checkout(args.old) if args.old else None
    rows: list[dict] = []
    try:
        for size in sizes:
            rows += measure_size(size, args, old)
    finally:
        if old is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)
    print(table(rows))
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
