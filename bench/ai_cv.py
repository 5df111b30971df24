"""5-fold cross-validation of routing and similar-ticket search on the shared tickets.

    make ai-cv        (or: .venv/bin/python bench/ai_cv.py [--csv PATH] [--folds 5] [--json])

Stratified by category (seed 20261125). Each fold trains on four fifths and measures on the
fifth with exactly the code of `manage.py ai_eval` (ai_assist.ml.evaluate; the served path:
ai_assist.similar_eval), so the figures are those of the serving code. Baselines, trained in the
same folds: TF-IDF (word 1-2 grams) + logistic regression for routing; plain BM25 and plain MiniLM
cosine for similar tickets.
Prints mean ± standard deviation over the folds. Embeddings are cached under VAR_DIR/ai.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ai_assist.ml import metrics  # noqa: E402
from ai_assist.ml.data import Table, read_table  # noqa: E402
from ai_assist.ml.embed import CachedEmbedder, get_embedder  # noqa: E402
from ai_assist.ml.evaluate import evaluate_route, evaluate_similar, relevant_rows  # noqa: E402
from ai_assist.similar_eval import evaluate_similar_served  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "it_tickets" / "train.csv"
ROUTE_KEYS = ["accuracy", "macro_f1", "coverage", "accuracy_non_abstained", "ece"]
SIMILAR_KEYS = ["P@1", "P@5", "MRR", "MAP@20"]


def cosine_baseline(train: Table, test: Table, train_vectors, test_vectors) -> dict:
    relevant = relevant_rows(train, test)
    queries = [i for i, rel in enumerate(relevant) if rel]
    scores = test_vectors[queries] @ train_vectors.T
    rankings = [list(np.lexsort((np.arange(len(row)), -row))) for row in scores]
    return metrics.ranking_report(rankings, [relevant[i] for i in queries])


def summary(runs: list[dict], keys: list[str]) -> dict:
    return {key: (float(np.mean([r[key] for r in runs])), float(np.std([r[key] for r in runs]))) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--abstain-below", type=float, default=0.86)
    parser.add_argument("--only", choices=["route", "similar"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--served",
        action="store_true",
        help="similar: through the serving path (ai_eval similar --served: throwaway database and Chroma "
        "index, candidates from HNSW and full-text search) instead of the ranker over the whole fold",
    )
    parser.add_argument("--max-folds", type=int, default=None, help="stop after this many folds (same split)")
    parser.add_argument("--exact-max", type=int, default=None, help="with --served: EXACT_MAX (0: never exact)")
    args = parser.parse_args()
    if args.served:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="helpdesk.settings.main",
            DEBUG="true",
            VAR_DIR=os.environ.get("VAR_DIR", str(ROOT / "var")),
            LOG_LEVEL="WARNING",
            AI_AUTO_ROUTE="false",
            AI_LLM_MODEL="",
        )
        for name in ("DATABASE_URL", "CHROMA_URL", "REDIS_URL", "AI_LLM_BASE_URL"):
            os.environ.pop(name, None)
        import django

        django.setup()

    from sklearn.model_selection import StratifiedKFold

    table = read_table(args.csv)
    var_dir = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    vectors = CachedEmbedder(get_embedder(), var_dir / "ai" / "embeddings").embed_all(table.texts)
    splitter = StratifiedKFold(args.folds, shuffle=True, random_state=20261125)
    runs: dict[str, list[dict]] = {"route": [], "route_base": [], "similar": [], "bm25": [], "cosine": []}
    started = time.perf_counter()
    for fold, (train_rows, test_rows) in enumerate(splitter.split(table.texts, table.labels), 1):
        train = Table(rows=[table.rows[i] for i in train_rows])
        test = Table(rows=[table.rows[i] for i in test_rows])
        if args.only in (None, "route"):
            route = evaluate_route(
                train, test, vectors[train_rows], vectors[test_rows], abstain_below=args.abstain_below
            )
            runs["route"].append(route)
            runs["route_base"].append(route["baseline"])
        if args.only in (None, "similar"):
            if args.served:
                similar = evaluate_similar_served(
                    train, test, vectors[train_rows], vectors[test_rows], exact_max=args.exact_max
                )
            else:
                similar = evaluate_similar(train, test, vectors[train_rows], vectors[test_rows])
            runs["similar"].append(similar)
            runs["bm25"].append(similar["baseline"])
            runs["cosine"].append(cosine_baseline(train, test, vectors[train_rows], vectors[test_rows]))
        print(f"fold {fold}/{args.folds} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        if args.max_folds and fold >= args.max_folds:
            break

    result: dict = {
        "csv": args.csv,
        "rows": len(table.rows),
        "folds": args.folds,
        "abstain_below": args.abstain_below,
        "served": args.served,
    }
    first = f" (the first {args.max_folds})" if args.max_folds else ""
    lines = [f"{args.folds}-fold stratified CV{first} on {args.csv} ({len(table.rows)} rows), mean ± sd over folds"]
    if runs["route"]:
        result["route"] = {
            "ours": summary(runs["route"], ROUTE_KEYS),
            "tfidf_logreg": summary(runs["route_base"], ROUTE_KEYS),
        }
        lines.append(f"\nrouting (abstain below {args.abstain_below})")
        lines.append(f"{'measure':<24}{'ours':>18}{'TF-IDF + LR':>18}")
        for key in ROUTE_KEYS:
            ours, base = result["route"]["ours"][key], result["route"]["tfidf_logreg"][key]
            lines.append(f"{key:<24}{ours[0]:>11.4f} ± {ours[1]:.3f}{base[0]:>11.4f} ± {base[1]:.3f}")
    if runs["similar"]:
        result["similar"] = {
            "ours": summary(runs["similar"], SIMILAR_KEYS),
            "bm25": summary(runs["bm25"], SIMILAR_KEYS),
            "minilm_cosine": summary(runs["cosine"], SIMILAR_KEYS),
        }
        lines.append(f"\nsimilar tickets ({int(np.mean([r['queries'] for r in runs['similar']]))} queries per fold)")
        lines.append(f"{'measure':<12}{'ours':>18}{'BM25':>18}{'MiniLM cosine':>18}")
        for key in SIMILAR_KEYS:
            cells = [result["similar"][name][key] for name in ("ours", "bm25", "minilm_cosine")]
            lines.append(f"{key:<12}" + "".join(f"{m:>11.4f} ± {s:.3f}" for m, s in cells))
    print("\n".join(lines))
    if args.json:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
