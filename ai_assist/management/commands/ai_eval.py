"""manage.py ai_eval route|similar --train TRAIN.csv --test TEST.csv [--json]
manage.py ai_eval answer --corpus corpus.jsonl --queries queries.jsonl --qrels qrels.tsv
                         [--unanswerable other_queries.jsonl] [--json]

route, similar: trains on TRAIN only, measures on TEST, beside a baseline trained in the same run.
answer: the chatbot end to end on a BEIR-format set, in a throwaway database and index
(ai_assist.answer_eval), beside plain BM25 over whole articles.
Prints a table (with --json, also one JSON object on the last line). Runs the code that serves the API.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai_assist import embeddings
from ai_assist.management.commands._columns import add_column_arguments, columns_from
from ai_assist.ml.data import ColumnsMissing, read_table
from ai_assist.ml.evaluate import evaluate_route, evaluate_similar
from ai_assist.similar_eval import evaluate_similar_served

ROUTE_KEYS = ["accuracy", "macro_f1", "coverage", "accuracy_non_abstained", "ece"]
SIMILAR_KEYS = ["P@1", "P@5", "MRR", "MAP@20", "queries"]


class Command(BaseCommand):
    help = "Evaluate routing or similar-ticket search on a labelled CSV split, against an in-run baseline."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=["route", "similar", "answer"])
        parser.add_argument("--train", help="route, similar: CSV to train on (and, for similar, to rank).")
        parser.add_argument("--test", help="route, similar: CSV to measure on.")
        parser.add_argument("--corpus", help="answer: corpus.jsonl ({_id, title, text} per line).")
        parser.add_argument("--queries", help="answer: queries.jsonl ({_id, text[, answer, alternative_answers]}).")
        parser.add_argument("--qrels", help="answer: qrels.tsv (header: query-id, corpus-id, score).")
        parser.add_argument(
            "--unanswerable", help="answer: queries.jsonl of questions the corpus cannot answer (no-answer expected)."
        )
        parser.add_argument("--json", action="store_true", help="Also print one JSON object on the last line.")
        parser.add_argument(
            "--served",
            action="store_true",
            help="similar: rank through the serving path (a throwaway database and Chroma index; "
            "candidates from HNSW and full-text search), not the ranker over the whole TRAIN.",
        )
        parser.add_argument(
            "--exact-max",
            type=int,
            default=None,
            help="similar --served: a scope of at most this many tickets is ranked exactly (0: never).",
        )
        parser.add_argument(
            "--abstain-below",
            type=float,
            default=None,
            help="Routing threshold (default: the configured AI_ROUTER_ABSTAIN_BELOW).",
        )
        add_column_arguments(parser)

    def handle(self, *args, task: str, **options):
        quiet = options["verbosity"] < 1
        if task == "answer":
            return self.answer(quiet=quiet, **options)
        for role in ("train", "test"):
            if not options[role]:
                raise CommandError(f"{task} needs --train and --test.")
        columns = columns_from(options)
        tables = {}
        for role in ("train", "test"):
            path = Path(options[role])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            try:
                tables[role] = read_table(path, columns)
            except ColumnsMissing as exc:
                raise CommandError(str(exc)) from None
            for line, message in tables[role].errors:
                self.stderr.write(f"{path}:{line}: skipped: {message}")
            if not tables[role].rows:
                raise CommandError(f"{path} has no usable rows.")
        vectors = {
            role: embeddings.embed_many(
                table.texts,
                progress=lambda steps, role=role: tqdm(steps, desc=f"Embedding {role}", unit="batch", disable=quiet),
            )
            for role, table in tables.items()
        }

        def folds(steps):
            return tqdm(steps, desc="Training (cross-validated folds)", unit="fold", disable=quiet)

        if task == "route":
            threshold = (
                settings.AI_ROUTER_ABSTAIN_BELOW if options["abstain_below"] is None else options["abstain_below"]
            )
            result = evaluate_route(
                tables["train"],
                tables["test"],
                vectors["train"],
                vectors["test"],
                abstain_below=threshold,
                progress=folds,
            )
            keys = ROUTE_KEYS
        elif options["served"]:
            result = evaluate_similar_served(
                tables["train"],
                tables["test"],
                vectors["train"],
                vectors["test"],
                exact_max=options["exact_max"],
                progress=folds,
            )
            keys = SIMILAR_KEYS
        else:
            result = evaluate_similar(
                tables["train"], tables["test"], vectors["train"], vectors["test"], progress=folds
            )
            keys = SIMILAR_KEYS
        result = {
            "task": task,
            "train": str(options["train"]),
            "test": str(options["test"]),
            "train_rows": len(tables["train"].rows),
            "test_rows": len(tables["test"].rows),
            **result,
        }
        self.stdout.write(render_table(result, keys))
        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))

    def answer(self, *, quiet: bool, **options) -> None:
        from ai_assist.answer_eval import evaluate_answers
        from ai_assist.ml.qa_eval import BadFile, queries_of, read_jsonl, read_set

        paths = {}
        for name in ("corpus", "queries", "qrels", "unanswerable"):
            if options[name]:
                paths[name] = Path(options[name])
                if not paths[name].is_file():
                    raise CommandError(f"No such file: {paths[name]}")
            elif name != "unanswerable":
                raise CommandError("answer needs --corpus, --queries and --qrels.")
        try:
            qa = read_set(paths["corpus"], paths["queries"], paths["qrels"])
            unanswerable = (
                queries_of(read_jsonl(paths["unanswerable"], ("_id", "text"))) if "unanswerable" in paths else None
            )
        except BadFile as exc:
            raise CommandError(str(exc)) from None
        if not qa.corpus or not qa.queries:
            raise CommandError("The corpus and the queries need at least one row each.")

        def progress(items, label):
            return tqdm(items, desc=label, unit="row", disable=quiet)

        result = evaluate_answers(qa, unanswerable=unanswerable, progress=progress)
        self.stdout.write(render_answer_table(result))
        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))


def render_answer_table(result: dict) -> str:
    baseline = result["baseline"]
    lines = [
        f"answer: {result['articles']} articles, {result['queries']} questions ({result['judged']} with qrels), "
        f"{result['unanswerable_queries']} unanswerable",
        f"{'measure':<24}{'ours':>10}{'baseline':>10}{'diff':>9}",
    ]
    for key in ("R@1", "R@5", "MRR@10"):
        lines.append(f"{key:<24}{result[key]:>10.4f}{baseline[key]:>10.4f}{result[key] - baseline[key]:>+9.4f}")
    for key in ("answered", "answer_hit", "no_answer", "citation_valid"):
        value = result[key]
        lines.append(f"{key:<24}{'n/a' if value is None else format(value, '.4f'):>10}")
    lines.append(f"{'p50_ms':<24}{result['p50_ms']:>10.1f}")
    lines.append(f"{'p95_ms':<24}{result['p95_ms']:>10.1f}")
    lines.append(f"{'model':<24}{result['model']}  vs  {baseline['model']}")
    return "\n".join(lines)


def render_table(result: dict, keys: list[str]) -> str:
    baseline = result["baseline"]
    lines = [
        f"{result['task']}: trained on {result['train_rows']} rows, measured on {result['test_rows']} rows",
        f"{'measure':<24}{'ours':>10}{'baseline':>10}{'diff':>9}",
    ]
    for key in keys:
        ours, base = result[key], baseline[key]
        if isinstance(ours, int):
            lines.append(f"{key:<24}{ours:>10d}{base:>10d}")
        else:
            lines.append(f"{key:<24}{ours:>10.4f}{base:>10.4f}{ours - base:>+9.4f}")
    lines.append(f"{'model':<24}{result['model']}  vs  {baseline['model']}")
    if "abstain_below" in result:
        lines.append(f"{'abstain below':<24}{result['abstain_below']:.2f}")
    return "\n".join(lines)
