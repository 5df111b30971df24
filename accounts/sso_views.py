"""Company sign-in in the browser, for Django admin (decision 0031): "Sign in with <company>" on the
admin login page starts authorization code + PKCE at the company's provider (authlib keeps state,
nonce and verifier in the session); the callback verifies the ID token (accounts.oidc), finds the
account (accounts.sso) and opens an admin session for staff. Anyone else is told why and gets none."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts import admin_site, oidc, sso
from helpdesk.errors import DomainError

_NEXT = "accounts.sso.next"


def company_sign_in(request: HttpRequest) -> dict:
    """Template context: the admin login page shows the link when company sign-in is configured."""
    if not oidc.configured():
        return {}
    return {"company_sign_in": {"url": reverse("sso-login"), "name": settings.OIDC_PROVIDER_NAME}}


def _safe_next(request: HttpRequest, value: str) -> str:
    ok = url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return value if value and ok else reverse("admin:index")


def _back_to_login(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return HttpResponseRedirect(reverse("admin:login"))


@never_cache
@require_safe
def start(request: HttpRequest) -> HttpResponse:
    request.session[_NEXT] = _safe_next(request, request.GET.get("next", ""))
    try:
        return oidc.start_browser_sign_in(
            request,
            redirect_uri=request.build_absolute_uri(reverse("sso-callback")),
            login_hint=request.GET.get("login_hint", "")[:254],
        )
    except DomainError as error:
        return _back_to_login(request, error.detail)


@never_cache
@require_safe
def callback(request: HttpRequest) -> HttpResponse:
    try:
        user = sso.sign_in(claims=oidc.finish_browser_sign_in(request))
    except DomainError as error:
        return _back_to_login(request, error.detail)
    if not user.is_staff:
        return _back_to_login(
            request, f"You signed in as {user.email}, who has no access to administration; use the helpdesk app."
        )
    login(request, user, backend="accounts.sso.PasswordBackend")
    request.session[admin_site.SESSION_KEY] = admin_site.SIGNED_IN_BY_PROVIDER
    return HttpResponseRedirect(_safe_next(request, request.session.pop(_NEXT, "")))


urlpatterns = [
    path("login/", start, name="sso-login"),
    path("callback/", callback, name="sso-callback"),
]
