"""A web process's memory and chat latency as the knowledge base grows (issue 23; decision 0035).

    .venv/bin/python bench/ai_kb_scale.py build --var DIR --articles 10000
    .venv/bin/python bench/ai_kb_scale.py ask --var DIR [--samples 100] [--json]

`build` makes a SQLite database and an embedded Chroma index under DIR: the 100 intranet articles
of ../shared/data/kb_qa/intranet and synthetic filler articles of 20 sentences each cut from the
shared tickets' text (as bench/ai_answer_latency.py makes them, same seed; their sentence vectors
computed once and kept in the same cache), all published for everyone, indexed by `reindex`'s code.

`ask` is a fresh process, as a web worker starts: Django, the embedder, then one chat question
(`ai_assist.chat.ask` as an employee) and the resident memory (RSS) after it, then `--samples`
more questions of the development set and their p50/p95. Run it from another checkout against
the same DIR to compare code (the index's records are the same before and after issue 23).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"
DEFAULT_KB = ROOT.parent / "shared" / "data" / "kb_qa" / "intranet"
SEED = 20261125
EMBEDDINGS_CACHE = Path(tempfile.gettempdir()) / "helpdesk-bench-embeddings"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 0)
    return 0.0


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def setup(var: Path, onnx_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
        DEBUG="true",
        VAR_DIR=str(var),
        LOG_LEVEL="WARNING",
        AI_AUTO_ROUTE="false",
        AI_LLM_MODEL="",
        AI_EMBEDDING_RUNTIME="onnx",
        AI_ONNX_MODEL_DIR=onnx_dir,
    )
    for name in ("DATABASE_URL", "CHROMA_URL", "REDIS_URL", "AI_LLM_BASE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def build(args) -> None:
    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import Role, User
    from ai_assist import retrieval
    from ai_assist.ml import embed as embed_module
    from ai_assist.ml.data import read_table
    from ai_assist.ml.embed import CachedEmbedder, get_embedder
    from ai_assist.ml.qa_eval import read_jsonl
    from bench.ai_answer_latency import Memo
    from knowledge.models import Article, Status, Visibility

    table = read_table(Path(args.csv))
    embedder = get_embedder("", runtime="onnx", onnx_dir=Path(args.onnx))
    cached = CachedEmbedder(embedder, EMBEDDINGS_CACHE)
    words = " ".join(row.body for row in table.rows if row.body).split()
    rng = random.Random(SEED)
    pool = []
    for start in range(0, len(words) - 25, 18):
        sentence = " ".join(words[start : start + rng.randint(12, 24)])
        pool.append(sentence[:1].upper() + sentence[1:] + ".")
    print(f"embedding {len(pool)} filler sentences (cached)...", file=sys.stderr, flush=True)
    known = dict(zip(pool, np.asarray(cached.embed_all(pool)), strict=True))
    for key, loaded in list(embed_module._embedders.items()):
        if loaded is embedder:
            embed_module._embedders[key] = Memo(embedder, known)
    author = User.objects.create_user("author@example.com", role=Role.ADMIN)
    User.objects.create_user("employee@example.com", role=Role.EMPLOYEE)
    intranet = read_jsonl(Path(args.kb) / "corpus.jsonl", ("_id", "text"))
    made = [
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
    made += [
        Article(
            title=f"Filler article {n}",
            slug=f"filler-{n}",
            body=" ".join(rng.choice(pool) for _ in range(20)),
            author=author,
            updated_by=author,
            status=Status.PUBLISHED,
            visibility=Visibility.EVERYONE,
        )
        for n in range(len(made), args.articles)
    ]
    Article.objects.bulk_create(made, batch_size=500)
    started = time.perf_counter()
    articles = Article.objects.select_related("category").order_by("id")
    units = retrieval.article_corpus().rebuild(articles.iterator(chunk_size=500), batch=256)
    # The server's closing connections keep the planner's statistics (helpdesk/sqlite, decision
    # 0022); a bulk load has none until then: so here, once the data is loaded.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{args.articles} articles: {units} units in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def ask(args) -> dict:
    from accounts.models import User
    from ai_assist import chat, embeddings
    from ai_assist.ml.qa_eval import read_jsonl
    from knowledge.models import Article

    questions = [q["text"] for q in read_jsonl(Path(args.kb) / "queries.jsonl", ("_id", "text"))]
    employee = User.objects.get(email="employee@example.com")
    embeddings.embed_one("warm up the embedder")
    before = rss_mb()
    t0 = time.perf_counter()
    chat.ask(user=employee, message=questions[0])
    first = time.perf_counter() - t0
    after_one = rss_mb()
    samples = []
    for i in range(args.samples):
        t0 = time.perf_counter()
        chat.ask(user=employee, message=questions[(i * 7 + 1) % len(questions)])
        samples.append(time.perf_counter() - t0)
    return {
        "articles": Article.objects.count(),
        "rss_before_mb": before,
        "rss_after_first_question_mb": after_one,
        "rss_after_samples_mb": rss_mb(),
        "first_question_ms": round(first * 1000, 1),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("build", "ask"))
    parser.add_argument("--var", required=True)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--kb", default=str(DEFAULT_KB))
    parser.add_argument("--onnx", default=os.environ.get("AI_ONNX_MODEL_DIR", ""), help="an exported model folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.onnx:
        parser.error("--onnx (or AI_ONNX_MODEL_DIR): a folder `manage.py export_onnx` wrote")
    setup(Path(args.var).resolve(), args.onnx)
    if args.step == "build":
        build(args)
        return
    result = ask(args)
    print(json.dumps(result) if args.json else "\n".join(f"{k:28} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
