"""The two evaluations (routing, similar tickets): ours and an in-run baseline, trained only on
TRAIN and measured on TEST. `manage.py ai_eval` and `bench/ai_cv.py` both call these."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

from ai_assist.ml import metrics
from ai_assist.ml.bm25 import BM25
from ai_assist.ml.data import Table
from ai_assist.ml.pipeline import train_models
from ai_assist.ml.similar import LabelModel, SimilarRanker


def titles(table: Table) -> list[str]:
    return [row.title for row in table.rows]


def evaluate_route(
    train: Table,
    test: Table,
    train_vectors: np.ndarray,
    test_vectors: np.ndarray,
    *,
    abstain_below: float,
    progress: Callable | None = None,
) -> dict:
    started = time.perf_counter()
    models = train_models(
        texts=train.texts,
        titles=titles(train),
        labels=train.labels,
        fine_labels=[""] * len(train.rows),  # routing needs no label model
        embeddings=train_vectors,
        progress=progress,
    )
    proba = models.router.predict_proba(test.texts, titles(test), test_vectors)
    classes = np.asarray(models.router.classes, dtype=object)
    predicted = list(classes[proba.argmax(axis=1)])
    ours = metrics.routing_report(test.labels, predicted, proba.max(axis=1), abstain_below=abstain_below)
    ours["seconds"] = round(time.perf_counter() - started, 1)
    baseline = baseline_route(train, test, abstain_below=abstain_below)
    return {**ours, "abstain_below": abstain_below, "model": models.name, "baseline": baseline}


def baseline_route(train: Table, test: Table, *, abstain_below: float) -> dict:
    """TF-IDF word 1-2 grams + logistic regression, scikit-learn defaults."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectoriser = TfidfVectorizer(ngram_range=(1, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=2000).fit(vectoriser.fit_transform(train.texts), train.labels)
    proba = model.predict_proba(vectoriser.transform(test.texts))
    predicted = list(model.classes_[proba.argmax(axis=1)])
    report = metrics.routing_report(test.labels, predicted, proba.max(axis=1), abstain_below=abstain_below)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["model"] = "tfidf-1-2gram-logreg"
    return report


def relevant_rows(train: Table, test: Table) -> list[set[int]]:
    by_label: dict[str, set[int]] = {}
    for i, label in enumerate(train.fine_labels):
        by_label.setdefault(label, set()).add(i)
    return [by_label.get(label, set()) for label in test.fine_labels]


def evaluate_similar(
    train: Table,
    test: Table,
    train_vectors: np.ndarray,
    test_vectors: np.ndarray,
    *,
    progress: Callable | None = None,
) -> dict:
    started = time.perf_counter()
    label_model = LabelModel().fit(train.texts, titles(train), train.fine_labels, train_vectors, progress=progress)
    ranker = SimilarRanker(label_model).set_corpus(train.texts, train.fine_labels, train_vectors)
    relevant = relevant_rows(train, test)
    queries = [i for i, rel in enumerate(relevant) if rel]
    log_proba = label_model.log_proba(
        [test.texts[i] for i in queries], [test.rows[i].title for i in queries], test_vectors[queries]
    )
    rankings = []
    for n, i in enumerate(queries):
        ranked = ranker.rank(test.texts[i], test.rows[i].title, test_vectors[i], limit=None, log_proba=log_proba[n])
        rankings.append([row for row, _ in ranked])
    ours = metrics.ranking_report(rankings, [relevant[i] for i in queries])
    ours["seconds"] = round(time.perf_counter() - started, 1)
    baseline = baseline_similar(train, test, relevant, queries)
    return {**ours, "model": ranker.name, "baseline": baseline}


def baseline_similar(train: Table, test: Table, relevant: list[set[int]], queries: list[int]) -> dict:
    """Plain Okapi BM25 over the same word tokens (k1 1.5, b 0.75: rank_bm25's BM25Okapi; our
    sparse implementation gives the same scores, tests/ai_assist/test_ml.py checks it, in a
    fraction of the time)."""
    started = time.perf_counter()
    bm25 = BM25().fit(train.texts)
    rankings = []
    for i in queries:
        scores = bm25.scores(test.texts[i])
        rankings.append(list(np.lexsort((np.arange(len(scores)), -scores))))
    report = metrics.ranking_report(rankings, [relevant[i] for i in queries])
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["model"] = "bm25-okapi"
    return report
