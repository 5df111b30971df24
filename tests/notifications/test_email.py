"""Email: who gets which, what it says (text and HTML, escaped), never an internal note to an
employee, preferences that switch kinds off, and a provider outage that loses nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from accounts.models import Role
from helpdesk import dispatch, jobs
from helpdesk.models import OutboxEvent
from notifications import mail as notifications_mail
from notifications import services as notifications
from notifications.models import Notification, OutgoingEmail
from tests.factories import UserFactory
from tests.helpers import delivered
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A provider that is down."""

    def send_messages(self, email_messages):
        raise ConnectionError("provider: 503 Service Unavailable")


def sent() -> list:
    """Send what is queued and return what went out (the locmem backend's outbox)."""
    notifications_mail.send_due()
    return list(mail.outbox)


@pytest.fixture
def ticket(people, department):
    with delivered():
        return services.ticket_create(
            requester=people["employee"],
            title="VPN drops every hour",
            description="Since Monday",
            department=department,
        )


def fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- Who gets mail -------------------------------------------------------------------------------


def test_the_requester_gets_a_public_reply_and_never_an_internal_note(people, ticket):
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Firewall idle timeouts", internal=True)
        services.comment_add(actor=people["agent"], ticket=ticket, body="Please reinstall the VPN profile.")
    [message] = sent()
    assert message.to == ["employee@example.com"]
    assert message.subject == "[Helpdesk AI] New reply on your ticket: VPN drops every hour"
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "Please reinstall the VPN profile." in text and "Firewall" not in text
    assert all("Firewall" not in row.text + row.html for row in OutgoingEmail.objects.all())


def test_nobody_gets_mail_about_what_they_did_themselves(people, ticket):
    with delivered():
        services.comment_add(actor=people["employee"], ticket=ticket, body="Still broken")
        services.ticket_transition(actor=people["employee"], ticket=fresh(ticket), status="resolved")
        services.ticket_assign(actor=people["agent"], ticket=fresh(ticket), assignee=people["agent"])  # taken
    assert sent() == []


def test_status_changes_go_to_the_requester(people, ticket):
    with delivered():
        services.ticket_transition(actor=people["agent"], ticket=ticket, status="pending")
    [message] = sent()
    assert message.to == ["employee@example.com"]
    assert message.subject == "[Helpdesk AI] Your ticket is now pending: VPN drops every hour"
    assert "moved your ticket from new to pending" in message.body


def test_an_assignment_goes_to_the_assignee(people, ticket, department):
    other_agent = UserFactory(email="agent2@example.com", role=Role.AGENT, department=department)
    with delivered():
        services.ticket_assign(actor=people["lead"], ticket=ticket, assignee=other_agent)
    [message] = sent()
    assert (
        message.to == ["agent2@example.com"]
        and message.subject == "[Helpdesk AI] Assigned to you: VPN drops every hour"
    )
    assert "assigned a ticket to you" in message.body


def test_routing_with_an_assignee_tells_the_assignee(people, department):
    with delivered():
        triage = services.ticket_create(requester=people["employee"], title="VPN again", description="Drops")
        services.ticket_route(ticket=triage, department=department, confidence=0.97, assignee=people["agent"])
    [message] = sent()
    assert message.to == ["agent@example.com"] and "Routing assigned a ticket to you." in message.body


def test_an_escalation_goes_to_the_leads_of_the_department(people, ticket, other_department):
    UserFactory(email="lead.other@example.com", role=Role.LEAD, department=other_department)
    UserFactory(email="lead.gone@example.com", role=Role.LEAD, department=ticket.department, is_active=False)
    with delivered():
        services.ticket_escalate(actor=None, ticket=ticket, reason="SLA breached: first response was due <b>09:00</b>.")
    [message] = sent()
    assert message.to == ["lead@example.com"] and message.subject == "[Helpdesk AI] Escalated: VPN drops every hour"
    assert "SLA breached: first response was due <b>09:00</b>." in message.body
    assert "&lt;b&gt;09:00&lt;/b&gt;" in message.alternatives[0][0]


def test_an_escalation_in_triage_goes_to_every_lead(people, other_department):
    UserFactory(email="lead.other@example.com", role=Role.LEAD, department=other_department)
    with delivered():
        triage = services.ticket_create(requester=people["employee"], title="Help", description="?")
        services.ticket_escalate(actor=people["admin"], ticket=triage, reason="Nobody took it.")
    assert sorted(message.to[0] for message in sent()) == ["lead.other@example.com", "lead@example.com"]


# --- What it says --------------------------------------------------------------------------------


def test_a_comments_html_never_renders_as_markup(people, ticket):
    body = '<script>alert("x")</script><a href="https://evil.example">click</a>\nsecond line'
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body=body)
    [message] = sent()
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    assert "<script>" not in html and 'href="https://evil.example"' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html and "<br>second line" in html
    assert body in message.body  # the text part is text: shown as written, never interpreted
    assert "http://127.0.0.1:8000/api/v1/tickets/" in message.body  # SITE_URL


def test_a_title_with_a_line_break_cannot_forge_a_header(people, department):
    with delivered():
        ticket = services.ticket_create(
            requester=people["employee"], title="VPN\nBcc: all@example.com", description="x", department=department
        )
        services.ticket_transition(actor=people["agent"], ticket=ticket, status="open")
    [message] = sent()
    assert "\n" not in message.subject and message.bcc == []


def test_each_email_carries_a_stable_message_id_and_its_kind(people, ticket):
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    [row] = OutgoingEmail.objects.all()
    [message] = sent()
    # The domain is ours (intake refuses mail that comes back with it); the tag threads a reply.
    assert message.extra_headers["Message-ID"] == f"<{row.pk}.{row.thread}@helpdesk-ai.localhost>"
    assert row.thread.startswith(f"{ticket.pk}.")
    assert message.tags == ["reply"] and message.metadata == {"email_id": row.pk, "event_id": row.event_id}


# --- Preferences ---------------------------------------------------------------------------------


def test_preferences_switch_a_kind_of_email_off_but_not_the_notification(people, ticket):
    notifications.email_preferences_update(user=people["employee"], reply=False)
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
        services.ticket_transition(actor=people["agent"], ticket=fresh(ticket), status="pending")
    assert [message.subject.split(":")[0] for message in sent()] == ["[Helpdesk AI] Your ticket is now pending"]
    assert sorted(Notification.objects.filter(user=people["employee"]).values_list("kind", flat=True)) == [
        "reply",
        "status",
    ]


# --- Outages -------------------------------------------------------------------------------------


def test_a_provider_outage_leaves_the_email_queued_and_it_is_sent_once_when_back(
    people, ticket, settings, caplog, time_machine
):
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    settings.EMAIL_BACKEND = "tests.notifications.test_email.FailingBackend"
    report = notifications_mail.send_due()
    assert (report.sent, report.failed) == (0, 1)
    [row] = OutgoingEmail.objects.all()
    assert row.sent_at is None and row.attempts == 1 and "503" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert notifications_mail.send_due().failed == 0  # backing off: not tried again yet
    time_machine.move_to(timezone.now() + timedelta(minutes=5))
    assert notifications_mail.send_due().failed == 1  # still down: queued again, a longer wait
    row.refresh_from_db()
    assert row.attempts == 2 and row.sent_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    assert len(sent()) == 1 and len(sent()) == 1  # sent once, never again
    row.refresh_from_db()
    assert row.sent_at is not None and row.last_error == ""


def test_an_outage_stops_the_batch_instead_of_waiting_on_every_email(people, ticket, settings):
    for n in range(6):
        with delivered():
            services.comment_add(actor=people["agent"], ticket=fresh(ticket), body=f"Reply {n}")
    settings.EMAIL_BACKEND = "tests.notifications.test_email.FailingBackend"
    report = notifications_mail.send_due()
    assert report.failed == notifications_mail.GIVE_UP_BATCH_AFTER
    assert OutgoingEmail.objects.filter(sent_at__isnull=True).count() == 6


def test_a_failing_email_consumer_is_retried_by_the_dispatcher_and_queues_once(people, ticket, monkeypatch):
    real = notifications_mail.render
    calls = {"n": 0}

    def flaky(event, recipient):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("template engine hiccup")
        return real(event, recipient)

    monkeypatch.setattr(notifications_mail, "render", flaky)
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    row = OutboxEvent.objects.get(name="comment.added")
    assert row.delivered_at is None and "notifications.email" in row.last_error
    assert not OutgoingEmail.objects.exists() and Notification.objects.count() == 1  # the others went on
    OutboxEvent.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert dispatch.deliver_due().delivered == 1
    assert OutgoingEmail.objects.count() == 1 and Notification.objects.count() == 1
    assert len(sent()) == 1


def test_redelivering_an_event_queues_nothing_new(people, ticket):
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    event_id = OutboxEvent.objects.get(name="comment.added").pk
    from helpdesk import events

    event = events.Event.from_data(OutboxEvent.objects.get(pk=event_id).data)
    notifications_mail.queue(event)
    from notifications import inbox

    inbox.record(event)
    assert OutgoingEmail.objects.count() == 1 and Notification.objects.count() == 1


def test_sending_is_a_periodic_job_in_the_table(settings):
    assert ("notifications.send_emails", float(settings.EMAIL_SEND_SECONDS)) in jobs.periodic_jobs()


def test_sent_email_is_forgotten_after_the_retention(people, ticket, settings):
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Reply")
    sent()
    later = timezone.now() + timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    assert notifications_mail.purge_sent(now=later) == 1
