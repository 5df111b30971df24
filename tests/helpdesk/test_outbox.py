"""The outbox: an event is stored with its change (one transaction on SQL), under an id derived
from the change; a row a crash lost (MongoDB: two writes) comes back from the document's stamp,
by the sweeper or by the next writer; the lag is measured."""

from __future__ import annotations

import ast
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from helpdesk import events, outbox
from helpdesk.models import OutboxEvent
from knowledge import services as knowledge
from tests.helpers import ROOT, captured_events
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(people, department):
    return services.ticket_create(requester=people["employee"], title="VPN", description="drops", department=department)


def rows_of(target_id: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(target_id=target_id).order_by("sequence"))


def test_each_write_stores_one_event_named_by_the_change(people, ticket):
    ticket = services.ticket_transition(actor=people["agent"], ticket=ticket, status="pending")
    created, moved = rows_of(ticket.pk)
    for row, version in ((created, 1), (moved, 2)):
        key = f"ticket:{ticket.pk}:v{version}"
        assert row.pk == hashlib.sha256(key.encode()).hexdigest()[:24] and row.sequence == version
    assert (created.name, moved.name) == ("ticket.created", "ticket.status_changed")
    assert moved.data["changes"] == {"status": ["new", "pending"]} and moved.data["previous_status"] == "new"
    assert ticket.last_event == moved.data  # the document carries the event of its latest write


@pytest.mark.skipif(not transaction.get_connection().features.uses_savepoints, reason="SQL databases only")
def test_on_sql_the_event_and_the_change_commit_or_roll_back_together(people, ticket):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_transition(actor=people["agent"], ticket=ticket, status="pending")
        raise RuntimeError("the request failed after the write")
    assert Ticket.objects.get(pk=ticket.pk).status == "new"
    assert [row.name for row in rows_of(ticket.pk)] == ["ticket.created"]


def test_storing_an_event_twice_keeps_one_row(ticket):
    event = events.Event.from_data(ticket.last_event)
    assert outbox._store(event) is False  # the same id: already there
    assert len(rows_of(ticket.pk)) == 1


def _lose_the_row(document) -> str:
    """What a crash between the document's update and the event's insert leaves on MongoDB."""
    document.refresh_from_db()
    row_id = outbox.event_id(type(document), document.pk, getattr(document, type(document).event_sequence))
    OutboxEvent.objects.filter(pk=row_id).delete()
    return row_id


def test_the_sweeper_recreates_a_lost_row_from_the_document(people, ticket):
    services.ticket_escalate(actor=people["agent"], ticket=ticket, reason="VIP")
    row_id = _lose_the_row(ticket)
    assert outbox.sweep() == 1
    row = OutboxEvent.objects.get(pk=row_id)
    assert (row.name, row.sequence, row.data) == ("ticket.escalated", 2, ticket.last_event)
    assert outbox.sweep() == 0  # nothing missing any more


def test_the_next_writer_recreates_the_row_of_the_version_it_read_first(people, ticket):
    services.comment_add(actor=people["agent"], ticket=ticket, body="On it")
    lost = _lose_the_row(ticket)  # version 2's row
    services.ticket_transition(actor=people["agent"], ticket=ticket, status="pending")  # writes version 3
    assert [(row.sequence, row.name) for row in rows_of(ticket.pk)] == [
        (1, "ticket.created"),
        (2, "comment.added"),
        (3, "ticket.status_changed"),
    ]
    assert OutboxEvent.objects.filter(pk=lost).exists()  # with the same id: no gap, no duplicate


def test_articles_recover_the_same_way(people):
    lead = people["lead"]
    article = knowledge.article_create(actor=lead, title="VPN", body="Restart it.")
    article = knowledge.article_publish(actor=lead, article=article)
    _lose_the_row(article)
    assert outbox.sweep() == 1
    assert [row.name for row in rows_of(article.pk)] == ["article.created", "article.published"]
    assert [row.sequence for row in rows_of(article.pk)] == [1, 2]  # the revision; the content version is still 1


def test_the_sweeper_leaves_old_changes_alone(people, ticket, time_machine):
    _lose_the_row(ticket)
    time_machine.move_to(timezone.now() + timedelta(days=2))  # past the sweep window: delivered and purged long ago
    assert outbox.sweep() == 0


def test_article_deleted_carries_what_every_article_event_carries(people):
    lead = people["lead"]
    with captured_events(events.ArticleEvent) as seen:
        article = knowledge.article_create(actor=lead, title="VPN", body="Restart it.", tags=["vpn"])
        knowledge.article_delete(actor=lead, article=article)
    created, deleted = seen
    common = {"target_id", "title", "slug", "status", "visibility", "category_id", "version", "actor_id"}
    assert {name: getattr(deleted, name) for name in common} == {name: getattr(created, name) for name in common}


def test_lag_is_the_age_of_the_oldest_undelivered_event(ticket, time_machine):
    assert outbox.lag().undelivered == 1  # the test's transaction never commits: nobody delivered it
    time_machine.move_to(timezone.now() + timedelta(seconds=90))
    lag = outbox.lag()
    assert 90 <= lag.seconds < 100 and lag.undelivered == 1
    OutboxEvent.objects.update(delivered_at=timezone.now())
    assert outbox.lag() == outbox.Lag(seconds=0.0, undelivered=0)


def test_readyz_reports_the_outbox_lag(api, ticket):
    body = api.get("/readyz").json()
    assert body["outbox"]["undelivered"] == 1 and body["outbox"]["lag_seconds"] >= 0


def test_purge_forgets_old_delivered_events_only(ticket, time_machine):
    OutboxEvent.objects.filter(target_id=ticket.pk).update(delivered_at=timezone.now())
    time_machine.move_to(timezone.now() + timedelta(days=8))
    fresh = events.publish(events.LoginFailed(target_id="", email="x@example.com"))
    assert outbox.purge() == 1
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [fresh.id]  # undelivered: kept


# --- The contract -----------------------------------------------------------------------------


def test_every_event_is_a_frozen_dataclass_with_a_unique_name_and_a_target_type():
    assert len(events.REGISTRY) >= 30
    for name, kind in events.REGISTRY.items():
        assert kind.name == name and kind.__dataclass_params__.frozen
        assert kind.target_type in {
            "ticket",
            "article",
            "category",
            "user",
            "department",
            "sla_policy",
            "suggestion",
            "conversation",
            "notification",
        }


def test_docs_list_every_event():
    page = (ROOT / "docs" / "events.md").read_text()
    missing = [name for name in events.REGISTRY if f"`{name}`" not in page]
    assert missing == []


def test_no_app_names_an_event_by_a_string():
    """Services publish event classes; only helpdesk/events.py spells the names."""
    found = []
    for app in ("accounts", "tickets", "knowledge", "ai_assist", "audit", "notifications", "intake", "helpdesk"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "helpdesk" / "events.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in events.REGISTRY:
                    found.append(f"{Path(path).relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == []


def test_an_event_survives_the_round_trip_through_json(people, ticket):
    services.comment_add(actor=people["agent"], ticket=ticket, body="On it", internal=True)
    ticket.refresh_from_db()
    event = events.Event.from_data(ticket.last_event)
    assert isinstance(event, events.CommentAdded) and event.staff_only()
    assert events.Event.from_data(event.to_data()) == event
