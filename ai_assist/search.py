"""Similar-ticket search over the index, limited to what the caller may see before ranking."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import numpy as np
from django.db.models import Q

from ai_assist import index, store
from ai_assist.ml.similar import SimilarRanker

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# (corpus, models, ranker): rebuilt when either object is replaced (compared by identity).
_ranker: tuple[index.TicketCorpus, object, SimilarRanker] | None = None
_masks_lock = threading.Lock()
# Candidate masks by (tickets generation, corpus generation, caller scope): the visible-id query
# runs again as soon as any ticket changes (tickets.services bumps the generation on every write).
_masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
MASKS_KEPT = 256


def ranker() -> tuple[index.TicketCorpus, SimilarRanker]:
    """The ranker over the current corpus (rebuilt when the index or the models changed)."""
    global _ranker
    corpus = index.corpus()
    models = store.current_models()
    entry = _ranker  # one read: another thread may replace the global meanwhile
    if entry is None or entry[0] is not corpus or entry[1] is not models:
        with _lock:
            entry = _ranker
            if entry is None or entry[0] is not corpus or entry[1] is not models:
                built = SimilarRanker(models.label_model if models is not None else None)
                built.set_corpus(corpus.texts, corpus.labels, corpus.vectors)
                entry = (corpus, models, built)
                _ranker = entry
    return corpus, entry[2]


def reset() -> None:
    global _ranker
    _ranker = None
    _masks.clear()


def scope_key_of(user) -> str:
    """What visible_tickets(user) depends on: who, their role and their department."""
    return f"user:{user.pk}:{user.role}:{user.department_id or ''}"


def candidate_mask(corpus: index.TicketCorpus, scope: Q, scope_key: str | None) -> np.ndarray:
    """Which corpus rows the scope allows, from the database (the policy is the one source)."""
    from tickets import selectors
    from tickets.models import Ticket

    key = (selectors.generation(), corpus.generation, id(corpus), scope_key) if scope_key else None
    if key is not None:
        with _masks_lock:
            cached = _masks.get(key)
            if cached is not None:
                _masks.move_to_end(key)
                return cached
    visible = set(Ticket.objects.filter(scope).values_list("id", flat=True))
    mask = np.fromiter((ticket_id in visible for ticket_id in corpus.ids), dtype=bool, count=len(corpus.ids))
    if key is not None:
        with _masks_lock:
            _masks[key] = mask
            while len(_masks) > MASKS_KEPT:
                _masks.popitem(last=False)
    return mask


def similar_tickets(
    *,
    scope: Q,
    text: str,
    title: str,
    embedding: np.ndarray,
    limit: int = 10,
    exclude: tuple[str, ...] = (),
    scope_key: str | None = None,
) -> list[tuple[object, float]]:
    """(ticket, score) best first, among the tickets `scope` (a visibility Q) allows. With a
    `scope_key` naming what the scope depends on, its mask is reused until any ticket changes."""
    from tickets.models import Ticket

    if not index.corpus().ids:
        return []
    corpus, ranking = ranker()
    if not corpus.ids:
        return []
    if corpus.vectors.shape[1] != len(embedding):
        logger.warning(
            "The ticket index holds %d-dimensional vectors but the embedder gives %d: run manage.py reindex.",
            corpus.vectors.shape[1],
            len(embedding),
        )
        return []
    mask = candidate_mask(corpus, scope, scope_key)
    if exclude:
        mask = mask.copy()
        excluded = set(exclude)
        for row, ticket_id in enumerate(corpus.ids):
            if ticket_id in excluded:
                mask[row] = False
    if not mask.any():
        return []
    ranked = ranking.rank(text, title, embedding, mask=mask, limit=limit)
    ids = [corpus.ids[row] for row, _ in ranked]
    # Read back through the same scope: a ticket that changed hands since indexing stays hidden.
    tickets = Ticket.objects.filter(scope, pk__in=ids).select_related("department").in_bulk()
    return [(tickets[corpus.ids[row]], score) for row, score in ranked if corpus.ids[row] in tickets]
