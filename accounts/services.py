"""Writes to users and departments. Each function checks its rule, so API, admin and jobs agree."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from accounts import policies
from accounts.models import Department, Role, User, normalize_email
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.tags import normalise_tags

MAX_SKILLS = 30


def _check_password(password: str, *, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise Invalid("The password is too weak.", errors={"password": list(error.messages)}) from None


def _check_email_free(email: str, *, exclude: User | None = None) -> None:
    taken = User.objects.filter(email=email)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise Invalid("That email is already registered.", errors={"email": ["A user with this email exists."]})


def _check_role_department(role: int, department: Department | None) -> None:
    if role in (Role.AGENT, Role.LEAD) and department is None:
        raise Invalid(
            "Agents and leads belong to a department.",
            errors={"department": ["Required for agents and leads."]},
        )


def _save_new(user: User, password: str) -> User:
    user.set_password(password)
    try:
        with transaction.atomic():  # a savepoint on SQL; a no-op where there are none
            user.save(force_insert=True)
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        raise Invalid(
            "That email is already registered.", errors={"email": ["A user with this email exists."]}
        ) from None
    return user


def user_signup(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Self-service sign-up: always an employee, whatever else the caller asked for."""
    email = normalize_email(email)
    _check_email_free(email)
    user = User(email=email, first_name=first_name, last_name=last_name, role=Role.EMPLOYEE)
    _check_password(password, user=user)
    return _save_new(user, password)


def user_create(
    *,
    actor: User,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    role: int = Role.EMPLOYEE,
    department: Department | None = None,
    skills: Iterable[str] = (),
    is_available: bool = True,
) -> User:
    if not policies.can_manage_users(actor):
        raise NotAllowed("Only admins create users.")
    email = normalize_email(email)
    _check_email_free(email)
    _check_role_department(role, department)
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        department=department,
        skills=normalise_tags(skills, field="skills", most=MAX_SKILLS),
        is_available=is_available,
    )
    _check_password(password, user=user)
    return _save_new(user, password)


UPDATABLE_USER_FIELDS = frozenset(
    {"email", "first_name", "last_name", "role", "department", "skills", "is_available", "is_active", "password"}
)


def user_update(*, actor: User, user: User, **changes) -> User:
    if not policies.can_manage_users(actor):
        raise NotAllowed("Only admins change users.")
    unknown = set(changes) - UPDATABLE_USER_FIELDS
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if user.pk == actor.pk and (changes.get("is_active") is False or changes.get("role", actor.role) < actor.role):
        raise Invalid("You cannot deactivate or demote yourself; ask another admin.", code="self_lockout")
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        _check_email_free(changes["email"], exclude=user)
    if "skills" in changes:
        changes["skills"] = normalise_tags(changes["skills"], field="skills", most=MAX_SKILLS)
    _check_role_department(changes.get("role", user.role), changes.get("department", user.department))

    password = changes.pop("password", None)
    for field, value in changes.items():
        setattr(user, field, value)
    if password is not None:
        _check_password(password, user=user)
        user.set_password(password)
    user.save()
    return user


def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivation keeps the user's history; their tokens stop working at the next request."""
    return user_update(actor=actor, user=user, is_active=False)


def department_create(*, actor: User, name: str, description: str = "") -> Department:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    name = " ".join(name.split())
    if Department.objects.filter(name__iexact=name).exists():
        raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]})
    try:
        with transaction.atomic():
            return Department.objects.create(name=name, description=description)
    except IntegrityError:
        raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]}) from None


def department_update(
    *, actor: User, department: Department, name: str | None = None, description: str | None = None
) -> Department:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    if name is not None:
        name = " ".join(name.split())
        if Department.objects.filter(name__iexact=name).exclude(pk=department.pk).exists():
            raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]})
        department.name = name
    if description is not None:
        department.description = description
    department.save()
    return department


def department_delete(*, actor: User, department: Department) -> None:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    try:
        department.delete()
    except ProtectedError:
        raise Conflict(
            "The department still has members; move them to another department first.",
            code="department_in_use",
        ) from None


def profile_update(*, user: User, **changes) -> User:
    """What every user may change about themselves: their name and (agents) availability."""
    allowed = {"first_name", "last_name", "is_available"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    for field, value in changes.items():
        setattr(user, field, value)
    user.save(update_fields=list(changes) or None)
    return user
