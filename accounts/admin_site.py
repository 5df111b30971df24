"""Django admin's site: the password, then a second factor for whoever needs one (decision 0032).

Staff with an authenticator, and every lead and admin under STAFF_REQUIRE_2FA, give a code (or a
recovery code) on the login page; the session remembers the device that verified it and admin
pages are open only while that device exists. Those without one under STAFF_REQUIRE_2FA are told
how to enrol (through the API). django-otp's OTPAdminSite asks everyone and its OTPMiddleware
reads device ids as integers (MongoDB's are ObjectIds), so the equivalent lives here.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm

from accounts import two_factor
from helpdesk.api import ratelimits
from helpdesk.errors import RateLimited

SESSION_KEY = "accounts.2fa_device"
# The proof of a session opened by company sign-in: the provider asks for its own second factor
# (decision 0031), so the helpdesk does not ask again.
SIGNED_IN_BY_PROVIDER = "provider"


class SecondFactorLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        required=False,
        max_length=32,
        label="Authenticator code",
        help_text="Staff with an authenticator: its 6-digit code, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None or not two_factor.is_required(user):
            return cleaned
        if not two_factor.is_enrolled(user):
            raise forms.ValidationError(
                "Staff must use a second factor here. Enrol an authenticator first: sign in to the API "
                "(POST /api/v1/auth/login/) and follow its enrolment challenge (docs/api-guide.md).",
                code="mfa_enrolment_required",
            )
        code = (cleaned.get("otp_token") or "").strip()
        if not code:
            raise forms.ValidationError("Enter the code of your authenticator app.", code="token_required")
        try:
            ratelimits.attempt_allowed(self.request, scope="mfa_ip", key="ip")
            ratelimits.attempt_allowed(self.request, scope="mfa_account", key=lambda group, request: user.pk)
            device = two_factor.check_code(user, code)
        except RateLimited as error:
            raise forms.ValidationError(error.detail, code="rate_limited") from None
        if device is None:
            ratelimits.count_failure(self.request, scope="mfa_ip", key="ip")
            ratelimits.count_failure(self.request, scope="mfa_account", key=lambda group, request: user.pk)
            raise forms.ValidationError("The code is wrong or was already used.", code="invalid_token")
        user.second_factor_device = device
        return cleaned


class HelpdeskAdminSite(AdminSite):
    login_form = SecondFactorLoginForm
    login_template = "admin/login_2fa.html"
    site_header = "Helpdesk AI administration"
    site_title = "Helpdesk AI"

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        device = getattr(request.user, "second_factor_device", None)
        if device is not None:  # signed in just now, with a code
            request.session[SESSION_KEY] = two_factor.session_proof(device)
        return response

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        user, proof = request.user, request.session.get(SESSION_KEY)
        if not two_factor.is_required(user) or proof == SIGNED_IN_BY_PROVIDER:
            return True
        return two_factor.session_verified(user, proof)
