"""The ticket corpus: collection `helpdesk_tickets`, one vector per ticket.

A ticket's document is its public text (title, description and public replies; internal notes
are never indexed); its metadata says department, requester, assignee, status, visibility and the
fine label (department and category) that similar-ticket ranking learns from. Which rows an asker
may see is never read from that metadata: `candidates` asks the database through the scope that
tickets.policies computes, before anything is ranked, and hits are read back through it too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ai_assist import embeddings
from ai_assist.ml.compose import Passage
from ai_assist.ml.similar import LEVEL_SEPARATOR, UNKNOWN
from ai_assist.ml.text import ticket_text
from ai_assist.retrieval.corpus import Corpus, vectors_of

if TYPE_CHECKING:
    from tickets.models import Ticket
    from tickets.policies import TicketScope

TICKETS = "helpdesk_tickets"
MAX_DOCUMENT_CHARS = 8_000  # the embedder reads about 256 tokens; BM25 a little more
MASKS_KEPT = 256


def ticket_label(department_id: str | None, category: str) -> str:
    """The fine label of a ticket: department, then the parts of its category ("2/21")."""
    if not department_id:
        return UNKNOWN
    parts = [part.strip() for part in (category or "").replace(LEVEL_SEPARATOR, "/").split("/") if part.strip()]
    return LEVEL_SEPARATOR.join([department_id, *parts])


def ticket_document(ticket) -> str:
    return ticket_text("", ticket.public_text or f"{ticket.title}\n{ticket.description}")[:MAX_DOCUMENT_CHARS]


def ticket_metadata(ticket) -> dict:
    return {
        "department": ticket.department_id or "",
        "requester": ticket.requester_id or "",
        "assignee": ticket.assignee_id or "",
        "status": ticket.status,
        "visibility": "triage" if ticket.department_id is None else "department",
        "label": ticket_label(ticket.department_id, ticket.category),
        "title": ticket.title[:200],
    }


@dataclass
class TicketSnapshot:
    """The whole ticket collection in memory: what similar-ticket ranking runs over."""

    generation: str
    ids: list[str]
    texts: list[str]  # normalised documents (lower case), for keyword ranking
    labels: list[str]
    vectors: np.ndarray


class TicketCorpus(Corpus[TicketSnapshot]):
    name = TICKETS

    def __init__(self) -> None:
        super().__init__()
        self._deferred: list[set[str]] = []
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._masks_lock = threading.Lock()

    # --- writes ---------------------------------------------------------------------------

    def upsert(self, tickets: Sequence, *, vectors: np.ndarray | None = None) -> None:
        if not tickets:
            return
        tickets, vectors = self._without_erased_requesters(tickets, vectors)
        if not tickets:
            return
        documents = [ticket_document(ticket) for ticket in tickets]
        if vectors is None:
            vectors = embeddings.embedder().embed(documents)
        self.collection().upsert(
            ids=[ticket.pk for ticket in tickets],
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=documents,
            metadatas=[ticket_metadata(ticket) for ticket in tickets],
        )
        self._changed()

    def _without_erased_requesters(
        self, tickets: Sequence, vectors: np.ndarray | None
    ) -> tuple[Sequence, np.ndarray | None]:
        """The tickets of an erased person stay out of the index (decision 0027): skipped here,
        whoever indexes them (an event, a batch, `manage.py reindex`), and dropped if one got in."""
        from accounts.personal_data import erased_among

        erased = erased_among({ticket.requester_id for ticket in tickets})
        if not erased:
            return tickets, vectors
        keep = [i for i, ticket in enumerate(tickets) if ticket.requester_id not in erased]
        self.delete([ticket.pk for ticket in tickets if ticket.requester_id in erased])
        return [tickets[i] for i in keep], (None if vectors is None else np.asarray(vectors)[keep])

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.collection().delete(ids=list(ids))
            self._changed()

    def changed(self, ticket) -> None:
        """Event hook: (re)index one ticket, or drop it when deleted; inside `deferred`, only
        note its id."""
        if self._deferred:
            self._deferred[-1].add(ticket.pk)
            return
        if ticket.deleted_at is not None:
            self.delete([ticket.pk])
        else:
            self.upsert([ticket])

    @contextmanager
    def deferred(self, progress: Callable | None = None) -> Iterator[set[str]]:
        """Collect ticket ids instead of indexing each one; index them in batches on exit
        (import_tickets: one batched embedding instead of thousands of single ones). `progress`
        wraps the batches (a tqdm bar in commands)."""
        ids: set[str] = set()
        self._deferred.append(ids)
        try:
            yield ids
        finally:
            self._deferred.remove(ids)
            if ids:
                self.index_ids(sorted(ids), progress=progress)

    def index_ids(self, ids: Sequence[str], *, batch: int = 256, progress: Callable | None = None) -> int:
        from tickets.models import Ticket

        done = 0
        starts = range(0, len(ids), batch)
        for start in progress(starts) if progress else starts:
            chunk = list(Ticket.objects.filter(pk__in=ids[start : start + batch], deleted_at__isnull=True))
            self.upsert(chunk)
            done += len(chunk)
        return done

    def rebuild(self, tickets: Iterable, *, total: int, progress: Callable | None = None, batch: int = 256) -> int:
        """Drop and refill the collection from the database (`manage.py reindex`)."""
        self.drop()
        done, pending = 0, []
        bar = progress(total=total) if progress else None
        for ticket in tickets:
            pending.append(ticket)
            if len(pending) >= batch:
                self.upsert(pending)
                done += len(pending)
                if bar is not None:
                    bar.update(len(pending))
                pending = []
        if pending:
            self.upsert(pending)
            done += len(pending)
            if bar is not None:
                bar.update(len(pending))
        if bar is not None:
            bar.close()
        return done

    # --- reads ----------------------------------------------------------------------------

    def _load(self, data: dict, generation: str) -> TicketSnapshot:
        return TicketSnapshot(
            generation=generation,
            ids=list(data["ids"]),
            texts=list(data.get("documents") or []),
            labels=[(meta or {}).get("label", UNKNOWN) for meta in data.get("metadatas") or []],
            vectors=vectors_of(data),
        )

    def candidates(self, snapshot: TicketSnapshot, scope: TicketScope) -> np.ndarray:
        """Which snapshot rows the scope allows, from the database (the policy is the one
        source). Kept per scope key until any ticket or the index changes."""
        from tickets import selectors
        from tickets.models import Ticket

        key = (selectors.generation(), snapshot.generation, id(snapshot), scope.key)
        with self._masks_lock:
            cached = self._masks.get(key)
            if cached is not None:
                self._masks.move_to_end(key)
                return cached
        visible = set(Ticket.objects.filter(scope.q).values_list("id", flat=True))
        mask = np.fromiter((ticket_id in visible for ticket_id in snapshot.ids), dtype=bool, count=len(snapshot.ids))
        with self._masks_lock:
            self._masks[key] = mask
            while len(self._masks) > MASKS_KEPT:
                self._masks.popitem(last=False)
        return mask

    def search(self, *, scope: TicketScope, embedding: np.ndarray, limit: int = 10) -> list[Passage]:
        """The tickets of `scope` nearest to `embedding` (cosine), best first, as passages of
        their public text (never internal notes). The scope applies before ranking, and the hits
        are read back through it: a ticket that changed hands since indexing stays hidden."""
        from tickets.models import Ticket

        snapshot = self.snapshot()
        if not snapshot.ids or snapshot.vectors.shape[1] != len(embedding):
            return []
        rows = np.flatnonzero(self.candidates(snapshot, scope))
        if not len(rows):
            return []
        scores = snapshot.vectors[rows] @ np.asarray(embedding, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:limit]
        best = list(zip(rows[order].tolist(), scores[order].tolist(), strict=True))
        found: dict[str, Ticket] = Ticket.objects.filter(
            scope.q, pk__in=[snapshot.ids[row] for row, _ in best]
        ).in_bulk()
        return [
            Passage(
                id=ticket.pk,
                kind="ticket",
                title=ticket.title,
                text=ticket.public_text or f"{ticket.title}\n{ticket.description}",
                score=float(score),
            )
            for row, score in best
            if (ticket := found.get(snapshot.ids[row])) is not None
        ]

    def rank(self, *, scope: TicketScope, question: str, embedding: np.ndarray, limit: int = 3) -> list[Passage]:
        """The tickets of `scope` that match `question` best, hybrid: cosine and BM25 (the
        similar-ticket ranker's, over the same snapshot), z-scored over the scope's rows and
        fused as for articles (ai_assist.ml.answer). Passage scores are cosines."""
        from ai_assist.ml.answer import DEFAULT_KEYWORD_WEIGHT, fuse
        from ai_assist.retrieval import similar
        from tickets.models import Ticket

        snapshot, ranking = similar.ranker()
        if not snapshot.ids or snapshot.vectors.shape[1] != len(embedding):
            return []
        rows = np.flatnonzero(self.candidates(snapshot, scope))
        if not len(rows):
            return []
        cosine = (snapshot.vectors[rows] @ np.asarray(embedding, dtype=np.float32)).astype(np.float64)
        fused = fuse(cosine, ranking.bm25.scores(question)[rows], DEFAULT_KEYWORD_WEIGHT)
        order = np.argsort(-fused, kind="stable")[:limit]
        best = [(int(rows[i]), float(cosine[i])) for i in order.tolist()]
        found: dict[str, Ticket] = Ticket.objects.filter(
            scope.q, pk__in=[snapshot.ids[row] for row, _ in best]
        ).in_bulk()
        return [
            Passage(id=ticket.pk, kind="ticket", title=ticket.title, text=ticket.public_text, score=score)
            for row, score in best
            if (ticket := found.get(snapshot.ids[row])) is not None
        ]

    def forget(self) -> None:
        super().forget()
        with self._masks_lock:
            self._masks.clear()
