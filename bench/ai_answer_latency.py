"""Latency of a chatbot answer (extractive path) against routing one ticket, in the same process.

    make bench-ai-answer
    (or: .venv/bin/python bench/ai_answer_latency.py [--sizes 1000,10000] [--runtime onnx] [--json])

On a temporary SQLite database and Chroma index (nothing of var/ is touched):
- routing: the router and label model trained on the shared tickets (all but the last 300), the
  training tickets indexed; each sample is `ai_assist.routing.route_text` as an agent (router,
  agent choice, similar tickets among those the agent may see, the suggestion row);
- chat: the knowledge base holds N published articles: the 100 intranet articles of
  ../shared/data/kb_qa/intranet, and N - 100 filler articles of about 20 sentences each cut from
  the shared tickets' text; indexed by `reindex`'s code (ArticleChunkCorpus.rebuild). Each sample
  is `ai_assist.chat.ask` as an employee (a new conversation: retrieval over the articles an
  employee may read, the answer or the no-answer, the resolved tickets when no article answers,
  the conversation, messages and suggestion rows), with the development set's questions.
Samples alternate (one routing, one chat) so that load on the shared machine hits both alike.
The target: chat p95 at most 3x routing p95. Also the resident memory of the process (RSS) once
each size is loaded. HTTP and authentication are left out: they cost the same for both.

Questions and tickets are embedded on the runtime that serves them (onnx, as `make run` and the
image do: the model is exported once into a temporary folder kept between runs); `--runtime torch`
measures sentence-transformers instead. Unit vectors of the filler are computed once per distinct
sentence (a memo in front of the process's embedder, filled before timing); question and ticket
vectors are computed live.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.routing_world import seed_routing_world  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"
DEFAULT_KB = ROOT.parent / "shared" / "data" / "kb_qa" / "intranet"
SEED = 20261125
# The model exported to ONNX, kept between runs (an export takes about a minute).
ONNX_CACHE = Path(tempfile.gettempdir()) / "helpdesk-bench-onnx"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def stats(samples: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(samples, 0.5) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 1),
        "n": len(samples),
    }


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 0)
    return 0.0


class Memo:
    """The process's embedder with the filler's sentences known in front. Every other text (a
    question, a ticket) is embedded live, every time: a memo of those would leave a second size's
    samples without their embedding, and the comparison without its largest common cost."""

    def __init__(self, inner, known: dict[str, np.ndarray]):
        self.inner, self.known = inner, known
        self.name, self.dim = inner.name, inner.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        live = dict(zip(missing, self.inner.embed(missing), strict=True)) if missing else {}
        return np.asarray([live[t] if t in live else self.known[t] for t in texts], dtype=np.float32).reshape(
            len(texts), self.dim
        )


def run(argv: list[str] | None = None) -> dict:
    """Run the benchmark; print its table and return the structured result (bench/run_all.py calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--kb", default=str(DEFAULT_KB))
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--runtime",
        choices=("onnx", "torch"),
        default="onnx",
        help="the embedding runtime (onnx: what `make run` and the image serve with)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    onnx_dir = ONNX_CACHE
    if args.runtime == "onnx":
        from ai_assist.ml.embed_onnx import is_exported
        from ai_assist.ml.onnx_export import export

        if not is_exported(onnx_dir):
            print(f"exporting the model to {onnx_dir} (once)...", file=sys.stderr, flush=True)
            export(onnx_dir, "", progress=lambda line: print(line, file=sys.stderr, flush=True))

    os.environ.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="true",
        VAR_DIR=tempfile.mkdtemp(prefix="ai-answer-bench-"),
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",
        AI_LLM_MODEL="",
        AI_EMBEDDING_RUNTIME=args.runtime,
        AI_ONNX_MODEL_DIR=str(onnx_dir),
    )
    for name in ("DATABASE_URL", "CHROMA_URL", "REDIS_URL", "AI_LLM_BASE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from accounts.models import Role, User
    from ai_assist import agent_tools, chat, retrieval, routing
    from ai_assist.ml import embed as embed_module
    from ai_assist.ml.data import read_table
    from ai_assist.ml.embed import CachedEmbedder, get_embedder
    from ai_assist.ml.qa_eval import read_jsonl
    from knowledge import policies as kb_policies
    from knowledge.models import Article, Status, Visibility
    from tickets import services as ticket_services

    table = read_table(Path(args.csv))
    train_rows, route_rows = table.rows[:-300], table.rows[-300:]
    embedder = get_embedder("", runtime=args.runtime, onnx_dir=onnx_dir)
    cached = CachedEmbedder(embedder, Path(tempfile.gettempdir()) / "helpdesk-bench-embeddings")
    print("routing: training on the shared tickets...", file=sys.stderr, flush=True)
    train_texts = [row.text for row in train_rows]
    vectors = cached.embed_all(train_texts)
    world = seed_routing_world(train_rows, train_texts, vectors)
    agent = world.busiest_agent
    employee = User.objects.create_user("employee@example.com", role=Role.EMPLOYEE)
    author = User.objects.create_user("author@example.com", role=Role.ADMIN)

    # The knowledge base: the intranet articles and filler cut from the tickets' text.
    intranet = read_jsonl(Path(args.kb) / "corpus.jsonl", ("_id", "text"))
    questions = [q["text"] for q in read_jsonl(Path(args.kb) / "queries.jsonl", ("_id", "text"))]
    words = " ".join(row.body for row in table.rows if row.body).split()
    rng = random.Random(SEED)
    pool = []
    for start in range(0, len(words) - 25, 18):
        sentence = " ".join(words[start : start + rng.randint(12, 24)])
        pool.append(sentence[:1].upper() + sentence[1:] + ".")
    print(f"embedding {len(pool)} filler sentences once...", file=sys.stderr, flush=True)
    known = dict(zip(pool, cached.embed_all(pool), strict=True))
    for key, loaded in list(embed_module._embedders.items()):  # the process's embedder, memoised
        if loaded is embedder:
            embed_module._embedders[key] = Memo(embedder, known)

    def filler(n: int) -> Article:
        body = " ".join(rng.choice(pool) for _ in range(20))
        return Article(
            title=f"Filler article {n}",
            slug=f"filler-{n}",
            body=body,
            author=author,
            updated_by=author,
            status=Status.PUBLISHED,
            visibility=Visibility.EVERYONE,
        )

    Article.objects.bulk_create(
        [
            Article(
                title=row.get("title") or row["_id"],
                slug=f"intranet-{row['_id']}",
                body=row["text"],
                author=author,
                updated_by=author,
                status=Status.PUBLISHED,
                visibility=Visibility.EVERYONE,
            )
            for row in intranet
        ]
    )
    sizes = [int(size) for size in args.sizes.split(",")]
    results = []
    route_samples_all = []
    # Open tickets of the agent's department to draft replies for (made once, untimed).
    open_tickets = [
        ticket_services.ticket_create(
            requester=employee,
            title=row.title or "Help",
            description=row.body or row.title,
            department=agent.department,
        )
        for row in route_rows[:20]
    ]

    def draft(i: int) -> None:
        agent_tools.draft_reply(actor=agent, ticket=open_tickets[i % len(open_tickets)])

    for size in sizes:
        have = Article.objects.count()
        if size > have:
            made = [filler(n) for n in range(have, size)]
            Article.objects.bulk_create(made, batch_size=500)
        started = time.perf_counter()
        articles = Article.objects.filter(kb_policies.articles_ai_reads()).select_related("category").order_by("id")
        units = retrieval.article_corpus().rebuild(articles.iterator(chunk_size=500), batch=256)
        # The server closes its SQLite connection after every request, and the closing connection
        # refreshes the planner's statistics (helpdesk/sqlite): so here, once the data is loaded.
        connection.close()
        built = time.perf_counter() - started
        print(f"{size} articles: {units} units indexed in {built:.0f} s", file=sys.stderr, flush=True)

        def ask(question: str) -> None:
            chat.ask(user=employee, message=question)

        def route(row) -> None:
            routing.route_text(title=row.title, description=row.body, actor=agent)

        for i in range(args.warmup):
            ask(questions[i % len(questions)])
            route(route_rows[i % len(route_rows)])
            draft(i)
        chat_samples, route_samples, draft_samples = [], [], []
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # docs/performance.md: pyinstrument over the timed samples
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        for i in range(args.samples):
            row = route_rows[i % len(route_rows)]
            t0 = time.perf_counter()
            route(row)
            route_samples.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ask(questions[(i * 7) % len(questions)])
            chat_samples.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            draft(i)
            draft_samples.append(time.perf_counter() - t0)
        if profiler is not None:
            profiler.stop()
            Path(os.environ["BENCH_PROFILE"]).write_text(profiler.output_text(unicode=False, color=False))
        route_samples_all += route_samples
        chat_stats, route_stats, draft_stats = stats(chat_samples), stats(route_samples), stats(draft_samples)
        results.append(
            {
                "articles": size,
                "units": units,
                "index_seconds": round(built, 1),
                "chat": chat_stats,
                "route": route_stats,
                "draft": draft_stats,
                "p95_ratio": round(chat_stats["p95_ms"] / route_stats["p95_ms"], 2),
                "draft_p95_ratio": round(draft_stats["p95_ms"] / route_stats["p95_ms"], 2),
                "rss_mb": rss_mb(),
            }
        )
    print(
        f"{'articles':>9}{'units':>9}{'chat p50':>10}{'chat p95':>10}{'draft p50':>11}{'draft p95':>11}"
        f"{'route p50':>11}{'route p95':>11}{'chat/route':>12}{'draft/route':>13}{'RSS MB':>9}"
    )
    for r in results:
        print(
            f"{r['articles']:>9}{r['units']:>9}{r['chat']['p50_ms']:>10}{r['chat']['p95_ms']:>10}"
            f"{r['draft']['p50_ms']:>11}{r['draft']['p95_ms']:>11}"
            f"{r['route']['p50_ms']:>11}{r['route']['p95_ms']:>11}{r['p95_ratio']:>12}{r['draft_p95_ratio']:>13}"
            f"{r['rss_mb']:>9.0f}"
        )
    return {"results": results, "tickets_indexed": len(world.tickets)}


def main() -> None:
    result = run()
    if "--json" in sys.argv[1:]:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
