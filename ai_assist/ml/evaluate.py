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


def _titles(table: Table) -> list[str]:
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
        titles=_titles(train),
        labels=train.labels,
        fine_labels=[""] * len(train.rows),  # routing needs no label model
        embeddings=train_vectors,
        progress=progress,
    )
    proba = models.router.predict_proba(test.texts, _titles(test), test_vectors)
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


def _relevant(train: Table, test: Table) -> list[set[int]]:
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
    label_model = LabelModel().fit(train.texts, _titles(train), train.fine_labels, train_vectors, progress=progress)
    ranker = SimilarRanker(label_model).set_corpus(train.texts, train.fine_labels, train_vectors)
    relevant = _relevant(train, test)
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


def evaluate_similar_served(
    train: Table,
    test: Table,
    train_vectors: np.ndarray,
    test_vectors: np.ndarray,
    *,
    exact_max: int | None = None,
    progress: Callable | None = None,
) -> dict:
    """The similar-ticket measures through the serving path (`ai_eval similar --served`): in a
    throwaway database and embedded Chroma index (ai_assist.answer_eval.throwaway), TRAIN becomes
    resolved tickets (one department per category, the finer labels as the category, as
    import_tickets makes them; written in bulk) indexed with their vectors, the label model is
    trained on their labels, and every TEST query is answered by
    ai_assist.retrieval.similar.rank_in_scope as an admin (scope: every ticket), which gathers the
    candidates from Chroma's HNSW index and the full-text index and ranks those. `exact_max`
    overrides ai_assist.retrieval.tickets.EXACT_MAX (0: never the exact path). The ranked list is
    every candidate (limit None), as the ranker-only evaluation ranks the whole corpus."""
    from django.db import connection

    from accounts.models import Department, Role, User
    from ai_assist import retrieval
    from ai_assist.answer_eval import throwaway
    from ai_assist.retrieval import similar
    from ai_assist.retrieval import tickets as ticket_corpus
    from ai_assist.retrieval.tickets import ticket_label
    from tickets import policies
    from tickets.models import Status, Ticket

    started = time.perf_counter()
    relevant = _relevant(train, test)
    queries = [i for i, rel in enumerate(relevant) if rel]
    saved = ticket_corpus.EXACT_MAX
    path = ""
    with throwaway():
        if exact_max is not None:
            ticket_corpus.EXACT_MAX = exact_max
        try:
            admin = User.objects.create(email="ai-eval-admin@example.invalid", role=Role.ADMIN, is_active=True)
            requester = User.objects.create(email="ai-eval-requester@example.invalid", role=Role.EMPLOYEE)
            departments = {
                label: Department.objects.create(name=f"Category {label}"[:80])
                for label in sorted({row.label for row in train.rows})
            }
            corpus = retrieval.ticket_corpus()
            made = Ticket.objects.bulk_create(
                [
                    Ticket(
                        title=(row.title or row.body[:80] or "(no title)")[:200],
                        description=row.body or row.title,
                        public_text=f"{row.title}\n{row.body}",
                        category=row.category,
                        department=departments[row.label],
                        requester=requester,
                        status=Status.RESOLVED,
                        external_id=f"eval-{i}",
                    )
                    for i, row in enumerate(train.rows)
                ],
                batch_size=500,
            )
            row_of = {ticket.pk: i for i, ticket in enumerate(made)}
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:  # planner statistics, as a server's connections keep (0022)
                    cursor.execute("ANALYZE")
            tickets = Ticket.objects.in_bulk(list(row_of))
            ordered = [tickets[pk] for pk in sorted(row_of, key=row_of.get)]
            for start in range(0, len(ordered), 500):
                corpus.upsert(ordered[start : start + 500], vectors=train_vectors[start : start + 500])
            labels = [ticket_label(ticket.department_id, ticket.category) for ticket in ordered]
            label_model = LabelModel().fit(train.texts, _titles(train), labels, train_vectors, progress=progress)
            scope = policies.retrieval_scope(admin)
            rankings = []
            # An admin sees every ticket: the exact path when they fit EXACT_MAX, else the index path.
            path = "exact" if len(ordered) <= ticket_corpus.EXACT_MAX else "index"
            for i in queries:
                ranked = similar.rank_in_scope(
                    scope=scope,
                    text=test.texts[i],
                    title=test.rows[i].title,
                    embedding=test_vectors[i],
                    limit=None,
                    label_model=label_model,
                )
                rankings.append([row_of[pk] for pk, _ in ranked])
        finally:
            ticket_corpus.EXACT_MAX = saved
    ours = metrics.ranking_report(rankings, [relevant[i] for i in queries])
    ours["seconds"] = round(time.perf_counter() - started, 1)
    ours["candidates"] = round(float(np.mean([len(r) for r in rankings])), 1) if rankings else 0.0
    ours["path"] = path
    baseline = baseline_similar(train, test, relevant, queries)
    return {**ours, "model": SimilarRanker.name + " (served: HNSW + full text)", "baseline": baseline}
