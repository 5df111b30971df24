"""The company's OpenID provider, as a confidential client (decision 0031): discovery, the code
exchange with PKCE and the ID-token checks, for both the browser flow (Django admin) and the API flow.

authlib does the protocol: its Django client keeps state, nonce and PKCE verifier in the session for
the browser, and the same client exchanges a code an API client brings. Every ID token is checked the
same way before anything reads its claims: the signature against the provider's JWKS (found through
discovery; fetched again when a new key id appears), the issuer (the one configured, which discovery
must confirm), the audience (our client id), expiry and issue time (OIDC_CLOCK_SKEW_SECONDS of
leeway) and the nonce the flow started with. What the person may do is decided from the verified
claims only (accounts.sso), never from anything the client sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError

from helpdesk.errors import NotFound, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

NAME = "company"


class SignInRefused(Unauthenticated):
    """The provider or its token said no; `code` says why (docs/security.md, "Company sign-in")."""

    code = "oidc_refused"


class NotConfigured(NotFound):
    code = "oidc_not_configured"


def configured() -> bool:
    return bool(settings.OIDC_ISSUER)


@dataclass(frozen=True)
class _Config:
    issuer: str
    client_id: str
    client_secret: str
    scope: str
    timeout: float


@cache
def _client(config: _Config) -> DjangoOAuth2App:
    """One authlib client per configuration (tests start servers with their own); it caches the
    provider's discovery document and keys for the process."""
    registry = OAuth()
    registry.register(
        NAME,
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=f"{config.issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={
            "scope": config.scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",  # nosec B105 - a method name, not a secret
            "default_timeout": config.timeout,
        },
    )
    return registry.create_client(NAME)


def client() -> DjangoOAuth2App:
    if not configured():
        raise NotConfigured("Company sign-in is not configured here (OIDC_ISSUER is unset).")
    app = _client(
        _Config(
            issuer=settings.OIDC_ISSUER,
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET,
            scope=settings.OIDC_SCOPES,
            timeout=settings.OIDC_TIMEOUT_SECONDS,
        )
    )
    try:
        metadata = app.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        log.warning("oidc discovery failed: %s", type(error).__name__)
        raise Unavailable(
            "The company's sign-in service does not answer; try again shortly.", code="oidc_unavailable"
        ) from None
    if metadata.get("issuer", "").rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
        # OpenID Connect Discovery 1.0, 4.3: a document naming another issuer is not this provider's.
        app.server_metadata.clear()
        raise Unavailable("The company's sign-in service describes another issuer.", code="oidc_misconfigured")
    return app


def _verified(app: DjangoOAuth2App, token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """The ID token's claims, after every check (module docstring); SignInRefused otherwise."""
    if "id_token" not in token:
        raise SignInRefused("The provider sent no ID token (is `openid` in OIDC_SCOPES?).", code="oidc_no_id_token")
    try:
        claims = app.parse_id_token(
            token,
            nonce=nonce,
            # authlib checks the issuer by default but the audience only through `azp`: both are named here.
            claims_options={
                "iss": {"essential": True, "value": app.load_server_metadata()["issuer"]},
                "aud": {"essential": True, "value": app.client_id},
            },
            leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
        )
    except ExpiredTokenError:
        raise SignInRefused("The ID token has expired; sign in again.", code="oidc_token_expired") from None
    except BadSignatureError:
        raise SignInRefused(
            "The ID token's signature does not match the provider's keys.", code="oidc_bad_signature"
        ) from None
    except (InvalidClaimError, MissingClaimError) as error:
        claim = getattr(error, "claim", "") or ""
        raise SignInRefused(
            f"The ID token's `{claim}` claim is wrong or missing"
            + (" (the token is for another client)." if claim == "aud" else "."),
            code=f"oidc_bad_{claim}" if claim in {"aud", "iss", "nonce", "exp", "iat"} else "oidc_bad_claim",
        ) from None
    except (JoseError, ValueError):
        raise SignInRefused("The ID token is not valid.", code="oidc_bad_token") from None
    except requests.RequestException:
        raise Unavailable(
            "The company's sign-in service does not answer; try again shortly.", code="oidc_unavailable"
        ) from None
    return dict(claims)


def _exchanged(call) -> dict[str, Any]:
    try:
        return call()
    except OAuthError as error:
        # invalid_grant: a code already used, expired, for another redirect URI, or a wrong verifier.
        raise SignInRefused(
            f"The provider refused the code ({error.error}); start the sign-in again.", code="oidc_code_refused"
        ) from None
    except requests.RequestException:
        raise Unavailable(
            "The company's sign-in service does not answer; try again shortly.", code="oidc_unavailable"
        ) from None


# --- API flow: the client did code + PKCE at the provider; the server redeems the code --------------


def claims_for_code(*, code: str, code_verifier: str, redirect_uri: str, nonce: str) -> dict[str, Any]:
    """Redeem an authorization code (as the confidential client, with the client's PKCE verifier) and
    return the verified ID token's claims. `redirect_uri` must be one of OIDC_API_REDIRECT_URIS."""
    app = client()
    if redirect_uri not in settings.OIDC_API_REDIRECT_URIS:
        raise SignInRefused("That redirect_uri is not one of this server's.", code="oidc_bad_redirect_uri")
    token = _exchanged(
        lambda: app.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
    )
    return _verified(app, token, nonce=nonce)


# --- Browser flow (Django admin): state, nonce and verifier live in the session ---------------------


def start_browser_sign_in(request: HttpRequest, *, redirect_uri: str, login_hint: str = "") -> HttpResponse:
    extra = {"login_hint": login_hint} if login_hint else {}
    return client().authorize_redirect(request, redirect_uri, **extra)


def finish_browser_sign_in(request: HttpRequest) -> dict[str, Any]:
    app = client()
    state = request.GET.get("state", "")
    if request.GET.get("error"):
        raise SignInRefused(
            f"The provider did not sign you in ({request.GET['error'][:64]}).", code="oidc_provider_error"
        )
    stored = app.framework.get_state_data(request.session, state)
    if not state or not stored or not stored.get("nonce"):
        raise SignInRefused("This sign-in was not started here or has expired; start again.", code="oidc_bad_state")
    app.framework.clear_state_data(request.session, state)
    token = _exchanged(
        lambda: app.fetch_access_token(
            redirect_uri=stored["redirect_uri"], code=request.GET.get("code", ""), code_verifier=stored["code_verifier"]
        )
    )
    return _verified(app, token, nonce=stored["nonce"])
