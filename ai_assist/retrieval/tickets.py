"""The ticket corpus: collection `helpdesk_tickets`, one vector per ticket, searched where it lives.

A ticket's document is its public text (title, description and public replies; internal notes
are never indexed); its metadata says department, requester, assignee, status, visibility and the
fine label (department and category) that similar-ticket ranking learns from.

No process keeps a copy of the collection (decision 0033). A search gathers a few hundred
candidates from the engines, keeps those the asker may read, and only then ranks them:

- the scope (tickets.policies, the one source of who may read what) is asked first for at most
  EXACT_MAX + 1 of its ticket ids. A scope that small (an employee's own tickets, a small
  department) is searched exactly: every one of its indexed tickets is a candidate, fetched from
  Chroma by id (path "exact");
- a larger scope: Chroma's HNSW index, the VECTOR_CANDIDATES nearest of the whole collection,
  plus, given a `text` (a question: chat, drafts), the KEYWORD_CANDIDATES best keyword matches of
  the database's full-text index inside the scope (tickets.selectors.search_tickets); one database
  query keeps the candidates the scope allows, with their texts and labels (path "index");
- when fewer than MIN_IN_SCOPE of the nearest are in the scope (an agent's department among many),
  the nearest of each of the scope's departments from that department's partition: a collection
  per department holding its tickets' vectors only, written with the whole collection (decision
  0038), queried unfiltered. Which departments: those of the scope's candidates so far and of the
  scope's first tickets read above. Again kept through the scope (path "departments"). The
  partitions only narrow where to look: what is returned is always what the database allows;
- then each likely label the caller names (similar tickets) that has fewer than PLANNED
  candidates is brought up to LABEL_CANDIDATES, the nearest of LABEL_SAMPLE of its tickets in the
  scope (tickets.selectors.label_rows, by the database's index on department and category).

Vectors come from Chroma (only embeddings are asked of it); texts and labels from the database,
so they are current. Hits are read back through the scope once more, so a ticket that changed hands since it was
indexed never reaches the asker.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ai_assist import embeddings
from ai_assist.ml.passages import Passage
from ai_assist.ml.similar import LEVEL_SEPARATOR, UNKNOWN
from ai_assist.ml.text import ticket_text
from ai_assist.retrieval import chroma

if TYPE_CHECKING:
    from tickets.models import Ticket
    from tickets.policies import TicketScope

logger = logging.getLogger(__name__)

TICKETS = "helpdesk_tickets"
MAX_DOCUMENT_CHARS = 8_000  # the embedder reads about 256 tokens; BM25 a little more
EMBEDDING_DIMENSIONS = 384  # an empty candidate set's vectors: all-MiniLM-L6-v2's width

# Thresholds (decision 0033; measured in docs/ai.md and bench/ai_scale.py):
EXACT_MAX = 2_000  # a scope of at most this many tickets is ranked over all of them (about 25 ms)
VECTOR_CANDIDATES = 400  # nearest neighbours asked of the HNSW index (recall@50 0.997 at 100k)
LABEL_CANDIDATES = 30  # candidates a likely label with fewer than PLANNED is brought up to
LABEL_SAMPLE = 200  # of that label's tickets in the scope, the nearest LABEL_CANDIDATES
PLANNED = 20  # places the list planner fills (ai_assist.ml.similar: the first 20)
KEYWORD_CANDIDATES = 100  # best full-text matches inside the scope (questions: TicketCorpus.rank)
KEYWORD_TERMS = 8  # words of the question searched (each common word OR'ed in costs a scan of its tickets)
MIN_IN_SCOPE = 50  # fewer of the nearest in the scope: search its departments with a `where`
GET_PAGE = 2_000  # ids per Chroma get
INCLUDE = ["embeddings", "documents", "metadatas"]
PARTITIONS = f"{TICKETS}-in-"  # + a department's id, or TRIAGE: that department's tickets (vectors only)
TRIAGE = "triage"


def partition_name(department_id: str | None) -> str:
    """The collection holding the vectors of one department's tickets (none: triage)."""
    return f"{PARTITIONS}{department_id or TRIAGE}"


def ticket_label(department_id: str | None, category: str) -> str:
    """The fine label of a ticket: department, then the parts of its category ("2/21")."""
    if not department_id:
        return UNKNOWN
    parts = [part.strip() for part in (category or "").replace(LEVEL_SEPARATOR, "/").split("/") if part.strip()]
    return LEVEL_SEPARATOR.join([department_id, *parts])


def document_text(title: str, description: str, public_text: str) -> str:
    return ticket_text("", public_text or f"{title}\n{description}")[:MAX_DOCUMENT_CHARS]


def ticket_document(ticket) -> str:
    return document_text(ticket.title, ticket.description, ticket.public_text)


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
class Candidates:
    """The tickets one search ranks: all in the asker's scope, each with what ranking needs."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # normalised documents (lower case), for keyword ranking
    labels: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32))
    path: str = "exact"  # "exact", "index" or "departments" (the module docstring)

    def __len__(self) -> int:
        return len(self.ids)


class TicketCorpus:
    name = TICKETS

    def __init__(self) -> None:
        self._deferred: list[set[str]] = []

    def collection(self):
        """The collection's handle (queried: ef_search set; current with other processes' writes)."""
        return chroma.searched_collection(self.name)

    def _call(self, action: Callable):
        return chroma.call(self.name, action)

    def forget(self) -> None:
        """Nothing is held per process; kept for retrieval.reset()."""

    # --- writes ---------------------------------------------------------------------------

    def drop(self) -> None:
        """Delete the whole collection and its department partitions (a rebuild refills them)."""
        chroma.drop(self.name)
        for name in chroma.names(PARTITIONS):
            chroma.drop(name, stamp=False)
        chroma.note_write(self.name)

    def upsert(self, tickets: Sequence, *, vectors: np.ndarray | None = None) -> None:
        if not tickets:
            return
        tickets, vectors = self._without_erased_requesters(tickets, vectors)
        if not tickets:
            return
        documents = [ticket_document(ticket) for ticket in tickets]
        if vectors is None:
            vectors = embeddings.embedder().embed(documents)
        records = {
            "ids": [ticket.pk for ticket in tickets],
            "embeddings": np.asarray(vectors, dtype=np.float32),
            "documents": documents,
            "metadatas": [ticket_metadata(ticket) for ticket in tickets],
        }
        before = self._indexed_departments(records["ids"])
        self._call(lambda collection: collection.upsert(**records))
        # The department partitions: out of the one a ticket left, into the one it is in.
        now = {ticket.pk: ticket.department_id or "" for ticket in tickets}
        self._partition_delete({pk: department for pk, department in before.items() if department != now[pk]})
        moved: dict[str, list[int]] = {}
        for row, ticket in enumerate(tickets):
            moved.setdefault(ticket.department_id or "", []).append(row)
        for department, rows in moved.items():
            part = {"ids": [records["ids"][row] for row in rows], "embeddings": records["embeddings"][rows]}
            self._partition_call(department, lambda collection, part=part: collection.upsert(**part))
        chroma.note_write(self.name)

    def _indexed_departments(self, ids: Sequence[str]) -> dict[str, str]:
        """The department ("" for triage) each of these tickets is indexed under, those indexed."""
        found = self.records(ids, ["metadatas"])
        return {
            ticket_id: (metadata or {}).get("department", "")
            for ticket_id, metadata in zip(found["ids"], found["metadatas"], strict=True)
        }

    def _partition_call(self, department: str, action: Callable):
        return chroma.call(partition_name(department), action, log=self.name)

    def _partition_delete(self, departments: dict[str, str]) -> None:
        """Delete these tickets (id -> department indexed under) from their partitions."""
        grouped: dict[str, list[str]] = {}
        for ticket_id, department in departments.items():
            grouped.setdefault(department, []).append(ticket_id)
        for department, ids in grouped.items():
            self._partition_call(department, lambda collection, ids=ids: collection.delete(ids=ids))

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
            self._partition_delete(self._indexed_departments(list(ids)))
            self._call(lambda collection: collection.delete(ids=list(ids)))
            chroma.note_write(self.name)

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

    def ids(self) -> list[str]:
        """Every indexed ticket id (tests, repairs: never on a request path)."""
        found: list[str] = []
        offset = 0
        while True:
            page = self._call(
                lambda collection, offset=offset: collection.get(include=[], limit=chroma.READ_PAGE, offset=offset)
            )
            found += page["ids"]
            offset += len(page["ids"])
            if len(page["ids"]) < chroma.READ_PAGE:
                return found

    def current(self, tickets: Sequence) -> bool:
        """Whether these tickets are all in the collection, those of erased people left aside
        (`manage.py reindex --if-stale`)."""
        from accounts.personal_data import erased_among

        erased = erased_among({ticket.requester_id for ticket in tickets})
        kept = [ticket for ticket in tickets if ticket.requester_id not in erased]
        ids = [ticket.pk for ticket in kept]
        if ids and len(self.records(ids, include=[])["ids"]) != len(ids):
            return False
        grouped: dict[str, list[str]] = {}  # and in their department's partition (an index made before them)
        for ticket in kept:
            grouped.setdefault(ticket.department_id or "", []).append(ticket.pk)
        return all(
            len(self._partition_call(department, lambda c, ids=ids: c.get(ids=ids, include=[]))["ids"]) == len(ids)
            for department, ids in grouped.items()
        )

    def records(self, ids: Sequence[str], include: list[str] | None = None) -> dict:
        """Chroma's records of these ids (those indexed), page by page: {"ids", and `include`}."""
        include = INCLUDE if include is None else include
        out: dict = {"ids": [], **{key: [] for key in include}}
        for start in range(0, len(ids), GET_PAGE):
            page_ids = list(ids[start : start + GET_PAGE])
            page = self._call(lambda collection, page_ids=page_ids: collection.get(ids=page_ids, include=include))
            out["ids"] += list(page["ids"])
            for key in include:
                values = page.get(key)
                if values is not None and len(values):
                    out[key] += list(values)
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The indexed vectors of these tickets (those not indexed are absent)."""
        found = self.records(ids, ["embeddings"])
        return {
            ticket_id: np.asarray(vector, dtype=np.float32)
            for ticket_id, vector in zip(found["ids"], found["embeddings"], strict=True)
        }

    def _nearest(self, vectors: dict, embedding: np.ndarray, n: int, department: str | None = None) -> list[str]:
        """The `n` nearest records by HNSW, of the whole collection or (`department`, "" for
        triage) of one department's partition; their vectors join `vectors`."""
        query = {
            "query_embeddings": [np.asarray(embedding, dtype=np.float32)],
            "n_results": n,
            "include": ["embeddings"],
        }
        if department is None:
            result = self._call(lambda collection: collection.query(**query))
        else:
            result = self._partition_call(department, lambda collection: collection.query(**query))
        if not result["ids"] or not result["ids"][0]:
            return []
        ids, found = result["ids"][0], result["embeddings"][0]
        for ticket_id, vector in zip(ids, found, strict=True):
            vectors.setdefault(ticket_id, np.asarray(vector, dtype=np.float32))
        return list(ids)

    def candidates(
        self,
        *,
        scope: TicketScope,
        embedding: np.ndarray,
        text: str = "",
        labels: Sequence[str] = (),
        exclude: Iterable[str] = (),
    ) -> Candidates:
        """The tickets `scope` allows that a search ranks (the module docstring): near `embedding`,
        of the likely `labels`, matching the words of `text`; none of `exclude`. Their texts and
        labels are the database's (current), their vectors Chroma's."""
        from tickets import selectors

        excluded = set(exclude)
        vectors: dict[str, np.ndarray] = {}
        first = selectors.scope_ids(scope_q=scope.q, limit=EXACT_MAX + 1)  # id -> department: where to look below
        ids = list(first)
        if len(ids) <= EXACT_MAX:
            wanted = sorted(ticket_id for ticket_id in ids if ticket_id not in excluded)
            vectors.update(self.vectors(wanted))
            indexed = [ticket_id for ticket_id in wanted if ticket_id in vectors]
            rows = selectors.search_rows(scope_q=scope.q, ids=indexed)
            return _candidates([ticket_id for ticket_id in indexed if ticket_id in rows], rows, vectors, "exact")
        near = self._nearest(vectors, embedding, VECTOR_CANDIDATES)
        keyword = [
            pk
            for pk, _ in selectors.search_tickets(
                scope_q=scope.q, text=text, limit=KEYWORD_CANDIDATES, terms=KEYWORD_TERMS
            )
        ]
        for ticket_id, vector in self.vectors([pk for pk in keyword if pk not in vectors]).items():
            vectors.setdefault(ticket_id, vector)  # a match not indexed (yet) has no vector: left out
        rows = selectors.search_rows(scope_q=scope.q, ids=list(vectors))
        path = "index"
        seen = {row[3] or "" for row in rows.values()}  # departments of the scope's candidates so far
        if sum(ticket_id in rows for ticket_id in near) < MIN_IN_SCOPE:
            # Few of the nearest are the scope's (an agent's department among many): the nearest
            # of the scope's departments, each from its own partition (unfiltered HNSW: a `where`
            # on the whole collection cost 100-190 ms at 100k). Which departments: those of the
            # scope's candidates so far and of the scope's first tickets read above.
            path = "departments"
            found: dict[str, np.ndarray] = {}
            for department in sorted(seen | {department or "" for department in first.values()}):
                self._nearest(found, embedding, VECTOR_CANDIDATES, department)
            fresh = [ticket_id for ticket_id in found if ticket_id not in vectors]
            if fresh:
                scores = np.vstack([found[ticket_id] for ticket_id in fresh]) @ np.asarray(embedding, dtype=np.float32)
                for row in np.argsort(-scores, kind="stable")[:VECTOR_CANDIDATES].tolist():
                    vectors[fresh[row]] = found[fresh[row]]
        rows.update(selectors.search_rows(scope_q=scope.q, ids=[pk for pk in vectors if pk not in rows]))
        seen |= {row[3] or "" for row in rows.values()}
        # The list planner fills up to PLANNED places with one label group: a likely label with
        # fewer candidates than that gets more of its tickets: the nearest of LABEL_SAMPLE of them
        # in the scope, from the database by the index on department and category (Chroma's `where`
        # cost 0.25 s a label at 100k; the partition's nearest 400 lost 0.005 of MAP@20: 0038).
        have = Counter(ticket_label(row[3], row[4]) for ticket_id, row in rows.items() if ticket_id in vectors)
        sampled: dict[str, tuple] = {}
        for label in labels:
            if have[label] >= PLANNED or label == UNKNOWN:
                continue
            department, *parts = label.split(LEVEL_SEPARATOR)
            if department not in seen:
                continue  # a department none of the scope's candidates is in: most likely outside it
            sampled.update(
                selectors.label_rows(
                    scope_q=scope.q, department_id=department, category="/".join(parts), limit=LABEL_SAMPLE
                )
            )
        fresh = [ticket_id for ticket_id in sampled if ticket_id not in vectors]
        if fresh:
            found = self.vectors(fresh)
            query = np.asarray(embedding, dtype=np.float32)
            by_label: dict[str, list[tuple[float, str]]] = {}
            for ticket_id, vector in found.items():
                row = sampled[ticket_id]
                by_label.setdefault(ticket_label(row[3], row[4]), []).append((-float(vector @ query), ticket_id))
            for label, scored in by_label.items():
                for _, ticket_id in sorted(scored)[: max(0, LABEL_CANDIDATES - have[label])]:
                    vectors[ticket_id] = found[ticket_id]
                    rows[ticket_id] = sampled[ticket_id]
        keep = [ticket_id for ticket_id in vectors if ticket_id in rows and ticket_id not in excluded]
        return _candidates(keep, rows, vectors, path)

    def search(self, *, scope: TicketScope, embedding: np.ndarray, limit: int = 10) -> list[Passage]:
        """The tickets of `scope` nearest to `embedding` (cosine), best first, as passages of
        their public text (never internal notes). The scope applies before ranking, and the hits
        are read back through it: a ticket that changed hands since indexing stays hidden."""
        found = self.candidates(scope=scope, embedding=embedding)
        if not len(found) or found.vectors.shape[1] != len(embedding):
            return []
        scores = found.vectors @ np.asarray(embedding, dtype=np.float32)
        order = np.argsort(-scores, kind="stable")[:limit]
        best = [(found.ids[i], float(scores[i])) for i in order.tolist()]
        return _passages(scope, best)

    def rank(self, *, scope: TicketScope, question: str, embedding: np.ndarray, limit: int = 3) -> list[Passage]:
        """The tickets of `scope` that match `question` best, hybrid: cosine and BM25 over the
        candidates, z-scored over them and fused as for articles (ai_assist.ml.answer). Passage
        scores are cosines."""
        from ai_assist.ml.answer import DEFAULT_KEYWORD_WEIGHT, fuse
        from ai_assist.ml.bm25 import BM25

        found = self.candidates(scope=scope, embedding=embedding, text=question)
        if not len(found) or found.vectors.shape[1] != len(embedding):
            return []
        cosine = (found.vectors @ np.asarray(embedding, dtype=np.float32)).astype(np.float64)
        fused = fuse(cosine, BM25().fit(found.texts).scores(question), DEFAULT_KEYWORD_WEIGHT)
        order = np.argsort(-fused, kind="stable")[:limit]
        return _passages(scope, [(found.ids[i], float(cosine[i])) for i in order.tolist()])


def _candidates(ids: list[str], rows: dict[str, tuple], vectors: dict[str, np.ndarray], path: str) -> Candidates:
    if not ids:
        return Candidates(path=path)
    return Candidates(
        ids=ids,
        texts=[document_text(*rows[ticket_id][:3]) for ticket_id in ids],
        labels=[ticket_label(rows[ticket_id][3], rows[ticket_id][4]) for ticket_id in ids],
        vectors=np.vstack([vectors[ticket_id] for ticket_id in ids]),
        path=path,
    )


def _passages(scope: TicketScope, best: list[tuple[str, float]]) -> list[Passage]:
    from tickets.models import Ticket

    found: dict[str, Ticket] = Ticket.objects.filter(scope.q, pk__in=[ticket_id for ticket_id, _ in best]).in_bulk()
    return [
        Passage(
            id=ticket.pk,
            kind="ticket",
            title=ticket.title,
            text=ticket.public_text or f"{ticket.title}\n{ticket.description}",
            score=score,
        )
        for ticket_id, score in best
        if (ticket := found.get(ticket_id)) is not None
    ]
