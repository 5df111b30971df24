"""Who may do what with users and departments. Every rule about accounts lives here."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User


@cache
def lead_admin_permissions() -> frozenset[str]:
    """What a lead may do in Django admin (admins may do everything).

    Each app declares its own in `lead_admin_permissions` on its AppConfig; they are collected
    through the app registry (once it is ready), so accounts names no other app. An app grants
    permissions on its own models only ("<its label>.<codename>").
    """
    collected: set[str] = set()
    for config in apps.get_app_configs():
        declared = frozenset(getattr(config, "lead_admin_permissions", ()))
        foreign = sorted(perm for perm in declared if not perm.startswith(f"{config.label}."))
        if foreign:
            raise ImproperlyConfigured(
                f"{config.name}: lead_admin_permissions may only name its own models' permissions, not {foreign}."
            )
        collected |= declared
    return frozenset(collected)


def role_has_permission(role: int, perm: str) -> bool:
    if role >= Role.ADMIN:
        return True
    if role >= Role.LEAD:
        return perm in lead_admin_permissions()
    return False


def role_has_module(role: int, app_label: str) -> bool:
    if role >= Role.ADMIN:
        return True
    if role >= Role.LEAD:
        return any(perm.startswith(f"{app_label}.") for perm in lead_admin_permissions())
    return False


def visible_users(user: User) -> Q:
    """Admins see everyone; agents and leads their department (and themselves); others themselves."""
    if user.role >= Role.ADMIN:
        return Q()
    if user.role >= Role.AGENT and user.department_id:
        return Q(department_id=user.department_id) | Q(pk=user.pk)
    return Q(pk=user.pk)


def works_for_department(*department_ids: str | None) -> Q:
    """The people who may work these departments' tickets: their active agents and leads (triage: nobody)."""
    wanted = [department_id for department_id in department_ids if department_id is not None]
    if not wanted:
        return Q(pk__in=[])
    return Q(is_active=True, role__gte=Role.AGENT, role__lte=Role.LEAD, department_id__in=wanted)


def is_active_agent_of(user: User, department_id: str | None) -> bool:
    """The same rule as works_for_department, for one user already in memory."""
    return (
        department_id is not None
        and user.is_active
        and Role.AGENT <= user.role <= Role.LEAD
        and user.department_id == department_id
    )


def can_list_users(user: User) -> bool:
    return user.role >= Role.AGENT


def can_manage_users(user: User) -> bool:
    return user.role >= Role.ADMIN


def can_manage_departments(user: User) -> bool:
    return user.role >= Role.ADMIN


def can_change_email(actor: User, target: User) -> bool:
    """The sign-in email is the key to the account (a password reset goes to it): only admins change
    anyone's, never a lead, who could otherwise reset the password and sign in as that person
    (docs/decisions/0026). Nobody changes their own yet; an admin changing theirs is an admin's change."""
    return actor.role >= Role.ADMIN


# --- Django admin: leads manage the employees and agents of their own department ---------------


def admin_editable_users(user: User) -> Q:
    if user.role >= Role.ADMIN:
        return Q()
    if user.role >= Role.LEAD and user.department_id:
        return Q(department_id=user.department_id)
    return Q(pk__in=[])


def roles_assignable_by(user: User) -> list[Role]:
    if user.role >= Role.ADMIN:
        return list(Role)
    if user.role >= Role.LEAD:
        return [Role.EMPLOYEE, Role.AGENT]
    return []


def can_admin_change_user(actor: User, target: User) -> bool:
    """A lead manages the employees and agents of their department, never a lead or an admin.
    Asked of the user as stored (may the lead open them) and as about to be saved (does the new
    state stay inside the lead's rights)."""
    if actor.role >= Role.ADMIN:
        return True
    return (
        actor.role >= Role.LEAD
        and actor.department_id is not None
        and target.department_id == actor.department_id
        and target.role in roles_assignable_by(actor)
    )


# --- Sign-in -------------------------------------------------------------------------------------


def password_login_allowed(user: User) -> bool:
    """PASSWORD_LOGIN off: only admins sign in with a password (a way in while the company's provider
    is down); everyone else through company sign-in (decision 0031)."""
    return settings.PASSWORD_LOGIN or user.role >= Role.ADMIN


# --- The second factor (accounts.two_factor; docs/decisions/0032) --------------------------------


def can_enrol_second_factor(user: User) -> bool:
    """Staff (agents, leads, admins) may protect their account with an authenticator."""
    return user.is_active and user.role >= Role.AGENT


def must_enrol_second_factor(user: User, *, staff_require_2fa: bool) -> bool:
    """Under STAFF_REQUIRE_2FA, staff without an authenticator enrol before they get tokens."""
    return staff_require_2fa and can_enrol_second_factor(user)


def can_reset_second_factor(actor: User, target: User) -> bool:
    """Admins reset another person's second factor (a lost phone); their own they remove with a
    current code or their password, like everyone."""
    return actor.role >= Role.ADMIN and actor.pk != target.pk
