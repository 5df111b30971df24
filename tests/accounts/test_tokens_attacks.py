"""Token attacks over HTTP (issue 15, point 6), beside the flows of test_auth_api.py (which already
covers rotation reuse, refresh after logout, access/refresh swapped, a tampered signature and
deactivated or demoted users at the next request). Every forged or stale token is a 401
problem+json and changes nothing: no pair is issued, no revocation is written."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection

from accounts.models import RevokedToken, Role, User
from accounts.tokens import issue_pair
from tests.factories import UserFactory
from tests.helpers import assert_problem

# Forging HS384/HS512 tokens with the test key makes PyJWT warn that it is short for those algorithms.
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:The HMAC key is")]

ME = "/api/v1/auth/me/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")

    def decoded(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    return decoded(header), decoded(payload), signature


def claims(user: User, kind: str, **changes) -> dict:
    """The claims simplejwt puts in a token of `kind` ("access", "refresh"); None drops a claim."""
    now = int(time.time())
    lifetime = 600 if kind == "access" else 86_400
    values = {"token_type": kind, "exp": now + lifetime, "iat": now, "jti": uuid.uuid4().hex, "user_id": user.pk}
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def signed(payload: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key if key is not None else settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def forgeries(user: User, victim: User, token_type: str) -> dict[str, str]:
    """Tokens an attacker could make, each with a valid-looking payload for `token_type`."""
    real = issue_pair(user)[token_type]
    header, payload, signature = parts(real)
    elevated = {**payload, "user_id": victim.pk}
    extended = {**payload, "exp": payload["exp"] + 10**6}
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}.",
        "alg none, no dot": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}",
        "alg NONE": f"{b64({'alg': 'NONE', 'typ': 'JWT'})}.{b64(payload)}.",
        "wrong key": signed(claims(user, token_type), key="not-the-server-key-" + "x" * 40),
        "HS512 with the right key": signed(claims(user, token_type), algorithm="HS512"),
        "HS384 with the right key": signed(claims(user, token_type), algorithm="HS384"),
        "payload swapped to another user": f"{b64(header)}.{b64(elevated)}.{signature}",
        "expiry pushed out, old signature": f"{b64(header)}.{b64(extended)}.{signature}",
        "header changed to HS512, old signature": f"{b64({**header, 'alg': 'HS512'})}.{b64(payload)}.{signature}",
        "signature stripped": f"{b64(header)}.{b64(payload)}.",
        "expired": signed(claims(user, token_type, exp=int(time.time()) - 60, iat=int(time.time()) - 3600)),
        "no exp": signed(claims(user, token_type, exp=None)),
        "no token_type": signed(claims(user, token_type, token_type=None)),
        "no jti": signed(claims(user, token_type, jti=None)),
        "no user_id": signed(claims(user, token_type, user_id=None)),
        "unknown user": signed(claims(user, token_type, user_id="0" * 24)),
        "user_id of the wrong type": signed(claims(user, token_type, user_id={"$ne": None})),
    }


@pytest.fixture
def users(db):
    return {"me": UserFactory(email="ada@example.com"), "admin": UserFactory(email="root@example.com", role=Role.ADMIN)}


def test_forged_access_tokens_are_refused(api, users):
    for name, token in forgeries(users["me"], users["admin"], "access").items():
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api.get(ME)
        assert response.status_code == 401, (name, response.content[:200])
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer"), name


# Signed with the server's key, so only a leaked key could make them: refresh refuses them (no such
# active user); logout may revoke them, which harms nobody.
SIGNED_BUT_ODD = {"no user_id", "unknown user", "user_id of the wrong type"}


def test_forged_refresh_tokens_are_refused_and_change_nothing(api, users):
    for name, token in forgeries(users["me"], users["admin"], "refresh").items():
        response = api.post(REFRESH, {"refresh": token}, format="json")
        assert response.status_code == 401, (name, response.content[:200])
        assert "access" not in assert_problem(response, 401), name
        if name not in SIGNED_BUT_ODD:
            assert_problem(api.post(LOGOUT, {"refresh": token}, format="json"), 401, "token_not_valid")
    assert RevokedToken.objects.count() == 0


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Bearer a b", "Bearer \u00e9\u00e9", "Basic YWRhOnB3", "Token abc", "bearer x.y.z"]
)
def test_malformed_authorization_headers_are_a_401_problem(api, users, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get(ME)
    assert response.status_code == 401, response.content[:200]


def test_an_access_token_cannot_log_out_a_session(api, users):
    pair = issue_pair(users["me"])
    assert_problem(api.post(LOGOUT, {"refresh": pair["access"]}, format="json"), 401, "token_not_valid")
    assert RevokedToken.objects.count() == 0
    assert api.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 200


def test_tokens_carry_no_role_so_rights_always_come_from_the_database(api, users):
    pair = issue_pair(users["admin"])
    assert set(parts(pair["access"])[1]) == {"token_type", "exp", "iat", "jti", "user_id"}
    # The refresh token also names the password it was issued under (an HMAC; accounts.tokens) and
    # whether its sign-in gave a second factor.
    assert set(parts(pair["refresh"])[1]) == {"token_type", "exp", "iat", "jti", "user_id", "cred", "mfa"}


def test_a_demoted_user_keeps_signing_in_but_with_the_new_rights(api, users):
    lead = UserFactory(email="lead@example.com", role=Role.LEAD)
    pair = issue_pair(lead)
    User.objects.filter(pk=lead.pk).update(role=Role.EMPLOYEE)
    rotated = api.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated.json()['access']}")
    assert api.get(ME).json()["role"] == "employee"
    assert_problem(api.get("/api/v1/users/"), 403)


def test_a_deleted_user_loses_access_and_refresh(api, users):
    pair = issue_pair(users["me"])
    User.objects.filter(pk=users["me"].pk).delete()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert_problem(api.get(ME), 401)
    api.credentials()
    assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "user_inactive")


def test_an_expired_refresh_token_is_refused(api, users, time_machine):
    pair = issue_pair(users["me"])
    time_machine.move_to(datetime.now(UTC) + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(minutes=1))
    assert_problem(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_not_valid")


def test_an_access_token_expires_after_its_lifetime(api, users, time_machine):
    pair = issue_pair(users["me"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get(ME).status_code == 200
    time_machine.move_to(datetime.now(UTC) + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(minutes=1))
    assert_problem(api.get(ME), 401)


# --- Concurrent refreshes of one token: exactly one wins -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_have_exactly_one_winner():
    from rest_framework.test import APIClient

    user = UserFactory(email="racer@example.com")
    refresh = issue_pair(user)["refresh"]
    contenders = 8
    barrier = threading.Barrier(contenders)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def race() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = client.post(REFRESH, {"refresh": refresh}, format="json")
            code = response.json().get("code", "") if response.status_code != 200 else "ok"
            with lock:
                results.append((response.status_code, code))
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=race) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == contenders, results
    assert sorted(results).count((200, "ok")) == 1, results
    assert sorted(results)[1:] == [(401, "token_revoked")] * (contenders - 1), results
    assert RevokedToken.objects.filter(reason="rotated").count() == 1
