"""manage.py ai_eval route|similar --train TRAIN.csv --test TEST.csv [--json]

Trains on TRAIN only, measures on TEST, beside a baseline trained in the same run, and prints a
table (with --json, also one JSON object on the last line). Runs the classes that serve the API.
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

ROUTE_KEYS = ["accuracy", "macro_f1", "coverage", "accuracy_non_abstained", "ece"]
SIMILAR_KEYS = ["P@1", "P@5", "MRR", "MAP@20", "queries"]


class Command(BaseCommand):
    help = "Evaluate routing or similar-ticket search on a labelled CSV split, against an in-run baseline."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=["route", "similar"])
        parser.add_argument("--train", required=True, help="CSV to train on (and, for similar, to rank).")
        parser.add_argument("--test", required=True, help="CSV to measure on.")
        parser.add_argument("--json", action="store_true", help="Also print one JSON object on the last line.")
        parser.add_argument(
            "--abstain-below",
            type=float,
            default=None,
            help="Routing threshold (default: the configured AI_ROUTER_ABSTAIN_BELOW).",
        )
        add_column_arguments(parser)

    def handle(self, *args, task: str, **options):
        quiet = options["verbosity"] < 1
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
