"""Company sign-in (decision 0031): who a verified ID token is here, and with what role.

accounts.oidc verifies the token; this module reads its claims and nothing else. The account is the
one with the token's email, which the provider must have verified (`email_verified` true), or a new
one (OIDC_CREATE_USERS); from then on the account is bound to the company account (the token's
`iss` and `sub`: accounts.CompanyIdentity), so a later holder of the same address at the provider is
refused, and a changed address still finds the account. Role and department come from the provider's groups through
OIDC_GROUP_ROLES and OIDC_GROUP_DEPARTMENTS, at every sign-in: a person taken out of a group is back
to employee at their next one. An inactive account stays out. Writes go through accounts.services,
with the events an admin's change publishes. Also here: the password backend that obeys
PASSWORD_LOGIN (policies.password_login_allowed) for the API and Django admin alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from accounts import policies, services
from accounts.models import CompanyIdentity, Department, Role, User, normalize_email
from accounts.oidc import SignInRefused

log = logging.getLogger(__name__)


def _groups(claims: Mapping[str, Any]) -> set[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return {group for group in value if isinstance(group, str)} if isinstance(value, list) else set()


def directory_role(groups: set[str], *, current: User | None = None) -> tuple[int, Department | None]:
    """The role and department the groups give: the highest mapped role (none: employee), the first
    mapped department in OIDC_GROUP_DEPARTMENTS' order that exists. Agents and leads need a department:
    without one the person is an employee (logged, for whoever keeps the mapping). With no mapping
    configured for one of the two, it stays as the helpdesk keeps it (`current`)."""
    if settings.OIDC_GROUP_ROLES:
        mapped = [
            Role.from_api_name(settings.OIDC_GROUP_ROLES[group]) for group in groups & settings.OIDC_GROUP_ROLES.keys()
        ]
        role = max(mapped, default=Role.EMPLOYEE)
    else:
        role = Role(current.role) if current else Role.EMPLOYEE
    department = current.department if current and not settings.OIDC_GROUP_DEPARTMENTS else None
    for group, name in settings.OIDC_GROUP_DEPARTMENTS.items():
        if group in groups:
            department = Department.objects.filter(name__iexact=name).first()
            if department is None:
                log.warning("oidc: OIDC_GROUP_DEPARTMENTS names a department that does not exist: %s", name)
                continue
            break
    if role in (Role.AGENT, Role.LEAD) and department is None:
        log.warning("oidc: groups give the %s role but no department; signing in as an employee", role.api_name)
        role = Role.EMPLOYEE
    return role, department


def _refuse(reason: str, detail: str, *, user: User | None = None) -> SignInRefused:
    services.company_sign_in_refused(reason=reason, user=user)
    return SignInRefused(detail, code=reason)


def sign_in(*, claims: Mapping[str, Any]) -> User:
    """The active account for verified ID-token claims, its role and department brought in line with
    the provider's groups, the sign-in recorded (user.logged_in, method "oidc"). SignInRefused
    otherwise. The caller issues the tokens or the session."""
    email = normalize_email(str(claims.get("email") or ""))
    if not email or claims.get("email_verified") is not True:
        raise _refuse(
            "oidc_email_unverified",
            "Your company account has no verified email address; ask your identity team.",
        )
    groups = _groups(claims)
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    if not issuer or not subject:  # accounts.oidc checks both; a token without them names nobody
        raise _refuse("oidc_no_subject", "Your company sign-in did not say who you are; ask your identity team.")
    identity = CompanyIdentity.objects.filter(issuer=issuer, subject=subject).select_related("user").first()
    user = identity.user if identity is not None else User.objects.filter(email=email).first()
    if user is not None and not user.is_active:
        raise _refuse("user_inactive", "This account is deactivated; ask a helpdesk admin.", user=user)
    if identity is None and user is not None and CompanyIdentity.objects.filter(user=user, issuer=issuer).exists():
        raise _refuse(
            "oidc_other_company_account",
            "This helpdesk account belongs to another company account with the same address; ask a helpdesk admin.",
            user=user,
        )
    if user is None:
        if not settings.OIDC_CREATE_USERS:
            raise _refuse("oidc_no_account", "There is no helpdesk account for your company account; ask an admin.")
        role, department = directory_role(groups)
        user = services.user_provision(
            email=email,
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
            role=role,
            department=department,
        )
    else:
        role, department = directory_role(groups, current=user)
        user = services.user_apply_directory(user=user, role=role, department=department)
    if identity is None:
        user = services.company_identity_link(user=user, issuer=issuer, subject=subject)
    services.login_succeeded(user=user, method="oidc")
    return user


class PasswordBackend(ModelBackend):
    """Django's password check, for the API's sign-in and Django admin's form, refusing whom
    PASSWORD_LOGIN leaves out exactly as a wrong password (no answer tells a right password apart).
    Sessions already made (a company sign-in to admin) are not its business: get_user is Django's."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not policies.password_login_allowed(user):
            return None
        return user
