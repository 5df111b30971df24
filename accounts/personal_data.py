"""The accounts part of a person's export and erasure (helpdesk.personal_data), and what every app
asks about erased accounts.

An erased account stays (tickets, articles and the audit log point at it) but says nothing about
who it was: the address becomes `erased-<id>@erased.invalid` (the `.invalid` top-level domain is
reserved, RFC 2606: no mail can ever reach it), the name "Erased user", no password can be used,
and it is inactive, so no token works again. That address is also how other apps recognise an
erased account (`erased_among`): the AI index leaves such a person's tickets out.
docs/decisions/0027-personal-data-export-and-erasure.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts import two_factor
from accounts.models import CompanyIdentity, RevokedToken, Role, User
from helpdesk import personal_data
from helpdesk.personal_data import Subject

ERASED_DOMAIN = "erased.invalid"
ERASED_FIRST_NAME, ERASED_LAST_NAME = "Erased", "user"


def erased_email(user_id: str) -> str:
    return f"erased-{user_id}@{ERASED_DOMAIN}"


def is_erased(user: User) -> bool:
    return user.email == erased_email(user.pk)


def erased_among(user_ids: Iterable[str]) -> set[str]:
    """Which of these accounts are erased (one query on the primary key)."""
    wanted = {user_id for user_id in user_ids if user_id}
    if not wanted:
        return set()
    rows = User.objects.filter(pk__in=wanted, email__endswith=f"@{ERASED_DOMAIN}").values_list("pk", "email")
    return {pk for pk, email in rows if email == erased_email(pk)}


def erased_user_ids() -> list[str]:
    """Every erased account (one query; there are few)."""
    rows = User.objects.filter(email__endswith=f"@{ERASED_DOMAIN}").values_list("pk", "email")
    return [pk for pk, email in rows if email == erased_email(pk)]


def subject_of(user: User) -> Subject:
    """The person as the account holds them now (nothing to look for once it is erased)."""
    if is_erased(user):
        return personal_data.subject(user_id=user.pk)
    return personal_data.subject(user_id=user.pk, email=user.email, name=user.get_full_name())


def export_of(user: User) -> dict[str, Any]:
    """Everything the system holds about `user`, as one JSON document (every app's part; the parts
    find their rows by the account's id)."""
    return personal_data.export(Subject(user_id=user.pk))


def erase_everywhere(user: User) -> dict[str, dict[str, int]]:
    """Anonymise `user` in every app (the account last); rows changed by part and table."""
    return personal_data.erase(subject_of(user))


# --- This app's part ---------------------------------------------------------------------------


def export_account(subject: Subject) -> dict[str, Any]:
    user = User.objects.select_related("department").get(pk=subject.user_id)
    tokens = RevokedToken.objects.filter(user_id=subject.user_id).order_by("revoked_at", "id")
    return {
        "account": {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": Role(user.role).api_name,
            "department": {"id": user.department_id, "name": user.department.name} if user.department else None,
            "skills": list(user.skills),
            "is_active": user.is_active,
            "is_available": user.is_available,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
            "has_password": user.has_usable_password(),  # never the hash
        },
        # The second factor: whether and since when (never the secret or a recovery code).
        "second_factor": {
            key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in two_factor.status(user).items()
            if key in ("enrolled", "recovery_codes_left", "enrolled_at", "last_used_at")
        },
        # The company account bound at the first company sign-in (decision 0031).
        "company_identities": [
            {"issuer": i.issuer, "subject": i.subject, "linked_at": i.linked_at.isoformat()}
            for i in CompanyIdentity.objects.filter(user_id=subject.user_id).order_by("linked_at", "id")
        ],
        # Sign-outs and spent refresh tokens: when, and why (never the token).
        "revoked_tokens": [
            {"reason": t.reason, "revoked_at": t.revoked_at.isoformat(), "expires_at": t.expires_at.isoformat()}
            for t in tokens
        ],
    }


def erase_account(subject: Subject) -> dict[str, int]:
    """The account: placeholder address, "Erased user", no skills, unavailable, inactive, no usable
    password (a new address and password hash also end every refresh token: accounts.tokens). Django
    admin's history names an object by its text (the address): that text goes too."""
    user = User.objects.get(pk=subject.user_id)
    wanted = {
        "email": erased_email(user.pk),
        "first_name": ERASED_FIRST_NAME,
        "last_name": ERASED_LAST_NAME,
        "skills": [],
        "is_active": False,
        "is_available": False,
    }
    changed = {name: value for name, value in wanted.items() if getattr(user, name) != value}
    users = 0
    if changed or user.has_usable_password():
        for name, value in changed.items():
            setattr(user, name, value)
        user.set_unusable_password()
        User.objects.filter(pk=user.pk).update(**changed, password=user.password)
        users = 1
    # The second factor and the company account go with the password: nobody signs in to an erased account.
    devices = two_factor.remove_all(user)
    identities, _ = CompanyIdentity.objects.filter(user=user).delete()
    shown = erased_email(user.pk)  # what str(user) is now
    history = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=user.pk)
    return {
        "accounts_user": users,
        "otp_devices": devices,
        "accounts_companyidentity": identities,
        "django_admin_log": history.exclude(object_repr=shown).update(object_repr=shown),
    }


def register() -> None:
    personal_data.register("accounts", export=export_account, erase=erase_account, erase_last=True)
