"""The ticket collection's department partitions (decision 0038): each department's tickets have
their vectors in a collection of their own, kept by the same writes as the whole collection, so that
an agent's search narrowed to its departments is an unfiltered HNSW query of those partitions, never
a `where` on the whole collection. The database still decides what is returned."""

from __future__ import annotations

import numpy as np
import pytest

from ai_assist import retrieval
from ai_assist.retrieval import chroma
from ai_assist.retrieval import tickets as corpus_module
from ai_assist.retrieval.tickets import PARTITIONS, TICKETS, partition_name
from tests.factories import TicketFactory, UserFactory
from tickets import policies
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

DIM = 384


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def partition_ids(department_id: str | None) -> set[str]:
    if partition_name(department_id) not in chroma.names(PARTITIONS):
        return set()
    return set(chroma.call(partition_name(department_id), lambda c: c.get(include=[]), log=TICKETS)["ids"])


def test_writes_keep_each_department_partition_to_its_tickets(people, department, other_department):
    corpus = retrieval.ticket_corpus()
    a = TicketFactory(requester=people["employee"], department=department)
    b = TicketFactory(requester=people["employee"], department=other_department)
    triage = TicketFactory(requester=people["employee"], department=None)
    corpus.upsert([a, b, triage], vectors=np.stack([unit(0), unit(1), unit(2)]))
    assert partition_ids(department.pk) == {a.pk}
    assert partition_ids(other_department.pk) == {b.pk}
    assert partition_ids(None) == {triage.pk}
    assert corpus.current([a, b, triage])

    # A ticket that moves department leaves the old partition and joins the new one.
    Ticket.objects.filter(pk=a.pk).update(department=other_department)
    a.refresh_from_db()
    corpus.upsert([a], vectors=unit(0)[None, :])
    assert partition_ids(department.pk) == set()
    assert partition_ids(other_department.pk) == {a.pk, b.pk}

    corpus.delete([b.pk])
    assert partition_ids(other_department.pk) == {a.pk}
    assert set(corpus.ids()) == {a.pk, triage.pk}

    corpus.drop()
    assert chroma.names(PARTITIONS) == [] and corpus.ids() == []


def test_an_index_without_partitions_is_stale(people, department):
    """An index made before the partitions (or one whose partition was lost): `reindex --if-stale`
    rebuilds it, because `current` looks in the partitions too."""
    corpus = retrieval.ticket_corpus()
    ticket = TicketFactory(requester=people["employee"], department=department)
    corpus.upsert([ticket], vectors=unit(0)[None, :])
    assert corpus.current([ticket])
    chroma.drop(partition_name(department.pk), stamp=False)
    assert not corpus.current([ticket])


def test_the_departments_path_queries_the_partitions_without_a_where(people, department, other_department, monkeypatch):
    """An agent whose department holds few of the nearest: its department's partition is asked,
    unfiltered; what comes back is still kept through the scope (another department's tickets
    and a stranger's triage ticket never are)."""
    monkeypatch.setattr(corpus_module, "EXACT_MAX", 0)
    monkeypatch.setattr(corpus_module, "MIN_IN_SCOPE", 10_000)
    monkeypatch.setattr(corpus_module, "VECTOR_CANDIDATES", 4)
    stranger = UserFactory(email="stranger@example.com")
    theirs = [TicketFactory(requester=stranger, department=other_department) for _ in range(6)]
    ours = [TicketFactory(requester=stranger, department=department) for _ in range(4)]
    hidden = TicketFactory(requester=stranger, department=None)
    target = unit(1)
    near = [(target + 0.1 * unit(10 + n)) / np.linalg.norm(target + 0.1 * unit(10 + n)) for n in range(7)]
    far = [unit(100 + n) for n in range(4)]
    retrieval.ticket_corpus().upsert([*theirs, hidden, *ours], vectors=np.stack(near + far))

    queried: list[tuple[str, dict]] = []
    original = chroma.call

    def spy(name, action, **kwargs):
        class Recorder:
            def __init__(self, collection):
                self.collection = collection

            def query(self, **query):
                queried.append((name, query))
                return self.collection.query(**query)

            def __getattr__(self, attribute):
                return getattr(self.collection, attribute)

        return original(name, lambda collection: action(Recorder(collection)), **kwargs)

    monkeypatch.setattr(chroma, "call", spy)
    scope = policies.retrieval_scope(people["agent"])
    found = retrieval.ticket_corpus().candidates(scope=scope, embedding=target)
    assert found.path == "departments"
    assert set(found.ids) == {ticket.pk for ticket in ours}  # the 4 nearest of the whole are not the agent's
    assert all("where" not in query for _, query in queried)
    assert [name for name, _ in queried] == [TICKETS, partition_name(department.pk)]
