"""Staff's second factor over the real API: enrolment confirmed by a first code, recovery codes,
the sign-in challenge, STAFF_REQUIRE_2FA, removal and an admin's reset, brute force, and Django
admin's login. Codes are computed as an authenticator app would, at a chosen time (time-machine)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import signing
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from helpdesk import events
from tests.factories import PASSWORD, UserFactory
from tests.helpers import assert_problem, bearer_client, captured_events, delivered

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"
VERIFY = "/api/v1/auth/2fa/verify/"
STATUS = "/api/v1/auth/2fa/"
ENROL = "/api/v1/auth/2fa/enrol/"
CONFIRM = "/api/v1/auth/2fa/confirm/"
RECOVERY = "/api/v1/auth/2fa/recovery-codes/"
DISABLE = "/api/v1/auth/2fa/disable/"
ME = "/api/v1/auth/me/"
START = datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC)


def code_for(secret: str, at: datetime) -> str:
    """What an authenticator app shows at `at` for the base32 `secret`."""
    generator = TOTP(base64.b32decode(secret))
    generator.time = at.timestamp()
    return f"{generator.token():06d}"


def login(api, email, password=PASSWORD):
    return api.post(LOGIN, {"email": email, "password": password}, format="json")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agent(department):
    return UserFactory(email="agent2fa@example.com", role=Role.AGENT, department=department)


def enrol(user) -> tuple[str, list[str]]:
    """Enrol `user` at the current time: the secret and the recovery codes."""
    client = bearer_client(user)
    started = client.post(ENROL, {}, format="json")
    assert started.status_code == 200, started.content
    secret = started.json()["secret"]
    confirmed = client.post(CONFIRM, {"code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    return secret, confirmed.json()["recovery_codes"]


def step(clock, seconds=30):
    clock.shift(timedelta(seconds=seconds))


# --- Enrolment -------------------------------------------------------------------------------------


def test_enrolment_gives_a_uri_and_counts_only_after_a_first_valid_code(api, agent, clock):
    client = bearer_client(agent)
    started = client.post(ENROL, {}, format="json")
    assert started.status_code == 200
    body = started.json()
    uri = urlsplit(body["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert "agent2fa%40example.com" in uri.path
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["Helpdesk AI"]

    # Not confirmed yet: the password alone still signs in, and the status says pending.
    assert "access" in login(api, agent.email).json()
    assert client.get(STATUS).json() | {"enrolled_at": None, "last_used_at": None} == {
        "enrolled": False,
        "pending": True,
        "required": False,
        "recovery_codes_left": 0,
        "enrolled_at": None,
        "last_used_at": None,
    }

    wrong = client.post(CONFIRM, {"code": "000000"}, format="json")
    assert_problem(wrong, 400, "wrong_mfa_code")
    assert "access" in login(api, agent.email).json()
    step(clock, 2)  # django-otp's back-off after a wrong code; the same 30 s step

    with captured_events(events.TwoFactorEnabled) as seen:
        confirmed = client.post(CONFIRM, {"code": code_for(body["secret"], START)}, format="json")
    assert confirmed.status_code == 200
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert [event.target_id for event in seen] == [agent.pk]
    assert "recovery" not in str(seen[0]) and codes[0] not in str(seen[0])

    answer = login(api, agent.email).json()
    assert answer["mfa_required"] is True and answer["enrolment_required"] is False
    assert "access" not in answer and "refresh" not in answer
    status = client.get(STATUS).json()
    assert status["enrolled"] and status["required"] and status["recovery_codes_left"] == 10


def test_a_new_enrolment_replaces_an_unconfirmed_secret_and_a_confirmed_one_must_be_removed_first(agent, clock):
    client = bearer_client(agent)
    first = client.post(ENROL, {}, format="json").json()["secret"]
    second = client.post(ENROL, {}, format="json").json()["secret"]
    assert first != second
    assert_problem(client.post(CONFIRM, {"code": code_for(first, START)}, format="json"), 400, "wrong_mfa_code")
    step(clock, 2)
    assert client.post(CONFIRM, {"code": code_for(second, START)}, format="json").status_code == 200
    assert_problem(client.post(ENROL, {}, format="json"), 409, "mfa_already_enrolled")
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_employees_cannot_enrol(people):
    assert_problem(bearer_client(people["employee"]).post(ENROL, {}, format="json"), 403)
    assert_problem(bearer_client(people["employee"]).post(CONFIRM, {"code": "123456"}, format="json"), 403)
    assert not TOTPDevice.objects.exists()


def test_leads_and_admins_can_enrol(people, clock):
    for who in ("lead", "admin"):
        enrol(people[who])
        assert login(bearer_client(None), people[who].email).json()["mfa_required"] is True


def test_the_recovery_codes_are_stored_as_single_use_tokens_of_the_user(agent, clock):
    _, codes = enrol(agent)
    assert sorted(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True)) == sorted(codes)


# --- Sign-in with a code ---------------------------------------------------------------------------


def test_sign_in_with_a_code_gives_the_usual_pair_and_the_code_works_once(api, agent, clock):
    secret, _ = enrol(agent)
    step(clock)
    challenge = login(api, agent.email).json()["challenge"]
    code = code_for(secret, datetime.now(tz=UTC))
    with captured_events(events.UserLoggedIn) as seen:
        answer = api.post(VERIFY, {"challenge": challenge, "code": code}, format="json")
    assert answer.status_code == 200, answer.content
    assert set(answer.json()) == {"access", "refresh"}
    assert [event.target_id for event in seen] == [agent.pk]
    me = bearer_client(None)
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
    assert me.get(ME).json()["email"] == agent.email

    # The same code again, with a fresh challenge: refused (django-otp's last-used step).
    again = login(api, agent.email).json()["challenge"]
    assert_problem(api.post(VERIFY, {"challenge": again, "code": code}, format="json"), 401, "invalid_mfa_code")
    # The used challenge is spent, even with the next code.
    step(clock)
    next_code = code_for(secret, datetime.now(tz=UTC))
    assert_problem(
        api.post(VERIFY, {"challenge": challenge, "code": next_code}, format="json"), 401, "mfa_challenge_spent"
    )
    assert api.post(VERIFY, {"challenge": again, "code": next_code}, format="json").status_code == 200


def test_a_recovery_code_signs_in_once(api, agent, clock):
    _, codes = enrol(agent)
    challenge = login(api, agent.email).json()["challenge"]
    assert api.post(VERIFY, {"challenge": challenge, "code": codes[0].upper()}, format="json").status_code == 200
    challenge = login(api, agent.email).json()["challenge"]
    assert_problem(api.post(VERIFY, {"challenge": challenge, "code": codes[0]}, format="json"), 401)
    step(clock, 5)  # django-otp's back-off after the wrong one
    assert api.post(VERIFY, {"challenge": challenge, "code": codes[1]}, format="json").status_code == 200
    assert bearer_client(agent).get(STATUS).json()["recovery_codes_left"] == 8


def test_a_challenge_expires_after_five_minutes(api, agent, clock):
    secret, _ = enrol(agent)
    challenge = login(api, agent.email).json()["challenge"]
    step(clock, 301)
    response = api.post(VERIFY, {"challenge": challenge, "code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert_problem(response, 401, "mfa_challenge_expired")


def test_a_challenge_is_bound_to_the_user_and_the_password(api, agent, people, clock):
    secret, _ = enrol(agent)
    challenge = login(api, agent.email).json()["challenge"]
    # Forged: another user's id in the payload does not carry a valid signature.
    payload = signing.loads(challenge, salt="accounts.two_factor.challenge")
    forged = signing.dumps({**payload, "u": people["admin"].pk}, salt="not-the-salt")
    assert_problem(api.post(VERIFY, {"challenge": forged, "code": "123456"}, format="json"), 401)
    # A new password kills the challenge.
    agent.set_password("a-brand-new-passphrase-7")
    agent.save()
    step(clock)
    response = api.post(VERIFY, {"challenge": challenge, "code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert_problem(response, 401, "mfa_challenge_invalid")


def test_a_challenge_dies_after_five_wrong_codes(api, agent, clock):
    secret, _ = enrol(agent)
    challenge = login(api, agent.email).json()["challenge"]
    with captured_events(events.TwoFactorFailed) as seen:
        for _ in range(5):
            step(clock, 20)  # past django-otp's back-off (1, 2, 4, 8, 16 s)
            assert_problem(api.post(VERIFY, {"challenge": challenge, "code": "000000"}, format="json"), 401)
    assert len(seen) == 5
    step(clock, 40)
    right = code_for(secret, datetime.now(tz=UTC))
    assert_problem(
        api.post(VERIFY, {"challenge": challenge, "code": right}, format="json", REMOTE_ADDR="10.0.0.9"),
        401,
        "mfa_challenge_spent",
    )


def test_wrong_codes_are_limited_per_account_from_any_address(api, agent, clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "mfa_account": "3/h", "mfa_ip": "100/h"}
    secret, _ = enrol(agent)
    for number in range(3):
        step(clock, 20)
        challenge = login(api, agent.email).json()["challenge"]
        wrong = api.post(
            VERIFY, {"challenge": challenge, "code": "000000"}, format="json", REMOTE_ADDR=f"10.0.0.{number}"
        )
        assert_problem(wrong, 401)
    step(clock, 60)
    challenge = login(api, agent.email).json()["challenge"]
    right = code_for(secret, datetime.now(tz=UTC))
    limited = api.post(VERIFY, {"challenge": challenge, "code": right}, format="json", REMOTE_ADDR="10.9.9.9")
    assert_problem(limited, 429)
    assert int(limited["Retry-After"]) >= 1


def test_wrong_codes_are_limited_per_address(api, agent, clock, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "mfa_account": "100/h", "mfa_ip": "2/h"}
    enrol(agent)
    for _ in range(2):
        step(clock, 20)
        challenge = login(api, agent.email).json()["challenge"]
        assert_problem(api.post(VERIFY, {"challenge": challenge, "code": "000000"}, format="json"), 401)
    assert_problem(api.post(VERIFY, {"challenge": challenge, "code": "111111"}, format="json"), 429)


def test_django_otp_backs_off_after_a_wrong_code(api, agent, clock):
    secret, _ = enrol(agent)
    step(clock)
    challenge = login(api, agent.email).json()["challenge"]
    assert_problem(api.post(VERIFY, {"challenge": challenge, "code": "000000"}, format="json"), 401)
    right = code_for(secret, datetime.now(tz=UTC))
    throttled = api.post(VERIFY, {"challenge": challenge, "code": right}, format="json")
    assert_problem(throttled, 429)  # even the right code, within a second of a wrong one
    assert int(throttled["Retry-After"]) >= 1
    step(clock, 2)
    right = code_for(secret, datetime.now(tz=UTC))
    assert api.post(VERIFY, {"challenge": challenge, "code": right}, format="json").status_code == 200


def test_the_code_of_the_previous_step_is_accepted_for_clock_drift(api, agent, clock):
    secret, _ = enrol(agent)
    step(clock, 60)
    challenge = login(api, agent.email).json()["challenge"]
    late = code_for(secret, datetime.now(tz=UTC) - timedelta(seconds=30))
    assert api.post(VERIFY, {"challenge": challenge, "code": late}, format="json").status_code == 200


def test_a_wrong_password_never_reaches_the_second_factor(api, agent, clock):
    enrol(agent)
    assert_problem(login(api, agent.email, "not-the-password"), 401, "invalid_credentials")


# --- STAFF_REQUIRE_2FA ---------------------------------------------------------------------------


def test_without_the_setting_staff_without_a_device_sign_in_with_the_password(api, agent):
    assert set(login(api, agent.email).json()) == {"access", "refresh"}


def test_the_setting_makes_staff_enrol_before_they_get_tokens(api, agent, settings, clock):
    settings.STAFF_REQUIRE_2FA = True
    answer = login(api, agent.email).json()
    assert answer["mfa_required"] is True and answer["enrolment_required"] is True
    assert "access" not in answer
    challenge = answer["challenge"]
    # The enrolment challenge does not complete a sign-in by itself.
    assert_problem(api.post(VERIFY, {"challenge": challenge, "code": "123456"}, format="json"), 401)
    assert_problem(api.post(ENROL, {}, format="json"), 401)

    secret = api.post(ENROL, {"challenge": challenge}, format="json").json()["secret"]
    done = api.post(CONFIRM, {"challenge": challenge, "code": code_for(secret, START)}, format="json")
    assert done.status_code == 200, done.content
    assert {"access", "refresh", "recovery_codes"} <= set(done.json())
    # From now on: a code at every sign-in.
    step(clock)
    challenge = login(api, agent.email).json()["challenge"]
    ok = api.post(VERIFY, {"challenge": challenge, "code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert ok.status_code == 200


def test_the_setting_leaves_employees_alone(api, people, settings):
    settings.STAFF_REQUIRE_2FA = True
    assert set(login(api, people["employee"].email).json()) == {"access", "refresh"}


# --- Removal and reset -----------------------------------------------------------------------------


def test_removal_needs_a_current_code_or_the_password(api, agent, clock):
    secret, _ = enrol(agent)
    client = bearer_client(agent)
    assert_problem(client.post(DISABLE, {}, format="json"), 400)
    assert_problem(client.post(DISABLE, {"password": "not-the-password"}, format="json"), 400, "wrong_password")
    step(clock, 5)
    assert_problem(client.post(DISABLE, {"code": "000000"}, format="json"), 400, "wrong_mfa_code")
    assert TOTPDevice.objects.filter(user=agent).exists()
    step(clock, 30)
    with captured_events(events.TwoFactorDisabled) as seen:
        response = client.post(DISABLE, {"code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert response.status_code == 204
    assert [(event.actor_id, event.method) for event in seen] == [(agent.pk, "code")]
    assert set(login(api, agent.email).json()) == {"access", "refresh"}
    assert not StaticToken.objects.filter(device__user=agent).exists()


def test_removal_with_the_password(agent, clock):
    enrol(agent)
    response = bearer_client(agent).post(DISABLE, {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    assert not TOTPDevice.objects.filter(user=agent).exists()


def test_new_recovery_codes_replace_the_old_ones(api, agent, clock):
    _, old = enrol(agent)
    with captured_events(events.RecoveryCodesRenewed) as seen:
        response = bearer_client(agent).post(RECOVERY, {"password": PASSWORD}, format="json")
    new = response.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert [event.method for event in seen] == ["password"]
    challenge = login(api, agent.email).json()["challenge"]
    assert_problem(api.post(VERIFY, {"challenge": challenge, "code": old[0]}, format="json"), 401)
    step(clock, 5)
    assert api.post(VERIFY, {"challenge": challenge, "code": new[0]}, format="json").status_code == 200


def test_an_admin_resets_another_persons_factor_and_it_is_audited(api, agent, people, clock):
    enrol(agent)
    admin = people["admin"]
    for who in ("employee", "agent", "lead"):
        assert_problem(bearer_client(people[who]).post(f"/api/v1/users/{agent.pk}/reset-2fa/"), 403)
    with captured_events(events.TwoFactorDisabled) as seen:
        response = bearer_client(admin).post(f"/api/v1/users/{agent.pk}/reset-2fa/")
    assert response.status_code == 204
    assert [(event.target_id, event.actor_id, event.method) for event in seen] == [(agent.pk, admin.pk, "admin")]
    assert set(login(api, agent.email).json()) == {"access", "refresh"}
    assert_problem(bearer_client(admin).post(f"/api/v1/users/{agent.pk}/reset-2fa/"), 400, "mfa_not_enrolled")


def test_an_admin_does_not_reset_their_own_factor_without_a_code(people, clock):
    admin = people["admin"]
    enrol(admin)
    assert_problem(bearer_client(admin).post(f"/api/v1/users/{admin.pk}/reset-2fa/"), 403)
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()


def test_the_audit_log_records_the_second_factors_events(agent, people, clock):
    from audit.models import AuditEntry

    with delivered():
        enrol(agent)
        bearer_client(people["admin"]).post(f"/api/v1/users/{agent.pk}/reset-2fa/")
    actions = list(AuditEntry.objects.filter(object_id=agent.pk).values_list("action", flat=True))
    assert {"user.2fa_enrolment_started", "user.2fa_enabled", "user.2fa_disabled"} <= set(actions)


# --- Django admin ----------------------------------------------------------------------------------


def admin_login(client, user, code=""):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": PASSWORD, "otp_token": code, "next": "/admin/"},
    )


def test_django_admin_asks_staff_with_a_device_for_a_code(people, clock):
    from django.test import Client

    lead = people["lead"]
    secret, _ = enrol(lead)
    client = Client()
    page = admin_login(client, lead)
    assert page.status_code == 200 and "Enter the code" in page.content.decode()
    assert client.get("/admin/").status_code == 302
    step(clock, 5)
    assert "wrong" in admin_login(client, lead, "000000").content.decode()
    step(clock, 30)
    signed_in = admin_login(client, lead, code_for(secret, datetime.now(tz=UTC)))
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # A new authenticator (after an admin's reset) is not the one that verified this session.
    bearer_client(people["admin"]).post(f"/api/v1/users/{lead.pk}/reset-2fa/")
    step(clock, 30)
    enrol(lead)
    assert client.get("/admin/").status_code == 302


def test_django_admin_lets_staff_without_a_device_in_with_the_password(people):
    from django.test import Client

    client = Client()
    assert admin_login(client, people["lead"]).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_django_admin_under_the_setting_tells_staff_to_enrol(people, settings):
    from django.test import Client

    settings.STAFF_REQUIRE_2FA = True
    client = Client()
    page = admin_login(client, people["admin"])
    assert page.status_code == 200 and "Enrol an authenticator first" in page.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_session_signed_in_before_enrolment_must_sign_in_again(people, clock):
    from django.test import Client

    lead = people["lead"]
    client = Client()
    assert admin_login(client, lead).status_code == 302
    enrol(lead)
    assert client.get("/admin/").status_code == 302


def test_the_secret_changes_codes_every_30_seconds():
    """The helper computes what an authenticator app shows (RFC 6238 test vector, 6 digits)."""
    key = base64.b32encode(b"12345678901234567890").decode()
    assert code_for(key, datetime.fromtimestamp(59, tz=UTC)) == "287082"
    assert time.time() > 0


def test_an_admin_resets_a_factor_from_django_admin_and_devices_are_not_editable_there(people, clock):
    from django.contrib import admin

    from tests.helpers import browser_for

    agent = people["agent"]
    enrol(agent)
    assert not admin.site.is_registered(TOTPDevice)  # no secrets, no unaudited deletes
    lead_page = browser_for(people["lead"]).post(
        "/admin/accounts/user/", {"action": "reset_second_factor", "_selected_action": [agent.pk]}, follow=True
    )
    assert "Only admins reset" in lead_page.content.decode()
    assert TOTPDevice.objects.filter(user=agent).exists()
    with captured_events(events.TwoFactorDisabled) as seen:
        browser_for(people["admin"]).post(
            "/admin/accounts/user/", {"action": "reset_second_factor", "_selected_action": [agent.pk]}
        )
    assert [(event.actor_id, event.method) for event in seen] == [(people["admin"].pk, "admin")]
    assert not TOTPDevice.objects.filter(user=agent).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ins_with_one_code_have_exactly_one_winner(settings, department):
    """The step is accepted by one conditional update: of 6 requests with the same code (each with
    its own challenge), one gets tokens; the others a 401 or, once a failure was counted, a 429."""
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    from accounts import two_factor

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "mfa_account": "1000/m", "mfa_ip": "1000/m"}
    racer = UserFactory(email="racer2fa@example.com", role=Role.AGENT, department=department)
    device = TOTPDevice.objects.create(user=racer, name="Authenticator", confirmed=True)
    code = f"{TOTP(device.bin_key).token():06d}"
    contenders = 6
    challenges = [two_factor.sign_in_challenge(racer)["challenge"] for _ in range(contenders)]
    barrier = threading.Barrier(contenders)
    results: list[int] = []
    lock = threading.Lock()

    def race(challenge: str) -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = client.post(VERIFY, {"challenge": challenge, "code": code}, format="json")
            with lock:
                results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(challenge,)) for challenge in challenges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == contenders, results
    assert results.count(200) == 1, results
    assert set(results) <= {200, 401, 429}, results


def test_the_personal_data_export_says_whether_and_erasure_removes_the_factor(people, clock):
    agent = people["agent"]
    secret, codes = enrol(agent)
    admin = bearer_client(people["admin"])
    export = admin.get(f"/api/v1/users/{agent.pk}/export/")
    assert export.status_code == 200
    part = export.json()["parts"]["accounts"]["second_factor"]
    assert part["enrolled"] is True and part["recovery_codes_left"] == 10
    device = TOTPDevice.objects.get(user=agent)
    assert device.key not in export.content.decode() and secret not in export.content.decode()
    assert not any(code in export.content.decode() for code in codes)
    erased = admin.post(f"/api/v1/users/{agent.pk}/erase/")
    assert erased.status_code == 200, erased.content
    assert erased.json()["changed"]["accounts"]["otp_devices"] == 2
    assert not TOTPDevice.objects.filter(user=agent).exists() and not StaticToken.objects.filter(device__user=agent)


def test_an_enrolment_challenge_dies_after_five_wrong_first_codes(api, agent, settings, clock):
    settings.STAFF_REQUIRE_2FA = True
    challenge = login(api, agent.email).json()["challenge"]
    secret = api.post(ENROL, {"challenge": challenge}, format="json").json()["secret"]
    for _ in range(5):
        step(clock, 20)
        wrong = api.post(CONFIRM, {"challenge": challenge, "code": "000000"}, format="json")
        assert_problem(wrong, 400, "wrong_mfa_code")
    step(clock, 40)
    right = code_for(secret, datetime.now(tz=UTC))
    spent = api.post(CONFIRM, {"challenge": challenge, "code": right}, format="json")
    assert_problem(spent, 401, "mfa_challenge_spent")
    assert not TOTPDevice.objects.filter(user=agent, confirmed=True).exists()


# --- Sessions from before the second factor ---------------------------------------------------------

REFRESH = "/api/v1/auth/refresh/"


def test_enrolling_ends_the_sessions_signed_in_with_the_password_alone(api, agent, clock):
    """A stolen refresh token from before the second factor must not outlive it: once enrolled, a
    token whose sign-in gave no code is refused, and the confirmation hands the new pair."""
    elsewhere = login(api, agent.email).json()  # another device, password only
    client = bearer_client(agent)
    secret = client.post(ENROL, {}, format="json").json()["secret"]
    confirmed = client.post(CONFIRM, {"code": code_for(secret, START)}, format="json").json()

    assert_problem(api.post(REFRESH, {"refresh": elsewhere["refresh"]}, format="json"), 401, "second_factor_required")
    renewed = api.post(REFRESH, {"refresh": confirmed["refresh"]}, format="json")
    assert renewed.status_code == 200
    # The rotated pair keeps what its sign-in proved.
    assert api.post(REFRESH, {"refresh": renewed.json()["refresh"]}, format="json").status_code == 200


def test_requiring_a_second_factor_ends_password_only_staff_sessions_at_their_next_refresh(api, agent, settings):
    settings.STAFF_REQUIRE_2FA = False
    before = login(api, agent.email).json()
    employee = UserFactory(email="plain@example.com", role=Role.EMPLOYEE)
    employee_pair = login(api, employee.email).json()

    settings.STAFF_REQUIRE_2FA = True
    assert_problem(api.post(REFRESH, {"refresh": before["refresh"]}, format="json"), 401, "second_factor_required")
    # Employees never need one: their sessions go on.
    assert api.post(REFRESH, {"refresh": employee_pair["refresh"]}, format="json").status_code == 200


def test_a_session_that_gave_a_code_survives_refreshes(api, agent, clock):
    secret, _codes = enrol(agent)
    step(clock)
    challenge = login(api, agent.email).json()["challenge"]
    pair = api.post(VERIFY, {"challenge": challenge, "code": code_for(secret, datetime.now(tz=UTC))}, format="json")
    assert api.post(REFRESH, {"refresh": pair.json()["refresh"]}, format="json").status_code == 200
