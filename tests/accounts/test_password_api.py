"""Account recovery and password change (issue 15, point 7): a reset email that answers the same for
any address, a link that works once and ends every refresh token, a change that needs the old
password and is limited like sign-ins, nothing written on a failure, and an audit log without secrets."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.models import RevokedToken, User
from accounts.tokens import issue_pair, password_reset_token
from audit.models import AuditEntry
from helpdesk import events
from helpdesk.models import OutboxEvent
from notifications import mail as notifications_mail
from notifications.models import OutgoingEmail
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, bearer_client, captured_events, delivered

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/"
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/refresh/"
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
def ada(db):
    return UserFactory(email="ada@example.com", first_name="Ada")


def ask_reset(api, email: str, ip: str = "10.9.0.1"):
    with delivered():
        return api.post(RESET, {"email": email}, format="json", REMOTE_ADDR=ip)


def sent_emails() -> list:
    """Send what is queued (the email job) and return what went out."""
    notifications_mail.send_due()
    return list(mail.outbox)


def link_in(text: str) -> dict[str, str]:
    """The uid and token an email gives (without PASSWORD_RESET_URL: on lines of their own)."""
    return {
        "uid": re.search(r"^uid: (\S+)$", text, re.M).group(1),
        "token": re.search(r"^token: (\S+)$", text, re.M).group(1),
    }


def state(user: User) -> tuple:
    """What a failed call must leave as it was."""
    user.refresh_from_db()
    return user.password, RevokedToken.objects.count(), OutboxEvent.objects.count(), OutgoingEmail.objects.count()


def signs_in(api, email: str, password: str) -> bool:
    return api.post(LOGIN, {"email": email, "password": password}, format="json").status_code == 200


# --- Asking for a reset ----------------------------------------------------------------------------


def test_the_answer_is_the_same_for_an_active_an_unknown_and_an_inactive_address(api, ada):
    UserFactory(email="gone@example.com", is_active=False)
    answers = [ask_reset(api, email) for email in ("ada@example.com", "nobody@example.com", "gone@example.com")]
    assert {response.status_code for response in answers} == {202}
    assert len({response.content for response in answers}) == 1
    assert len({response["Content-Type"] for response in answers}) == 1
    assert "If an active account uses this address" in answers[0].json()["detail"]
    # Only the active account's own address gets an email.
    assert [message.to for message in sent_emails()] == [["ada@example.com"]]


def test_the_email_has_a_working_link_and_no_password(api, ada):
    ask_reset(api, " ADA@example.com ")
    [message] = sent_emails()
    assert message.subject == "[Helpdesk AI] Reset your password"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert PASSWORD not in body and ada.password not in body
        assert "/api/v1/auth/password/reset/confirm/" in body
    link = link_in(message.body)
    assert link["uid"] in html and link["token"] in html
    response = api.post(CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    assert signs_in(api, "ada@example.com", NEW_PASSWORD)
    assert not signs_in(api, "ada@example.com", PASSWORD)


@override_settings(PASSWORD_RESET_URL="https://desk.example/reset?uid={uid}&token={token}")
def test_with_a_front_end_page_configured_the_email_links_to_it(api, ada):
    ask_reset(api, "ada@example.com")
    [message] = sent_emails()
    found = re.search(r"https://desk\.example/reset\?uid=([\w-]+)&token=([\w-]+)", message.body)
    assert found, message.body
    assert f'href="https://desk.example/reset?uid={found[1]}&amp;token={found[2]}"' in message.alternatives[0][0]
    assert api.post(CONFIRM, {"uid": found[1], "token": found[2], "new_password": NEW_PASSWORD}).status_code == 204


def test_a_reset_link_works_once_and_ends_every_refresh_token(api, ada):
    phone, laptop = issue_pair(ada), issue_pair(ada)
    uid, token = password_reset_token(ada)
    with captured_events(events.PasswordResetCompleted) as seen:
        assert api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}).status_code == 204
    assert [event.target_id for event in seen] == [ada.pk]
    again = api.post(CONFIRM, {"uid": uid, "token": token, "new_password": "yet-another-passphrase-7"})
    assert_problem(again, 400, "invalid_reset_token")
    for pair in (phone, laptop):
        assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_revoked")
    assert signs_in(api, "ada@example.com", NEW_PASSWORD)
    fresh = api.post(LOGIN, {"email": "ada@example.com", "password": NEW_PASSWORD}, format="json").json()
    assert api.post(REFRESH, {"refresh": fresh["refresh"]}, format="json").status_code == 200


def test_signing_in_meanwhile_ends_an_unused_link(api, ada):
    uid, token = password_reset_token(ada)
    assert signs_in(api, "ada@example.com", PASSWORD)  # the owner remembered it
    assert_problem(api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}), 400)


def bad_links(ada: User) -> dict[str, dict]:
    uid, token = password_reset_token(ada)
    other_uid, other_token = password_reset_token(UserFactory(email="bob@example.com"))
    return {
        "garbage uid": {"uid": "!!!", "token": token},
        "uid of nobody": {"uid": urlsafe_base64_encode(b"0" * 24), "token": token},
        "uid decoding to a NUL": {"uid": urlsafe_base64_encode(b"\x00" * 24), "token": token},
        "uid decoding to bytes that are no text": {"uid": urlsafe_base64_encode(b"\xff\xfe"), "token": token},
        "garbage token": {"uid": uid, "token": "1-2"},
        "someone else's token": {"uid": uid, "token": other_token},
        "token with another uid": {"uid": other_uid, "token": token},
        "tampered token": {"uid": uid, "token": token[:-2] + ("00" if not token.endswith("00") else "11")},
    }


def test_bad_links_are_a_400_with_a_clear_code_and_change_nothing(api, ada):
    before = state(ada)
    for name, link in bad_links(ada).items():
        response = api.post(CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")
        body = assert_problem(response, 400, "invalid_reset_token")
        assert "not valid or has expired" in body["detail"], name
        assert NEW_PASSWORD not in response.content.decode()
    assert state(ada)[0] == before[0] and state(ada)[1:] == before[1:]


def test_an_expired_link_or_a_deactivated_account_is_refused(api, ada, time_machine):
    uid, token = password_reset_token(ada)
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60))
    assert_problem(api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}), 400)
    uid, token = password_reset_token(ada)
    User.objects.filter(pk=ada.pk).update(is_active=False)
    assert_problem(api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}), 400)
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)


@pytest.mark.parametrize("weak", ["short", "password123", "12345678901", "ada@example.com"])
def test_a_weak_new_password_is_a_400_naming_the_field_and_changes_nothing(api, ada, weak):
    uid, token = password_reset_token(ada)
    before = state(ada)
    body = assert_problem(api.post(CONFIRM, {"uid": uid, "token": token, "new_password": weak}), 400)
    assert list(body["errors"]) == ["new_password"]
    me = bearer_client(ada)
    body = assert_problem(me.post(CHANGE, {"old_password": PASSWORD, "new_password": weak}), 400)
    assert list(body["errors"]) == ["new_password"]
    assert state(ada) == before
    # The link still works: a refused password spent nothing.
    assert api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}).status_code == 204


@pytest.mark.parametrize(
    "url,body",
    [
        (RESET, {"email": "ada@example.com", "role": "admin"}),
        (RESET, {"email": "not-an-email"}),
        (CONFIRM, {"uid": "x", "token": "y"}),
        (CONFIRM, {"uid": "x", "token": "y", "new_password": NEW_PASSWORD, "email": "ada@example.com"}),
    ],
)
def test_unknown_or_missing_fields_are_a_400(api, ada, url, body):
    before = state(ada)
    assert_problem(api.post(url, body, format="json"), 400, "validation_error")
    assert state(ada) == before


# --- Changing one's password -----------------------------------------------------------------------


def test_changing_needs_the_old_password_and_a_wrong_one_changes_nothing(ada):
    me = bearer_client(ada)
    before = state(ada)
    with captured_events(events.Event) as seen:
        response = me.post(CHANGE, {"old_password": "not-my-password", "new_password": NEW_PASSWORD})
    body = assert_problem(response, 400, "wrong_password")
    assert list(body["errors"]) == ["old_password"]
    assert "not-my-password" not in response.content.decode() and NEW_PASSWORD not in response.content.decode()
    assert seen == [] and state(ada) == before


def test_changing_returns_a_new_pair_and_ends_the_other_sessions(api, ada):
    other_session = issue_pair(ada)
    me = bearer_client(ada)
    with captured_events(events.PasswordChanged) as seen:
        response = me.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    assert [(event.target_id, event.actor_id) for event in seen] == [(ada.pk, ada.pk)]
    assert_problem(api.post(REFRESH, {"refresh": other_session["refresh"]}, format="json"), 401, "token_revoked")
    assert api.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api.get("/api/v1/auth/me/").status_code == 200
    assert signs_in(APIClient(), "ada@example.com", NEW_PASSWORD)


def test_changing_needs_a_signed_in_caller(api, ada):
    assert_problem(api.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}), 401)


@pytest.mark.usefixtures("one_rate_window")
def test_wrong_old_passwords_are_limited_like_sign_ins_and_share_their_budget(api, ada):
    me = bearer_client(ada)
    for _ in range(5):
        assert_problem(me.post(CHANGE, {"old_password": "guess", "new_password": NEW_PASSWORD}), 400)
    limited = me.post(CHANGE, {"old_password": PASSWORD, "new_password": NEW_PASSWORD})  # even the right one waits
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The same budget as wrong sign-ins of the account, from anywhere.
    other_ip = api.post(
        LOGIN, {"email": "ada@example.com", "password": PASSWORD}, format="json", REMOTE_ADDR="10.8.0.9"
    )
    assert_problem(other_ip, 429)
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)


# --- Limits on reset emails -------------------------------------------------------------------------


LIMITS = {**settings.RATE_LIMITS, "password_reset_ip": "4/h", "password_reset_account": "2/h"}


@pytest.mark.usefixtures("one_rate_window")
@override_settings(RATE_LIMITS=LIMITS)
def test_reset_emails_are_limited_per_address_from_any_ip(api, ada):
    for n in range(2):
        assert ask_reset(api, "ada@example.com", ip=f"10.7.0.{n}").status_code == 202
    for email in ("ada@example.com", "ADA@example.com"):
        response = ask_reset(api, email, ip="10.7.1.1")
        assert_problem(response, 429, "rate_limited")
        assert int(response["Retry-After"]) >= 1
    # An unknown address is limited alike: a 429 tells nothing about which addresses exist.
    for n in range(2):
        assert ask_reset(api, "nobody@example.com", ip=f"10.7.2.{n}").status_code == 202
    assert_problem(ask_reset(api, "nobody@example.com", ip="10.7.3.1"), 429)
    assert len(sent_emails()) == 2


@pytest.mark.usefixtures("one_rate_window")
@override_settings(RATE_LIMITS=LIMITS)
def test_reset_emails_are_limited_per_ip_whatever_the_address(api, ada):
    for n in range(4):
        assert ask_reset(api, f"person{n}@example.com", ip="10.6.0.1").status_code == 202
    before = OutboxEvent.objects.count()
    assert_problem(ask_reset(api, "ada@example.com", ip="10.6.0.1"), 429)
    assert OutboxEvent.objects.count() == before and sent_emails() == []
    assert ask_reset(api, "ada@example.com", ip="10.6.0.2").status_code == 202


@pytest.mark.usefixtures("one_rate_window")
@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "password_reset_confirm_ip": "3/h"})
def test_confirming_is_limited_per_ip(api, ada):
    for _ in range(3):
        assert_problem(api.post(CONFIRM, {"uid": "x", "token": "y", "new_password": NEW_PASSWORD}), 400)
    uid, token = password_reset_token(ada)
    assert_problem(api.post(CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}), 429)


# --- The audit log ---------------------------------------------------------------------------------


def test_the_audit_log_records_each_step_and_never_a_password_or_a_token(api, ada):
    ask_reset(api, "nobody@example.com")
    ask_reset(api, "ada@example.com")
    [message] = sent_emails()
    link = link_in(message.body)
    with delivered():
        assert api.post(CONFIRM, {**link, "new_password": NEW_PASSWORD}).status_code == 204
    login = api.post(LOGIN, {"email": "ada@example.com", "password": NEW_PASSWORD}, format="json").json()
    me = bearer_client(ada)
    with delivered():
        assert me.post(CHANGE, {"old_password": NEW_PASSWORD, "new_password": "third-passphrase-9"}).status_code == 200
    entries = {
        (entry.action, entry.object_id, entry.actor_id)
        for entry in AuditEntry.objects.filter(action__startswith="user.password")
    }
    assert entries == {
        ("user.password_reset_requested", "", None),
        ("user.password_reset_requested", ada.pk, None),
        ("user.password_reset", ada.pk, ada.pk),
        ("user.password_changed", ada.pk, ada.pk),
    }
    asked = AuditEntry.objects.get(action="user.password_reset_requested", object_id="")
    assert asked.details["email"] == "nobody@example.com"
    stored = json.dumps(
        [[entry.changes, entry.details] for entry in AuditEntry.objects.all()]
        + [row.data for row in OutboxEvent.objects.all()]
    )
    ada.refresh_from_db()
    for secret in (PASSWORD, NEW_PASSWORD, "third-passphrase-9", link["token"], ada.password, login["refresh"]):
        assert secret not in stored
