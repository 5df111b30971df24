"""Reads of users and departments, always narrowed to what the asking user may see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts import personal_data, policies
from accounts.models import Department, User
from helpdesk.errors import NotAllowed


def users_for(*, user: User) -> QuerySet[User]:
    return User.objects.filter(policies.visible_users(user))


def user_for(*, user: User, user_id: str) -> User:
    return get_object_or_404(users_for(user=user), pk=user_id)


def personal_data_for(*, user: User, user_id: str) -> dict[str, Any]:
    """Everything the system holds about the user `user_id`, as one JSON document (every app's
    part, accounts.personal_data; docs/decisions/0027). Admins only."""
    if not policies.can_manage_users(user):
        raise NotAllowed("Only admins export a person's data.")
    return personal_data.export_of(user_for(user=user, user_id=user_id))


def agents_of(*, department_ids: Iterable[str | None]) -> QuerySet[User]:
    """Who may be given these departments' tickets: their active agents and leads (none for triage)."""
    return User.objects.filter(policies.works_for_department(*department_ids)).order_by("email")


def departments_for(*, user: User) -> QuerySet[Department]:
    """Department names are not secret: everyone signed in may read them."""
    return Department.objects.all()


def department_for(*, user: User, department_id: str) -> Department:
    return get_object_or_404(departments_for(user=user), pk=department_id)


def people_names() -> list[str]:
    """Every account's first and last name: what a text must not name when it is for others
    (ai_assist.ml.personal). One query; names only."""
    return [
        " ".join(part for part in names if part)
        for names in User.objects.exclude(first_name="", last_name="").values_list("first_name", "last_name")
    ]
