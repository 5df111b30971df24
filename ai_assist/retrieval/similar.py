"""Similar-ticket search: candidates from the engines, limited to a scope, then ranked.

The label model (the current trained models) predicts the query's fine label first; the corpus
gathers the candidates the scope allows (ai_assist.retrieval.tickets: the scope's own tickets when
it is small, else Chroma's nearest neighbours and more tickets of the LABELS_FETCHED likeliest
labels); SimilarRanker (BM25 + cosine + the label model's list
planner) then ranks those candidates only. Nothing is kept per process but the models.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from ai_assist import retrieval, store
from ai_assist.ml.similar import PLAN_OPTIONS, LabelModel, SimilarRanker

if TYPE_CHECKING:
    from tickets.models import Ticket
    from tickets.policies import TicketScope

logger = logging.getLogger(__name__)

LABELS_FETCHED = PLAN_OPTIONS  # the planner weighs the 4 likeliest groups for every place


def likely_labels(
    label_model: LabelModel | None, log_proba: np.ndarray | None, count: int = LABELS_FETCHED
) -> list[str]:
    """The `count` likeliest fine labels of the query, likeliest first."""
    if label_model is None or log_proba is None or not len(log_proba):
        return []
    order = np.lexsort((np.arange(len(log_proba)), -log_proba))[:count]
    return [label_model.labels[i] for i in order.tolist()]


def rank_in_scope(
    *,
    scope: TicketScope,
    text: str,
    title: str,
    embedding: np.ndarray,
    limit: int | None = 10,
    exclude: tuple[str, ...] = (),
    label_model: LabelModel | None = None,
) -> list[tuple[str, float]]:
    """(ticket id, score) best first among the candidates `scope` allows (ids not read back)."""
    label_model = label_model if label_model is not None and label_model.labels else None
    log_proba = None
    if label_model is not None:
        log_proba = label_model.log_proba([text], [title], np.asarray(embedding).reshape(1, -1))[0]
    # No full-text leg: a whole ticket's words OR'ed match a quarter to three quarters of all
    # tickets (100-560 ms at 100k, decision 0033); the label model's groups and the nearest find
    # what it would. BM25 still scores the candidates, below.
    found = retrieval.ticket_corpus().candidates(
        scope=scope, embedding=embedding, labels=likely_labels(label_model, log_proba), exclude=exclude
    )
    if not len(found):
        return []
    if found.vectors.shape[1] != len(embedding):
        logger.warning(
            "The ticket index holds %d-dimensional vectors but the embedder gives %d: run manage.py reindex.",
            found.vectors.shape[1],
            len(embedding),
        )
        return []
    ranker = SimilarRanker(label_model).set_corpus(found.texts, found.labels, found.vectors)
    ranked = ranker.rank(text, title, embedding, limit=limit, log_proba=log_proba)
    return [(found.ids[row], score) for row, score in ranked]


def similar_tickets(
    *,
    scope: TicketScope,
    text: str,
    title: str,
    embedding: np.ndarray,
    limit: int = 10,
    exclude: tuple[str, ...] = (),
) -> list[tuple[Ticket, float]]:
    """(ticket, score) best first, among the tickets `scope` (tickets.policies) allows."""
    from tickets.models import Ticket

    models = store.current_models()
    ranked = rank_in_scope(
        scope=scope,
        text=text,
        title=title,
        embedding=embedding,
        limit=limit,
        exclude=exclude,
        label_model=models.label_model if models is not None else None,
    )
    if not ranked:
        return []
    # Read back through the same scope: a ticket that changed hands since indexing stays hidden.
    tickets = Ticket.objects.filter(scope.q, pk__in=[pk for pk, _ in ranked]).select_related("department").in_bulk()
    return [(tickets[pk], score) for pk, score in ranked if pk in tickets]
