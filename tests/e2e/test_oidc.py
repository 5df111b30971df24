"""Company sign-in end to end (issue 24, point 3; decision 0031), against a real OpenID provider.

The provider is panva's oidc-provider (tests/e2e/oidc_provider/, installed by `make install`), run on
loopback by this module, with the helpdesk registered as a confidential client and a small directory
of people with group claims. The helpdesk is the real ASGI app with production settings. Nothing is
mocked: the client does code + PKCE at the provider as a mobile or web app would, the browser flow
follows the admin's "Sign in with ..." link through the provider and back. The provider's /_test/
hooks change a person's groups between sign-ins and spoil token responses (a changed claim, a foreign
key, another audience, a short life) the way an attacker or a slow network would.

Without node or the provider's node_modules the module skips, except where HELPDESK_REQUIRE_OIDC_PROVIDER
is set (.ci/run sets it): there it fails, so CI never skips it silently.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest

from tests.e2e.test_readme_walkthrough import run_walkthrough
from tests.helpdesk.servers import prepare_var_dir, server_env
from tests.helpers import ROOT

PROVIDER_DIR = ROOT / "tests" / "e2e" / "oidc_provider"
CLIENT_ID, CLIENT_SECRET = "helpdesk", "helpdesk-test-client-secret-0123456789"
ADMIN_PASSWORD, EMPLOYEE_PASSWORD = "admin-pw-" + "x" * 12, "employee-pw-" + "y" * 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unavailable(reason: str):
    if os.environ.get("HELPDESK_REQUIRE_OIDC_PROVIDER"):
        pytest.fail(f"{reason} (HELPDESK_REQUIRE_OIDC_PROVIDER is set: CI must run these tests)")
    pytest.skip(reason)


def _wait(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"{what} did not answer {url} within 60 s")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed: the company sign-in tests need Node.js 20+ for the OpenID provider")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _unavailable(f"the OpenID provider is not installed: run `make install` (npm ci in {PROVIDER_DIR})")
    provider_port, app_port = _free_port(), _free_port()
    issuer, app = f"http://127.0.0.1:{provider_port}", f"http://127.0.0.1:{app_port}"
    api_redirect = f"{app}/app/signed-in"
    provider = subprocess.Popen(
        [node, "provider.js", str(provider_port), f"{app}/sso/callback/,{api_redirect}"],
        cwd=PROVIDER_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait(f"{issuer}/.well-known/openid-configuration", provider, "the OpenID provider")

    var_dir = tmp_path_factory.mktemp("oidc-var")
    env = server_env(
        var_dir,
        OIDC_ISSUER=issuer,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_PROVIDER_NAME="Corp SSO",
        OIDC_GROUP_ROLES="helpdesk-admins=admin,helpdesk-network-agents=agent,helpdesk-network-leads=lead",
        OIDC_GROUP_DEPARTMENTS="helpdesk-network-agents=Network,helpdesk-network-leads=Network",
        OIDC_API_REDIRECT_URIS=api_redirect,
        OIDC_CLOCK_SKEW_SECONDS="0",
        PASSWORD_LOGIN="false",
        RATE_OIDC_IP="1000/m",
        RATE_LOGIN_IP="1000/m",
        RATE_LOGIN_ACCOUNT="1000/m",
    )
    manage = [sys.executable, "manage.py"]
    prepare_var_dir(var_dir, "admin")
    setup = (
        "from django_otp.plugins.otp_totp.models import TOTPDevice\n"
        "from accounts.models import Department, Role, User\n"
        "Department.objects.create(name='Network')\n"
        f"User.objects.create_user('root@corp.example', {ADMIN_PASSWORD!r}, role=Role.ADMIN)\n"
        f"User.objects.create_user('pat@corp.example', {EMPLOYEE_PASSWORD!r})\n"
        "User.objects.create_user('linus@corp.example', None, is_active=False)\n"
        "tess = User.objects.create_user('tess@corp.example', None, role=Role.ADMIN, first_name='Tess')\n"
        "TOTPDevice.objects.create(user=tess, name='phone', confirmed=True)\n"
    )
    subprocess.run([*manage, "shell", "-c", setup], cwd=ROOT, env=env, check=True, timeout=120)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1", "--port", str(app_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait(f"{app}/healthz", server, "the helpdesk")
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    yield {"issuer": issuer, "app": app, "api_redirect": api_redirect, "discovery": discovery}
    for process in (server, provider):
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def honest_provider(world):
    """Each test starts with a provider that spoils nothing."""
    httpx.post(f"{world['issuer']}/_test/mode", json={})
    yield
    httpx.post(f"{world['issuer']}/_test/mode", json={})


def set_person(world, person: str, **claims) -> None:
    httpx.post(f"{world['issuer']}/_test/users/{person}", json=claims).raise_for_status()


def authorize(world, person: str, *, redirect_uri: str | None = None) -> dict:
    """What an app does at the provider: authorization code with PKCE (S256), state and nonce.
    Returns the code and what the app keeps (verifier, nonce, redirect URI)."""
    redirect_uri = redirect_uri or world["api_redirect"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": "openid email profile groups",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": person,
    }
    location = _follow(
        httpx.Client(), f"{world['discovery']['authorization_endpoint']}?{urlencode(query)}", redirect_uri
    )
    answer = parse_qs(urlsplit(location).query)
    assert answer["state"] == [state]
    return {"code": answer["code"][0], "code_verifier": verifier, "redirect_uri": redirect_uri, "nonce": nonce}


def get(browser: httpx.Client, url: str) -> httpx.Response:
    """GET as a browser: browsers send `Secure` cookies (the session, with production settings) to
    http://127.0.0.1 too, loopback being a secure context; http.cookiejar does not, so the flag is
    dropped from what the jar keeps."""
    response = browser.get(url)
    for cookie in browser.cookies.jar:
        cookie.secure = False
    return response


def _follow(browser: httpx.Client, url: str, stop_at: str) -> str:
    """Follow redirects as a browser would until one goes to `stop_at`; return that location."""
    for _ in range(12):
        response = get(browser, url)
        location = response.headers.get("location")
        assert location, f"{url} answered {response.status_code} without a redirect: {response.text[:300]}"
        url = urljoin(url, location)
        if url.startswith(stop_at):
            return url
    raise AssertionError("too many redirects")


def sso_token(world, grant: dict) -> httpx.Response:
    return httpx.post(f"{world['app']}/api/v1/auth/oidc/token/", json=grant, timeout=30)


def me(world, access: str) -> dict:
    response = httpx.get(f"{world['app']}/api/v1/auth/me/", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200, response.text
    return response.json()


def department_id(world, name: str, access: str) -> str:
    listing = httpx.get(f"{world['app']}/api/v1/departments/", headers={"Authorization": f"Bearer {access}"}).json()
    return next(d["id"] for d in listing["results"] if d["name"] == name)


def admin_access(world) -> str:
    response = httpx.post(
        f"{world['app']}/api/v1/auth/login/", json={"email": "root@corp.example", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["code"]


# --- The API flow -----------------------------------------------------------------------------------


def test_discovery_names_what_the_flow_needs(world):
    discovery = world["discovery"]
    assert discovery["issuer"] == world["issuer"]
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert httpx.get(discovery["jwks_uri"]).json()["keys"], "the provider publishes its signing keys"


def test_code_and_pkce_give_the_api_its_own_tokens_with_the_groups_role(world):
    set_person(world, "ada", groups=["helpdesk-network-agents"])
    grant = authorize(world, "ada")
    response = sso_token(world, grant)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"access", "refresh"}  # the same body as password sign-in
    profile = me(world, pair["access"])
    assert (profile["email"], profile["role"], profile["first_name"]) == ("ada@corp.example", "agent", "Ada")
    assert profile["department"] == department_id(world, "Network", pair["access"])
    # The project's own refresh works on it, as for a password sign-in.
    refreshed = httpx.post(f"{world['app']}/api/v1/auth/refresh/", json={"refresh": pair["refresh"]})
    assert refreshed.status_code == 200
    # A code works once.
    again = sso_token(world, grant)
    assert (again.status_code, problem_code(again)) == (401, "oidc_code_refused")


def test_a_code_needs_its_own_pkce_verifier(world):
    grant = authorize(world, "ada")
    response = sso_token(world, {**grant, "code_verifier": secrets.token_urlsafe(48)})
    assert (response.status_code, problem_code(response)) == (401, "oidc_code_refused")


def test_the_id_token_must_carry_the_nonce_the_app_sent(world):
    grant = authorize(world, "ada")
    response = sso_token(world, {**grant, "nonce": secrets.token_urlsafe(24)})
    assert (response.status_code, problem_code(response)) == (401, "oidc_bad_nonce")


def test_a_redirect_uri_this_server_does_not_know_is_refused(world):
    grant = authorize(world, "ada")
    response = sso_token(world, {**grant, "redirect_uri": "https://evil.example/cb"})
    assert (response.status_code, problem_code(response)) == (401, "oidc_bad_redirect_uri")


@pytest.mark.parametrize("tamper", ["payload", "foreign_key"])
def test_a_tampered_id_token_is_refused_and_changes_nothing(world, tamper):
    """`payload`: bob's token rewritten to say grace, an admin, after signing; `foreign_key`: signed by
    a key the provider's JWKS does not hold (with the provider's key id)."""
    httpx.post(f"{world['issuer']}/_test/mode", json={"tamper": tamper})
    response = sso_token(world, authorize(world, "bob"))
    assert (response.status_code, problem_code(response)) == (401, "oidc_bad_signature")
    users = httpx.get(
        f"{world['app']}/api/v1/users/?q=corp.example", headers={"Authorization": f"Bearer {admin_access(world)}"}
    ).json()["results"]
    assert not any(u["email"] == "bob@corp.example" for u in users), "no account from a refused token"


def test_a_token_for_another_client_is_refused(world):
    httpx.post(f"{world['issuer']}/_test/mode", json={"tamper": "audience"})
    response = sso_token(world, authorize(world, "ada"))
    assert (response.status_code, problem_code(response)) == (401, "oidc_bad_aud")


def test_an_expired_id_token_is_refused(world):
    # The token lives a second and reaches the helpdesk 2.5 s later (a slow network).
    httpx.post(f"{world['issuer']}/_test/mode", json={"idTokenTtl": 1, "delayMs": 2500})
    response = sso_token(world, authorize(world, "ada"))
    assert (response.status_code, problem_code(response)) == (401, "oidc_token_expired")


def test_groups_map_to_roles_and_a_removed_group_takes_the_role_back(world):
    set_person(world, "grace", groups=["helpdesk-admins", "everyone"])
    first = sso_token(world, authorize(world, "grace")).json()
    assert me(world, first["access"])["role"] == "admin"
    set_person(world, "grace", groups=["everyone"])
    second = sso_token(world, authorize(world, "grace"))
    assert second.status_code == 200
    profile = me(world, second.json()["access"])
    assert (profile["role"], profile["department"]) == ("employee", None)
    # The change is in the audit log as an admin's would be, by the system (no actor).
    audit = httpx.get(
        f"{world['app']}/api/v1/audit/?action=user.role_changed&target_id={profile['id']}",
        headers={"Authorization": f"Bearer {admin_access(world)}"},
    ).json()["results"]
    assert [(entry["changes"]["role"], entry["actor"]) for entry in audit] == [(["admin", "employee"], None)]
    # An admin token issued before the change no longer opens admin endpoints (the role is read per request).
    users = httpx.get(f"{world['app']}/api/v1/users/", headers={"Authorization": f"Bearer {first['access']}"})
    assert users.status_code == 403


def test_an_unverified_email_signs_nobody_in(world):
    response = sso_token(world, authorize(world, "mallory"))
    assert (response.status_code, problem_code(response)) == (401, "oidc_email_unverified")


def test_a_deactivated_account_stays_out(world):
    response = sso_token(world, authorize(world, "linus"))
    assert (response.status_code, problem_code(response)) == (401, "user_inactive")


def test_password_sign_in_is_for_admins_only_when_switched_off(world):
    employee = httpx.post(
        f"{world['app']}/api/v1/auth/login/", json={"email": "pat@corp.example", "password": EMPLOYEE_PASSWORD}
    )
    assert (employee.status_code, problem_code(employee)) == (401, "invalid_credentials")
    assert admin_access(world)


# --- The browser flow: Django admin -------------------------------------------------------------------


def _admin_sign_in(world, person: str) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=world["app"], timeout=30)
    page = get(browser, "/admin/login/?next=/admin/")
    assert "Sign in with Corp SSO" in page.text
    link = page.text.split('class="company-sign-in"', 1)[1].split('href="', 1)[1].split('"', 1)[0]
    link = link.replace("&amp;", "&")
    # The provider knows whom to sign in from login_hint (in a real browser: its own login page).
    done = _follow(browser, f"{world['app']}{link}&login_hint={person}", f"{world['app']}/sso/callback/")
    return browser, get(browser, done)


@pytest.mark.parametrize(
    "person",
    [
        "grace",  # her first sign-in: the account is made, an admin by her groups
        "tess",  # an admin with an authenticator: the provider asked for its own factor, admin does not ask again
    ],
)
def test_staff_sign_in_to_django_admin_through_the_provider(world, person):
    set_person(world, person, groups=["helpdesk-admins"])
    browser, callback = _admin_sign_in(world, person)
    assert (callback.status_code, callback.headers["location"]) == (302, "/admin/")
    index = get(browser, "/admin/")
    assert index.status_code == 200 and "Site administration" in index.text and person.title() in index.text


def test_someone_without_staff_groups_gets_no_admin_session(world):
    set_person(world, "bob", groups=["staff"])
    browser, callback = _admin_sign_in(world, "bob")
    assert callback.headers["location"] == "/admin/login/"
    page = get(browser, "/admin/login/")
    assert "has no access to administration" in page.text
    assert get(browser, "/admin/").status_code == 302  # still signed out


# --- docs/walkthroughs.md, "Company sign-in (SSO)", as written ---------------------------------------


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl, as the walk-through does")
def test_the_sso_walkthrough_runs_as_written(world, tmp_path, monkeypatch):
    set_person(world, "ada", groups=["helpdesk-network-agents"])
    monkeypatch.setenv("ISSUER", world["issuer"])
    monkeypatch.setenv("CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("APP_REDIRECT", world["api_redirect"])
    assert run_walkthrough("sso", world["app"], tmp_path) == ["ada@corp.example is agent", "oidc_code_refused"]
