"""`manage.py ai_eval similar --served` (and bench/ai_cv.py): the similar-ticket measures through the
serving path, in a throwaway database and Chroma index (ai_assist.answer_eval.throwaway). The
ranker-only evaluation and the baseline are pure code, in ai_assist.ml.evaluate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ai_assist.ml import metrics
from ai_assist.ml.data import Table
from ai_assist.ml.evaluate import baseline_similar, relevant_rows, titles
from ai_assist.ml.similar import LabelModel, SimilarRanker


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
    relevant = relevant_rows(train, test)
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
            label_model = LabelModel().fit(train.texts, titles(train), labels, train_vectors, progress=progress)
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
