"""Similar-ticket search over the ticket corpus, limited to a scope before ranking.

The ranker (ai_assist.ml.similar.SimilarRanker: BM25 + cosine + the label model) is built over
the current snapshot and the current trained models, and rebuilt when either is replaced.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import numpy as np

from ai_assist import retrieval, store
from ai_assist.ml.similar import SimilarRanker
from ai_assist.retrieval.tickets import TicketSnapshot

if TYPE_CHECKING:
    from tickets.models import Ticket
    from tickets.policies import TicketScope

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (snapshot, models, ranker): rebuilt when either object is replaced (compared by identity).
_ranker: tuple[TicketSnapshot, object, SimilarRanker] | None = None


def ranker() -> tuple[TicketSnapshot, SimilarRanker]:
    """The ranker over the current snapshot (rebuilt when the index or the models changed)."""
    global _ranker
    snapshot = retrieval.ticket_corpus().snapshot()
    models = store.current_models()
    entry = _ranker  # one read: another thread may replace the global meanwhile
    if entry is None or entry[0] is not snapshot or entry[1] is not models:
        with _lock:
            entry = _ranker
            if entry is None or entry[0] is not snapshot or entry[1] is not models:
                built = SimilarRanker(models.label_model if models is not None else None)
                built.set_corpus(snapshot.texts, snapshot.labels, snapshot.vectors)
                entry = (snapshot, models, built)
                _ranker = entry
    return entry[0], entry[2]


def reset() -> None:
    global _ranker
    _ranker = None


def similar_tickets(
    *,
    scope: TicketScope,
    text: str,
    title: str,
    embedding: np.ndarray,
    limit: int = 10,
    exclude: tuple[str, ...] = (),
) -> list[tuple[Ticket, float]]:
    """(ticket, score) best first, among the tickets `scope` (tickets.policies) allows; its
    candidate mask is reused until any ticket changes."""
    from tickets.models import Ticket

    corpus = retrieval.ticket_corpus()
    if not corpus.snapshot().ids:
        return []
    snapshot, ranking = ranker()
    if not snapshot.ids:
        return []
    if snapshot.vectors.shape[1] != len(embedding):
        logger.warning(
            "The ticket index holds %d-dimensional vectors but the embedder gives %d: run manage.py reindex.",
            snapshot.vectors.shape[1],
            len(embedding),
        )
        return []
    mask = corpus.candidates(snapshot, scope)
    if exclude:
        mask = mask.copy()
        excluded = set(exclude)
        for row, ticket_id in enumerate(snapshot.ids):
            if ticket_id in excluded:
                mask[row] = False
    if not mask.any():
        return []
    ranked = ranking.rank(text, title, embedding, mask=mask, limit=limit)
    ids = [snapshot.ids[row] for row, _ in ranked]
    # Read back through the same scope: a ticket that changed hands since indexing stays hidden.
    tickets = Ticket.objects.filter(scope.q, pk__in=ids).select_related("department").in_bulk()
    return [(tickets[snapshot.ids[row]], score) for row, score in ranked if snapshot.ids[row] in tickets]
