"""In-app notifications over the API: the caller's own only (every role), unread first, filters,
pages with a fixed number of queries, mark read, mark all read, the unread count in /auth/me/, and
email preferences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.db import new_object_id
from notifications.models import EmailPreferences, Notification
from tests.helpers import WHO, assert_problem, delivered, matrix
from tickets import services

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"
PREFERENCES = "/api/v1/notifications/email-preferences/"


def note(user, *, minutes_ago: int = 0, read: bool = False, kind: str = "reply", actor=None) -> Notification:
    return Notification.objects.create(
        user=user,
        event_id=new_object_id(),
        kind=kind,
        ticket_id=new_object_id(),
        ticket_title="VPN",
        text=f"{kind} {minutes_ago} minutes ago",
        actor=actor,
        read=read,
        read_at=timezone.now() if read else None,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def inboxes(people):
    """Two notifications for each person (one read), so that nobody's list is empty."""
    for user in people.values():
        note(user, minutes_ago=5, kind="status")
        note(user, minutes_ago=1, read=True)
    return people


@pytest.mark.parametrize("who,status", matrix([401, 200, 200, 200, 200, 200]))
def test_everyone_signed_in_lists_their_own_and_only_their_own(client_for, inboxes, who, status):
    response = client_for(who).get(URL)
    if status != 200:
        assert_problem(response, status)
        return
    ids = {item["id"] for item in response.json()["results"]}
    assert ids == set(Notification.objects.filter(user=inboxes[who]).values_list("pk", flat=True))


@pytest.mark.parametrize("who", [w for w in WHO if w not in ("anonymous", "employee")])
def test_nobody_reads_or_marks_someone_elses(client_for, inboxes, who):
    theirs = Notification.objects.get(user=inboxes["employee"], read=False)
    assert_problem(client_for(who).post(f"{URL}{theirs.pk}/read/"), 404)
    client_for(who).post(f"{URL}read-all/")
    assert Notification.objects.filter(user=inboxes["employee"], read=False).count() == 1


def test_anonymous_callers_get_401_everywhere(api, inboxes):
    some = Notification.objects.first()
    for response in (
        api.get(URL),
        api.post(f"{URL}{some.pk}/read/"),
        api.post(f"{URL}read-all/"),
        api.get(PREFERENCES),
        api.patch(PREFERENCES, {"reply": False}, format="json"),
    ):
        assert_problem(response, 401)


def test_unread_first_then_newest_first_with_filters(client_for, people):
    employee = people["employee"]
    old_unread = note(employee, minutes_ago=60)
    new_read = note(employee, minutes_ago=1, read=True)
    new_unread = note(employee, minutes_ago=2, kind="status")
    client = client_for("employee")
    assert [n["id"] for n in client.get(URL).json()["results"]] == [new_unread.pk, old_unread.pk, new_read.pk]
    assert [n["id"] for n in client.get(URL, {"unread": "true"}).json()["results"]] == [new_unread.pk, old_unread.pk]
    assert [n["id"] for n in client.get(URL, {"unread": "false"}).json()["results"]] == [new_read.pk]
    assert [n["id"] for n in client.get(URL, {"kind": "status"}).json()["results"]] == [new_unread.pk]
    assert_problem(client.get(URL, {"kind": "nonsense"}), 400)


def test_the_list_is_paginated_with_a_fixed_number_of_queries(client_for, people, django_assert_max_num_queries):
    employee = people["employee"]
    for n in range(30):
        note(employee, minutes_ago=n, actor=people["agent"] if n % 2 else people["lead"])
    client = client_for("employee")
    with django_assert_max_num_queries(3):  # the caller, the count, the page (actors joined)
        body = client.get(URL, {"page_size": 25}).json()
    assert body["count"] == 30 and len(body["results"]) == 25 and body["next"]
    assert {item["actor"]["name"] for item in body["results"]} == {
        people["agent"].get_full_name() or people["agent"].email,
        people["lead"].get_full_name() or people["lead"].email,
    }


def test_mark_one_read_then_all(client_for, people):
    employee = people["employee"]
    first, *_ = (note(employee, minutes_ago=n) for n in range(3))
    client = client_for("employee")
    body = client.post(f"{URL}{first.pk}/read/").json()
    assert body["read"] is True and body["read_at"]
    read_at = body["read_at"]
    assert client.post(f"{URL}{first.pk}/read/").json()["read_at"] == read_at  # again: the first time is kept
    assert client.get("/api/v1/auth/me/").json()["unread_notifications"] == 2
    assert client.post(f"{URL}read-all/").json() == {"marked": 2}
    assert client.post(f"{URL}read-all/").json() == {"marked": 0}
    assert client.get(URL, {"unread": "true"}).json()["count"] == 0
    assert_problem(client.post(f"{URL}{new_object_id()}/read/"), 404)


def test_me_counts_the_unread_notifications_a_reply_brings(client_for, people, department):
    client = client_for("employee")
    assert client.get("/api/v1/auth/me/").json()["unread_notifications"] == 0
    with delivered():
        ticket = services.ticket_create(
            requester=people["employee"], title="VPN", description="x", department=department
        )
        services.comment_add(actor=people["agent"], ticket=ticket, body="Please reinstall the profile.")
    me = client.get("/api/v1/auth/me/").json()
    assert me["unread_notifications"] == 1 and me["email"] == "employee@example.com"
    [item] = client.get(URL).json()["results"]
    assert item["kind"] == "reply" and item["ticket"] == {"id": ticket.pk, "title": "VPN"}
    assert item["text"].endswith("replied: Please reinstall the profile.")
    assert item["actor"]["id"] == people["agent"].pk and item["read"] is False
    assert client.patch("/api/v1/auth/me/", {"first_name": "Emma"}, format="json").json()["unread_notifications"] == 1


def test_email_preferences_start_all_on_and_switch_per_kind(client_for, people):
    client = client_for("agent")
    assert client.get(PREFERENCES).json() == {"reply": True, "status": True, "assigned": True, "escalated": True}
    assert client.patch(PREFERENCES, {"assigned": False}, format="json").json()["assigned"] is False
    assert client.patch(PREFERENCES, {"status": False}, format="json").json() == {
        "reply": True,
        "status": False,
        "assigned": False,
        "escalated": True,
    }
    assert EmailPreferences.objects.get(user=people["agent"]).wants("reply")
    assert client_for("employee").get(PREFERENCES).json()["assigned"] is True  # theirs, not the agent's
    assert_problem(client.patch(PREFERENCES, {"digest": True}, format="json"), 400)
    assert_problem(client.patch(PREFERENCES, {"reply": "maybe"}, format="json"), 400)
