"""Who may do what with users and departments. Every rule about accounts lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User

# What a lead may do in Django admin (admins may do everything). Later apps add theirs here.
LEAD_PERMISSIONS = frozenset(
    {
        "accounts.view_user",
        "accounts.change_user",
        "accounts.view_department",
        "tickets.view_ticket",
        "tickets.change_ticket",
        "tickets.view_slapolicy",
        "audit.view_auditentry",
        "knowledge.view_article",
        "knowledge.add_article",
        "knowledge.change_article",
        "knowledge.delete_article",
        "knowledge.view_articleversion",
        "knowledge.view_category",
        "knowledge.add_category",
        "knowledge.change_category",
        "knowledge.delete_category",
    }
)


def role_has_permission(role: int, perm: str) -> bool:
    if role >= Role.ADMIN:
        return True
    if role >= Role.LEAD:
        return perm in LEAD_PERMISSIONS
    return False


def role_has_module(role: int, app_label: str) -> bool:
    if role >= Role.ADMIN:
        return True
    if role >= Role.LEAD:
        return any(perm.startswith(f"{app_label}.") for perm in LEAD_PERMISSIONS)
    return False


def visible_users(user: User) -> Q:
    """Admins see everyone; agents and leads their department (and themselves); others themselves."""
    if user.role >= Role.ADMIN:
        return Q()
    if user.role >= Role.AGENT and user.department_id:
        return Q(department_id=user.department_id) | Q(pk=user.pk)
    return Q(pk=user.pk)


def can_list_users(user: User) -> bool:
    return user.role >= Role.AGENT


def can_manage_users(user: User) -> bool:
    return user.role >= Role.ADMIN


def can_manage_departments(user: User) -> bool:
    return user.role >= Role.ADMIN


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
    """A lead may edit employees and agents of their department, never a lead or an admin."""
    if actor.role >= Role.ADMIN:
        return True
    return (
        actor.role >= Role.LEAD
        and actor.department_id is not None
        and target.department_id == actor.department_id
        and target.role <= Role.AGENT
    )


def can_admin_save_user(actor: User, target: User) -> bool:
    """The state a user is saved in from Django admin: a lead keeps it inside their rights."""
    if actor.role >= Role.ADMIN:
        return True
    return (
        actor.role >= Role.LEAD
        and actor.department_id is not None
        and target.department_id == actor.department_id
        and target.role in roles_assignable_by(actor)
    )
