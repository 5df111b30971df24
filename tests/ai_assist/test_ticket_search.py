"""Ticket search where the data lives (decision 0033): candidates from Chroma's HNSW index and the
database's full-text index, kept through tickets.policies' scope before anything is ranked, on each
of the three paths (the scope's own tickets, the index, the index narrowed to the scope's
departments); never a ticket the asker may not read, and no copy of the collection per process."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from ai_assist import retrieval, store
from ai_assist.retrieval import chroma, similar
from ai_assist.retrieval import tickets as corpus_module
from ai_assist.retrieval.tickets import TICKETS, ticket_label
from tests.factories import TicketFactory, UserFactory
from tickets import policies, selectors, services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

DIM = 384


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def near(vector: np.ndarray, seed: int, noise: float = 0.3) -> np.ndarray:
    moved = vector + noise * unit(seed + 10_000)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


@pytest.fixture
def no_full_read(monkeypatch):
    """Ticket search never reads the whole collection (the articles' snapshot does, tickets not)."""

    def refuse(name, include):
        if name == TICKETS:
            raise AssertionError("the ticket collection was read whole")
        return original(name, include)

    original = chroma.read_all
    monkeypatch.setattr(chroma, "read_all", refuse)


def test_the_full_text_index_is_kept_by_the_database_and_searched_inside_the_scope(people, department):
    employee, agent = people["employee"], people["agent"]
    stranger = UserFactory(email="stranger@example.com")
    mine = services.ticket_create(requester=employee, title="Printer jammed", description="paper stuck in tray two")
    theirs = services.ticket_create(
        requester=stranger, title="Printer jammed too", description="paper stuck", department=department
    )

    def found(user, text):
        return [pk for pk, _ in selectors.search_tickets(scope_q=policies.visible_tickets(user), text=text, limit=10)]

    assert found(employee, "printer paper") == [mine.pk]  # not the stranger's ticket
    assert set(found(agent, "printer paper")) == {theirs.pk}  # the department's; not the employee's triage one
    assert set(found(people["admin"], "printer paper")) == {mine.pk, theirs.pk}
    assert found(employee, "the of and") == []  # function words only: nothing to search
    services.comment_add(actor=people["admin"], ticket=mine, body="ZEBRA firmware", internal=True)
    assert found(employee, "zebra") == [] and found(people["admin"], "zebra") == []  # internal notes never indexed
    mine.refresh_from_db()
    services.comment_add(actor=people["admin"], ticket=mine, body="Replace the fuser unit")
    assert found(employee, "fuser") == [mine.pk]  # a public reply is searchable at once
    mine.refresh_from_db()
    services.ticket_update(actor=employee, ticket=mine, title="Scanner offline")
    assert found(employee, "scanner") == [mine.pk]
    mine.refresh_from_db()
    services.ticket_delete(actor=people["admin"], ticket=mine)
    assert found(people["admin"], "scanner") == []  # deleted: outside every scope
    Ticket.objects.filter(pk=theirs.pk).delete()
    assert found(people["admin"], "printer") == []


@pytest.mark.parametrize(
    ("exact_max", "min_in_scope", "path"),
    [(10_000, 50, "exact"), (0, 0, "index"), (0, 10_000, "departments")],
)
def test_each_path_finds_exactly_the_indexed_tickets_of_the_scope(
    people, department, other_department, monkeypatch, no_full_read, exact_max, min_in_scope, path
):
    monkeypatch.setattr(corpus_module, "EXACT_MAX", exact_max)
    monkeypatch.setattr(corpus_module, "MIN_IN_SCOPE", min_in_scope)
    requesters = [people["employee"], people["agent"], UserFactory(email="x@example.com")]
    places = [department, other_department, None]
    made = [
        TicketFactory(
            title=f"VPN drops {n}",
            description="vpn drops every hour",
            requester=requesters[n % 3],
            department=places[(n // 3) % 3],
            assignee=people["agent"] if n == 7 else None,
        )
        for n in range(12)
    ]
    Ticket.objects.filter(pk=made[11].pk).update(deleted_at=made[11].created_at)
    retrieval.ticket_corpus().upsert(made[:10], vectors=np.stack([unit(n) for n in range(10)]))  # two not indexed
    for who in ("employee", "agent", "agent_other", "lead", "admin"):
        scope = policies.retrieval_scope(people[who])
        visible = set(Ticket.objects.filter(policies.visible_tickets(people[who])).values_list("id", flat=True))
        found = retrieval.ticket_corpus().candidates(scope=scope, embedding=unit(3), text="vpn drops")
        indexed = {ticket.pk for ticket in made[:10]}
        assert set(found.ids) == visible & indexed, who
        assert found.path == (path if visible & indexed else found.path)
        hits = retrieval.ticket_corpus().search(scope=scope, embedding=unit(3), limit=20)
        assert {hit.id for hit in hits} == visible & indexed
        ranked = retrieval.ticket_corpus().rank(scope=scope, question="vpn drops", embedding=unit(3), limit=20)
        assert {hit.id for hit in ranked} == visible & indexed


def test_a_full_text_match_not_indexed_yet_is_left_out_and_the_nearest_come_first(people, monkeypatch):
    monkeypatch.setattr(corpus_module, "EXACT_MAX", 0)
    admin = people["admin"]
    made = [TicketFactory(title=f"Badge {n}", description="badge reader broken", requester=admin) for n in range(5)]
    late = TicketFactory(title="Badge late", description="badge reader broken", requester=admin)
    retrieval.ticket_corpus().upsert(made, vectors=np.stack([unit(n) for n in range(5)]))
    found = retrieval.ticket_corpus().candidates(
        scope=policies.retrieval_scope(admin), embedding=unit(2), text="badge reader"
    )
    assert late.pk not in found.ids and set(found.ids) == {t.pk for t in made}
    hits = retrieval.ticket_corpus().search(scope=policies.retrieval_scope(admin), embedding=near(unit(2), 1), limit=2)
    assert hits[0].id == made[2].pk and hits[0].score > hits[1].score


def test_the_likeliest_labels_bring_their_own_nearest_candidates(people, department, monkeypatch):
    """The list planner fills places per label group: the nearest of each likely label are fetched
    even when the overall nearest are of other labels."""
    monkeypatch.setattr(corpus_module, "EXACT_MAX", 0)
    monkeypatch.setattr(corpus_module, "VECTOR_CANDIDATES", 3)
    admin = people["admin"]
    close = [TicketFactory(requester=admin, department=department, category="vpn") for _ in range(5)]
    far = [TicketFactory(requester=admin, department=department, category="printer") for _ in range(4)]
    target = unit(1)
    vectors = [near(target, n, 0.2) for n in range(5)] + [near(target, 100 + n, 3.0) for n in range(4)]
    retrieval.ticket_corpus().upsert(close + far, vectors=np.stack(vectors))
    scope = policies.retrieval_scope(admin)
    plain = retrieval.ticket_corpus().candidates(scope=scope, embedding=target)
    assert len(plain) == 3 and set(plain.ids) <= {t.pk for t in close}
    printer = ticket_label(department.pk, "printer")
    labelled = retrieval.ticket_corpus().candidates(scope=scope, embedding=target, labels=[printer])
    assert {t.pk for t in far} <= set(labelled.ids)
    assert {label for pk, label in zip(labelled.ids, labelled.labels, strict=True) if pk in {t.pk for t in far}} == {
        printer
    }


def test_a_write_in_another_process_is_seen_by_the_next_query(settings, tmp_path):
    """The embedded index: each process holds the HNSW graph it loaded; another process's write is
    seen through the write log (one stat() per query), within REOPEN_SECONDS."""
    pytest.importorskip("chromadb")
    import os
    import subprocess
    import sys
    import time
    from types import SimpleNamespace

    settings.CHROMA_URL = ""
    settings.AI_DIR = tmp_path / "ai"
    retrieval.reset()
    try:
        ticket = SimpleNamespace(
            pk="mine",
            public_text="printer",
            title="P",
            description="",
            department_id=None,
            requester_id="",
            assignee_id="",
            status="new",
            category="",
            deleted_at=None,
        )
        retrieval.ticket_corpus().upsert([ticket], vectors=unit(0)[None, :])

        def nearest(vector) -> list[str]:
            result = chroma.call(TICKETS, lambda c: c.query(query_embeddings=[vector], n_results=1, include=[]))
            return result["ids"][0]

        assert nearest(unit(1)) == ["mine"]  # the graph is loaded in this process now
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.main",
            "DEBUG": "true",
            "VAR_DIR": str(tmp_path),
        }
        env.pop("REDIS_URL", None)
        env.pop("CHROMA_URL", None)
        subprocess.run([sys.executable, "-c", OTHER_PROCESS, "theirs"], env=env, check=True, timeout=120)
        written = time.monotonic()
        while nearest(unit(1)) != ["theirs"]:
            assert time.monotonic() - written < 2.0, "another process's write was not seen within 2 s"
            time.sleep(0.05)
        assert sorted(retrieval.ticket_corpus().ids()) == ["mine", "theirs"]
    finally:
        retrieval.reset()


OTHER_PROCESS = """
import sys, django
from types import SimpleNamespace
import numpy as np
django.setup()
from ai_assist import retrieval
vector = np.random.default_rng(1).normal(size=384).astype(np.float32)
ticket = SimpleNamespace(pk=sys.argv[1], public_text="vpn drops", title="VPN", description="", department_id=None,
                         requester_id="", assignee_id="", status="new", category="", deleted_at=None)
retrieval.ticket_corpus().upsert([ticket], vectors=(vector / np.linalg.norm(vector))[None, :])
"""


# --- the property: whatever the placement of tickets and whoever asks, nothing outside the scope --


ticket_spec = st.fixed_dictionaries(
    {
        "requester": st.sampled_from(["employee", "employee2", "agent", "agent_other", "lead"]),
        "department": st.sampled_from(["A", "B", None]),
        "assignee": st.sampled_from([None, "agent", "agent_other"]),
        "deleted": st.booleans(),
        "resolved": st.booleans(),
        "indexed": st.sampled_from([True, True, True, False]),
        "moved": st.sampled_from([None, None, None, "A", "B"]),  # its department changed since indexing
        "topic": st.integers(min_value=0, max_value=3),
    }
)
case_spec = st.fixed_dictionaries(
    {
        "tickets": st.lists(ticket_spec, min_size=1, max_size=14),
        "asker": st.sampled_from(["employee", "employee2", "agent", "agent_other", "lead", "admin"]),
        "exact_max": st.sampled_from([0, 4, 10_000]),
        "min_in_scope": st.sampled_from([0, 3, 10_000]),
        "topic": st.integers(min_value=0, max_value=3),
        "resolved_only": st.booleans(),
    }
)
TOPICS = ["vpn drops every hour", "printer paper jam", "password expired reset", "laptop slow startup"]


@settings(
    max_examples=40,
    derandomize=True,  # the same cases on every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=case_spec)
def test_no_search_returns_a_ticket_outside_the_askers_scope(
    people, department, other_department, monkeypatch, no_full_read, case
):
    monkeypatch.setattr(corpus_module, "EXACT_MAX", case["exact_max"])
    monkeypatch.setattr(corpus_module, "MIN_IN_SCOPE", case["min_in_scope"])
    monkeypatch.setattr(store, "current_models", lambda: None)  # text similarity: no training per example
    departments = {"A": department, "B": other_department, None: None}
    with transaction.atomic():
        retrieval.ticket_corpus().drop()  # one index per example
        users = {**people, "employee2": UserFactory(email="employee2@example.com", role=Role.EMPLOYEE)}
        made, vectors = [], []
        for n, spec in enumerate(case["tickets"]):
            ticket = TicketFactory(
                title=f"{TOPICS[spec['topic']]} {n}",
                description=TOPICS[spec["topic"]],
                requester=users[spec["requester"]],
                department=departments[spec["department"]],
                assignee=users[spec["assignee"]] if spec["assignee"] else None,
                status=Status.RESOLVED if spec["resolved"] else Status.OPEN,
            )
            made.append((spec, ticket))
            vectors.append(near(unit(spec["topic"]), n))
        indexed = [(i, ticket) for i, (spec, ticket) in enumerate(made) if spec["indexed"]]
        if indexed:
            retrieval.ticket_corpus().upsert(
                [t for _, t in indexed], vectors=np.stack([vectors[i] for i, _ in indexed])
            )
        for spec, ticket in made:  # after indexing: the index's metadata is stale for these
            changes = {}
            if spec["deleted"]:
                changes["deleted_at"] = ticket.created_at
            if spec["moved"]:
                changes["department"] = departments[spec["moved"]]
            if changes:
                Ticket.objects.filter(pk=ticket.pk).update(**changes)
        asker = users[case["asker"]]
        scope = policies.retrieval_scope(asker)
        if case["resolved_only"]:
            from django.db.models import Q

            scope = policies.TicketScope(scope.q & Q(status__in=(Status.RESOLVED, Status.CLOSED)), scope.key + ":r")
        allowed = set(Ticket.objects.filter(scope.q).values_list("id", flat=True))
        query = TOPICS[case["topic"]]
        embedding = near(unit(case["topic"]), 999)
        found = similar.similar_tickets(scope=scope, text=query, title=query, embedding=embedding, limit=20)
        assert {ticket.pk for ticket, _ in found} <= allowed
        assert {
            hit.id for hit in retrieval.ticket_corpus().search(scope=scope, embedding=embedding, limit=20)
        } <= allowed
        ranked = retrieval.ticket_corpus().rank(scope=scope, question=query, embedding=embedding, limit=20)
        assert {hit.id for hit in ranked} <= allowed
        labels = [ticket_label(d.pk, "") for d in (department, other_department)]
        candidates = retrieval.ticket_corpus().candidates(scope=scope, embedding=embedding, text=query, labels=labels)
        assert set(candidates.ids) <= allowed
        # Nothing is missed either, when no metadata is stale (the metadata only narrows where to look).
        if not any(spec["moved"] for spec, _ in made):
            assert set(candidates.ids) == allowed & {ticket.pk for _, ticket in indexed}
        transaction.set_rollback(True)


def test_on_the_index_path_an_exact_copy_still_comes_first_in_score_order(client_for, embedder, settings, monkeypatch):
    """Issue 12's two findings, with every search on the index path (HNSW + labels' tickets)."""
    import io

    from django.core.management import call_command

    from tests.ai_assist.conftest import DATA
    from tests.ai_assist.test_fixes import _assert_exact_copy_first_in_score_order

    monkeypatch.setattr(corpus_module, "EXACT_MAX", 0)
    settings.AI_AUTO_ROUTE = False
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO(), "verbosity": 0}
    call_command("import_tickets", str(DATA / "it_tickets_sample.csv"), **quiet)
    call_command("train_router", **quiet)
    sample = list(Ticket.objects.exclude(description="").order_by("id")[:12])
    _assert_exact_copy_first_in_score_order(client_for("admin"), sample)


@pytest.mark.parametrize("exact_max", ["0", "100"])
def test_ai_eval_similar_served_measures_the_serving_path(tmp_path, exact_max):
    """`ai_eval similar --served`: the figure through candidates from the index (a subprocess: it
    makes its own throwaway database and index, as `ai_eval answer` does)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.ai_assist.conftest import DATA

    root = Path(__file__).resolve().parents[2]
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "CHROMA_URL"}}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="helpdesk.settings.main")
    command = ["ai_eval", "similar", "--served", "--exact-max", exact_max, "--json", "-v0"]
    files = ["--train", str(DATA / "tiny_train.csv"), "--test", str(DATA / "tiny_test.csv")]
    result = subprocess.run(
        [sys.executable, "manage.py", *command, *files],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["queries"] == 3 and figures["path"] == ("index" if exact_max == "0" else "exact")
    assert (figures["P@1"], figures["P@5"], figures["MRR"]) == (1.0, 1.0, 1.0)  # as the ranker alone
    assert figures["MAP@20"] == pytest.approx(1.0)
