"""Email in (intake.services.receive, the function both the webhooks and the mailbox call): who may
open a ticket by email, replies that become comments and the ones that never do, what is stripped
and kept, what is refused (auto-replies, loops, spam), and a message handled twice."""

from __future__ import annotations

import logging

import pytest

from accounts.models import Role, User
from helpdesk import files
from helpdesk.models import OutboxEvent
from intake import threads
from intake.models import InboundMessage
from intake.services import receive
from tests.factories import UserFactory
from tests.helpers import EICAR, PNG, delivered
from tests.intake.conftest import INTAKE, email, notification_to, parsed, reply_to
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def take(raw: bytes, source: str = "test"):
    with delivered():
        return receive(parsed(raw), source=source)


def event_kinds(ticket: Ticket) -> list[str]:
    return list(
        OutboxEvent.objects.filter(target_id=ticket.pk)
        .order_by("sequence", "created_at")
        .values_list("name", flat=True)
    )


# --- New tickets ------------------------------------------------------------------------------


def test_a_known_person_opens_a_ticket_with_subject_text_files_and_the_original(people):
    raw = email(
        text="The printer shows error E-42 since this morning.\n\n--\nErin Employee\nFinance, room 3.14\n",
        files=(("screenshot.png", PNG, "image/png"),),
    )
    received = take(raw)
    ticket = Ticket.objects.get(pk=received.ticket_id)
    assert received.outcome == "ticket"
    assert ticket.requester == people["employee"]
    assert ticket.title == "Printer on floor 3 is jammed"
    assert ticket.description == "The printer shows error E-42 since this morning."  # no signature
    names = {a["name"]: a for a in ticket.attachments}
    assert names["screenshot.png"]["content_type"] == "image/png"
    with files.open_stored(names["original-message.eml"]["storage_key"]) as original:
        kept = original.read()
    assert b"Finance, room 3.14" in kept and b"screenshot.png" in kept  # the whole message, signature and all
    assert "ticket.created" in event_kinds(ticket)  # the outbox: routing, feed, notifications, audit


def test_an_unknown_address_of_an_allowed_domain_gets_an_employee_account_without_a_password(db):
    received = take(email(sender="Newton Newcomer <newton@example.com>"))
    user = User.objects.get(email="newton@example.com")
    assert received.outcome == "ticket" and Ticket.objects.get(pk=received.ticket_id).requester == user
    assert user.role == Role.EMPLOYEE and not user.has_usable_password() and user.is_active
    assert (user.first_name, user.last_name) == ("Newton", "Newcomer")


def test_the_new_account_can_get_a_password_through_the_reset_email(db):
    from accounts.services import password_reset_request
    from notifications.models import ACCOUNT_EMAIL, OutgoingEmail

    take(email(sender="newton@example.com"))
    with delivered():
        password_reset_request(email="newton@example.com")
    [reset] = OutgoingEmail.objects.filter(to="newton@example.com", kind=ACCOUNT_EMAIL)
    assert "reset" in reset.subject.lower()


def test_anyone_else_is_refused_logged_and_gets_no_ticket(people, caplog):
    with caplog.at_level(logging.WARNING, logger="intake.services"):
        received = take(email(sender="mallory@elsewhere.example.net"))
    assert received.outcome == "refused" and Ticket.objects.count() == 0
    assert not User.objects.filter(email="mallory@elsewhere.example.net").exists()
    assert "unknown sender" in caplog.text and "mallory@elsewhere.example.net" in caplog.text
    assert InboundMessage.objects.get().outcome == "refused"


def test_a_deactivated_account_opens_nothing(people):
    UserFactory(email="gone@example.com", is_active=False)
    assert take(email(sender="gone@example.com")).outcome == "refused"
    assert Ticket.objects.count() == 0


def test_the_same_message_twice_makes_one_ticket(people):
    raw = email(message_id="<retry-1@client.example.org>")
    first, second = take(raw), take(raw)
    assert first.outcome == "ticket" and second.outcome == "duplicate"
    assert second.ticket_id == first.ticket_id and Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Precedence": "list"},
        {"X-Autoreply": "yes"},
        {"X-Spam-Flag": "YES"},
    ],
    ids=lambda h: "-".join(f"{k}:{v}" for k, v in h.items()),
)
def test_auto_replies_lists_and_spam_make_no_ticket(people, headers):
    assert take(email(headers=headers)).outcome == "refused"
    assert Ticket.objects.count() == 0


def test_a_bounce_from_the_mailer_daemon_makes_no_ticket(people):
    assert take(email(sender="MAILER-DAEMON@example.com", subject="Undelivered Mail")).outcome == "refused"
    assert Ticket.objects.count() == 0


def test_our_own_mail_coming_back_is_a_loop_and_makes_nothing(people):
    looped = email(message_id="<0123456789abcdef01234567@helpdesk-ai.example.com>")
    from_us = email(sender="Helpdesk AI <helpdesk@example.com>")
    assert take(looped).outcome == "refused" and take(from_us).outcome == "refused"
    assert Ticket.objects.count() == 0


def test_the_providers_spam_verdict_and_score_are_honoured(people, settings):
    settings.EMAIL_INTAKE_SPAM_SCORE = 5.0
    verdict, score, fine = parsed(email()), parsed(email()), parsed(email())
    verdict.spam_detected = True
    score.spam_score = 7.5
    fine.spam_score = 1.0
    with delivered():
        outcomes = [receive(m, source="test").outcome for m in (verdict, score, fine)]
    assert outcomes == ["refused", "refused", "ticket"]


def test_a_file_that_fails_the_upload_checks_is_left_out_and_the_ticket_stands(people, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    raw = email(
        files=(
            ("eicar.txt", EICAR, "text/plain"),
            ("huge.txt", b"x" * 5000, "text/plain"),
            ("tool.exe", b"MZ" + b"\0" * 200, "application/octet-stream"),
            ("ok.png", PNG, "image/png"),
        )
    )
    ticket = Ticket.objects.get(pk=take(raw).ticket_id)
    assert [a["name"] for a in ticket.attachments if a["name"] != "original-message.eml"] == ["ok.png"]


def test_a_zip_bomb_is_refused_like_an_upload(people, settings):
    import io
    import zipfile

    settings.ARCHIVE_MAX_MEMBER_BYTES = 100_000  # the packed document unpacks to twice that
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 200_000)
    raw = email(files=(("report.docx", buffer.getvalue(), "application/zip"),))
    ticket = Ticket.objects.get(pk=take(raw).ticket_id)
    assert "report.docx" not in [a["name"] for a in ticket.attachments]


def test_an_html_only_message_gives_its_text(people):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "employee@example.com", INTAKE, "HTML only"
    message.set_content("<p>Outlook &amp; Teams <b>crash</b> at start.</p>", subtype="html")
    ticket = Ticket.objects.get(pk=take(message.as_bytes()).ticket_id)
    assert ticket.description == "Outlook & Teams crash at start."


# --- Replies ----------------------------------------------------------------------------------


@pytest.fixture
def ticket(people, department):
    with delivered():
        return services.ticket_create(
            requester=people["employee"], title="VPN drops", description="Every hour", department=department
        )


@pytest.fixture
def notification(people, ticket):
    """The email the requester got about an agent's reply."""
    with delivered():
        services.comment_add(actor=people["agent"], ticket=ticket, body="Which VPN client version?")
    return notification_to("employee@example.com")


def test_notification_emails_carry_a_threading_reply_to_and_our_message_id(notification, ticket):
    [reply_address] = notification.reply_to
    assert reply_address.startswith(f"support+{ticket.pk}.") and reply_address.endswith("@example.com")
    assert notification.extra_headers["Message-ID"].endswith("@helpdesk-ai.example.com>")
    assert "Reply to this email to comment on the ticket." in notification.body


def test_a_reply_becomes_a_comment_by_its_writer_without_the_quote_and_signature(people, ticket, notification):
    received = take(reply_to(notification, sender="Erin <employee@example.com>", text="Version 5.2, on Windows."))
    ticket.refresh_from_db()
    assert received.outcome == "comment" and received.ticket_id == ticket.pk
    last = ticket.comments[-1]
    assert last["author"] == people["employee"].pk and last["body"] == "Version 5.2, on Windows."
    assert not last["internal"]
    assert any(a["name"] == "original-message.eml" for a in ticket.attachments)  # the whole reply is kept
    assert event_kinds(ticket)[-2:] == ["comment.added", "attachment.added"]
    assert Ticket.objects.count() == 1


def test_a_reply_that_lost_the_reply_address_is_threaded_by_in_reply_to(people, ticket, notification):
    received = take(reply_to(notification, sender="employee@example.com", text="Still dropping.", to=INTAKE))
    ticket.refresh_from_db()
    assert received.outcome == "comment" and ticket.comments[-1]["body"] == "Still dropping."


def test_a_forged_from_with_someone_elses_reply_address_adds_nothing(people, ticket, notification):
    """The reply address was issued to the requester: mail 'from' anyone else is refused, even from
    an agent who could comment, and never becomes a new ticket either."""
    before = len(Ticket.objects.get(pk=ticket.pk).comments)
    for sender in ("agent.other@example.com", "agent@example.com", "lead@example.com"):
        assert take(reply_to(notification, sender=sender, text="Closing this.")).outcome == "refused"
    assert len(Ticket.objects.get(pk=ticket.pk).comments) == before and Ticket.objects.count() == 1


def test_a_forged_token_or_a_bare_ticket_address_adds_nothing(people, ticket):
    forged = email(sender="employee@example.com", to=f"support+{ticket.pk}.{'0' * 24}@example.com", text="x")
    assert take(forged).outcome == "refused"
    assert Ticket.objects.get(pk=ticket.pk).comments == []


def test_a_token_of_a_person_the_policy_no_longer_lets_comment_adds_nothing(people, ticket):
    """The agent's own reply address (the token is theirs), but they moved to another department:
    the tickets policy says no, so nothing is added."""
    agent = people["agent"]
    tag = threads.thread_tag(ticket_id=ticket.pk, user_id=agent.pk)
    raw = email(sender="agent@example.com", to=f"support+{tag}@example.com", text="On it.")
    agent.department = people["agent_other"].department
    agent.save()
    assert take(raw).outcome == "refused"
    assert Ticket.objects.get(pk=ticket.pk).comments == []


def test_the_same_token_works_while_the_policy_allows(people, ticket):
    tag = threads.thread_tag(ticket_id=ticket.pk, user_id=people["agent"].pk)
    raw = email(sender="agent@example.com", to=f"support+{tag}@example.com", text="On it.")
    assert take(raw).outcome == "comment"
    assert [c["author"] for c in Ticket.objects.get(pk=ticket.pk).comments] == [people["agent"].pk]


def test_a_reply_to_a_deleted_ticket_adds_nothing(people, ticket, notification):
    with delivered():
        services.ticket_delete(actor=people["admin"], ticket=ticket)
    assert take(reply_to(notification, sender="employee@example.com", text="Hello?")).outcome == "refused"


def test_a_persons_inbound_emails_are_in_their_export_and_blanked_by_their_erasure(people):
    from helpdesk import personal_data

    raw = email(message_id="<erase-me@client.example.org>")
    take(raw)
    subject = personal_data.subject(user_id=people["employee"].pk, email="employee@example.com")
    [part] = [p for p in personal_data.parts() if p.name == "intake"]
    exported = part.export(subject)["inbound_emails"]
    assert [(e["sender"], e["subject"], e["outcome"]) for e in exported] == [
        ("employee@example.com", "Printer on floor 3 is jammed", "ticket")
    ]
    assert part.erase(subject) == {"intake_inboundmessage": 1}
    row = InboundMessage.objects.get()
    assert (row.sender, row.subject) == ("", "")
    assert take(raw).outcome == "duplicate"  # a late retry still makes nothing


def test_an_emailed_ticket_and_reply_are_audited_as_the_sender(people, department):
    """The audit log hears email like the API: the new account, the ticket, its files, the comment."""
    from audit.models import AuditEntry

    made = take(email(sender="Newton Newcomer <newton@example.com>", files=(("shot.png", PNG, "image/png"),)))
    newton = User.objects.get(email="newton@example.com")
    tag = threads.thread_tag(ticket_id=made.ticket_id, user_id=newton.pk)
    take(email(sender="newton@example.com", to=f"support+{tag}@example.com", text="Also the scanner."))
    logged = [(e.action, e.actor_id) for e in AuditEntry.objects.order_by("at", "id")]
    assert logged == [
        ("user.created", None),
        ("ticket.created", newton.pk),
        ("attachment.added", newton.pk),
        ("attachment.added", newton.pk),
        ("comment.added", newton.pk),
        ("attachment.added", newton.pk),
    ]
