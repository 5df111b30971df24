"""Writes to users and departments, and the sign-in record. Each function checks its rule, so API,
admin and jobs agree, and publishes what happened (helpdesk.events) in the write's transaction:
the audit log hears every one, sign-ins and failed sign-ins included. No event holds a secret."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from accounts import personal_data, policies, tokens
from accounts.models import CompanyIdentity, Department, Role, User, normalize_email
from helpdesk import events
from helpdesk.errors import Conflict, Invalid, NotAllowed
from helpdesk.tags import normalise_tags

MAX_SKILLS = 30


def _check_password(password: str, *, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise Invalid("The password is too weak.", errors={field: list(error.messages)}) from None


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


def _user_event(
    kind: type[events.UserEvent], user: User, *, actor: User | None, changes: dict | None = None, **extra
) -> events.UserEvent:
    return kind(
        target_id=user.pk,
        actor_id=actor.pk if actor is not None else None,
        email=user.email,
        role=Role(user.role).api_name,
        department_id=user.department_id,
        is_active=user.is_active,
        changes=changes or {},
        **extra,
    )


def _save_new(user: User, password: str, *, kind: type[events.UserEvent], actor: User | None) -> User:
    user.set_password(password)
    return _insert(user, kind=kind, actor=actor if actor is not None else user)


def _insert(user: User, *, kind: type[events.UserEvent], actor: User | None) -> User:
    """Save a new account and publish `kind` with it (actor None: the system acted)."""
    try:
        with transaction.atomic():  # a savepoint on SQL; a no-op where there are none
            user.save(force_insert=True)
            events.publish(_user_event(kind, user, actor=actor))
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
    return _save_new(user, password, kind=events.UserSignedUp, actor=None)


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
    is_active: bool = True,
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
        is_active=is_active,  # an account made ahead of its start date signs in once activated
    )
    _check_password(password, user=user)
    return _save_new(user, password, kind=events.UserCreated, actor=actor)


def user_create_from_email(*, email: str, first_name: str = "", last_name: str = "") -> User:
    """An employee account for someone who wrote to the helpdesk from an address of an allowed domain
    (intake: EMAIL_INTAKE_DOMAINS, checked by the caller). No usable password: they set one through
    the password reset, which proves they read that mailbox."""
    email = normalize_email(email)
    _check_email_free(email)
    user = User(email=email, first_name=first_name[:150], last_name=last_name[:150], role=Role.EMPLOYEE)
    user.set_unusable_password()
    return _insert(user, kind=events.UserCreated, actor=None)  # a concurrent message from them: Invalid


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
        if changes["email"] != user.email:
            _check_email_change(actor, user)
            _check_email_free(changes["email"], exclude=user)
    if "skills" in changes:
        changes["skills"] = normalise_tags(changes["skills"], field="skills", most=MAX_SKILLS)
    _check_role_department(changes.get("role", user.role), changes.get("department", user.department))

    password = changes.pop("password", None)
    before = _facts(user)
    for field, value in changes.items():
        setattr(user, field, value)
    if password is not None:
        _check_password(password, user=user)
        user.set_password(password)
    with transaction.atomic():
        user.save()
        _publish_changes(user, actor=actor, before=before, password_changed=password is not None)
    return user


def _facts(user: User) -> dict:
    """What the events say changed about a user (never the password: see _publish_changes)."""
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": Role(user.role).api_name,
        "department": user.department_id,
        "skills": list(user.skills),
        "is_available": user.is_available,
        "is_active": user.is_active,
    }


def _check_email_change(actor: User, user: User) -> None:
    """The sign-in email is where a password reset goes: whoever changes it can take the account."""
    if not policies.can_change_email(actor, user):
        raise NotAllowed("Only admins change a person's sign-in email.")


def _publish_changes(user: User, *, actor: User | None, before: dict, password_changed: bool = False) -> None:
    """One event per fact: a role change, a (de)activation, an email change, and the other changes
    together. A new email or password has already ended the user's refresh tokens when it was saved
    (accounts.tokens: they carry a fingerprint of both); user.email_changed tells the old address."""
    after = _facts(user)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    role, active, email = changes.pop("role", None), changes.pop("is_active", None), changes.pop("email", None)
    if password_changed:
        changes["password"] = [events.REDACTED, events.REDACTED]
    if role is not None:
        events.publish(
            _user_event(events.UserRoleChanged, user, actor=actor, changes={"role": role}, previous_role=role[0])
        )
    if active is not None:
        kind = events.UserReactivated if user.is_active else events.UserDeactivated
        events.publish(_user_event(kind, user, actor=actor, changes={"is_active": active}))
    if email is not None:
        events.publish(
            _user_event(events.UserEmailChanged, user, actor=actor, changes={"email": email}, previous_email=email[0])
        )
    if changes:
        events.publish(_user_event(events.UserUpdated, user, actor=actor, changes=changes))


def user_admin_save(*, actor: User, user: User) -> User:
    """Save a user as a Django admin form left them (the form checked the fields and hashed a new
    password), under the same rules and with the same events as user_create and user_update: a
    lead manages their department's employees and agents (policies.can_admin_change_user) but
    never changes their sign-in email (policies.can_change_email), only admins add users, nobody
    locks themselves out; one event per fact, a password as [redacted]."""
    stored = None if user._state.adding else User.objects.filter(pk=user.pk).first()
    if stored is None and not policies.can_manage_users(actor):
        raise NotAllowed("Only admins create users.")
    if not policies.can_admin_change_user(actor, user) or (
        stored is not None and not policies.can_admin_change_user(actor, stored)
    ):
        raise NotAllowed("You may not give this user that role or department.")
    if stored is not None and normalize_email(user.email) != stored.email:
        _check_email_change(actor, stored)
    if stored is not None and user.pk == actor.pk and (not user.is_active or user.role < stored.role):
        raise Invalid("You cannot deactivate or demote yourself; ask another admin.", code="self_lockout")
    _check_role_department(user.role, user.department)
    with transaction.atomic():
        user.save()
        if stored is None:
            events.publish(_user_event(events.UserCreated, user, actor=actor))
        else:
            _publish_changes(
                user, actor=actor, before=_facts(stored), password_changed=user.password != stored.password
            )
    return user


def user_password_changed_in_admin(*, actor: User, user: User, previous_hash: str) -> None:
    """Django admin's password form saved `user` itself (in the caller's transaction): record it
    (as [redacted]) when the password did change."""
    if not policies.can_manage_users(actor):
        raise NotAllowed("Only admins set other users' passwords.")
    if user.password != previous_hash:
        events.publish(
            _user_event(events.UserUpdated, user, actor=actor, changes={"password": [events.REDACTED, events.REDACTED]})
        )


def user_delete(*, actor: User, user: User) -> None:
    """Admins only, never themselves (deactivation keeps the account; prefer it). The audit log
    keeps what the user did: its entries are never rewritten. Fails (ProtectedError) while the
    user still requests, works on or wrote something."""
    if not policies.can_manage_users(actor):
        raise NotAllowed("Only admins delete users.")
    if user.pk == actor.pk:
        raise Invalid("You cannot delete yourself; ask another admin.", code="self_lockout")
    event = _user_event(events.UserDeleted, user, actor=actor, changes={"is_active": [user.is_active, False]})
    with transaction.atomic():
        user.delete()
        events.publish(event)


def user_deactivate(*, actor: User, user: User) -> User:
    """Deactivation keeps the user's history; their tokens stop working at the next request."""
    return user_update(actor=actor, user=user, is_active=False)


def user_erase(*, actor: User, user: User) -> dict[str, dict[str, int]]:
    """Erase a person's personal data (GDPR; docs/decisions/0027): every app anonymises its part
    (helpdesk.personal_data), the account last, so it stays for the records (tickets keep their
    requester, shown as "Erased user") but names nobody and can never sign in again. Admins only,
    never themselves. Idempotent and safe to repeat after a failure: no multi-row transaction.
    One event, user.erased, with the account's id only. Returns the rows changed per part and
    table; `user` is reloaded."""
    if not policies.can_manage_users(actor):
        raise NotAllowed("Only admins erase personal data.")
    if user.pk == actor.pk:
        raise Invalid("You cannot erase your own account; ask another admin.", code="self_lockout")
    changed = personal_data.erase_everywhere(user)
    with transaction.atomic():
        events.publish(events.UserErased(target_id=user.pk, actor_id=actor.pk))
    user.refresh_from_db()
    return changed


def department_create(*, actor: User, name: str, description: str = "") -> Department:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    name = " ".join(name.split())
    if Department.objects.filter(name__iexact=name).exists():
        raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]})
    try:
        with transaction.atomic():
            department = Department.objects.create(name=name, description=description)
            events.publish(_department_event(events.DepartmentCreated, department, actor=actor))
            return department
    except IntegrityError:
        raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]}) from None


def department_update(
    *, actor: User, department: Department, name: str | None = None, description: str | None = None
) -> Department:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    before = {"name": department.name, "description": department.description}
    if name is not None:
        name = " ".join(name.split())
        if Department.objects.filter(name__iexact=name).exclude(pk=department.pk).exists():
            raise Invalid("That department exists.", errors={"name": ["A department with this name exists."]})
        department.name = name
    if description is not None:
        department.description = description
    after = {"name": department.name, "description": department.description}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    with transaction.atomic():
        department.save()
        events.publish(_department_event(events.DepartmentUpdated, department, actor=actor, changes=changes))
    return department


def _department_event(
    kind: type[events.DepartmentEvent], department: Department, *, actor: User, changes: dict | None = None
) -> events.DepartmentEvent:
    return kind(target_id=department.pk, actor_id=actor.pk, department_name=department.name, changes=changes or {})


def department_delete(*, actor: User, department: Department) -> None:
    if not policies.can_manage_departments(actor):
        raise NotAllowed("Only admins manage departments.")
    event = _department_event(events.DepartmentDeleted, department, actor=actor)
    try:
        with transaction.atomic():
            department.delete()
            events.publish(event)
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
    before = _facts(user)
    for field, value in changes.items():
        setattr(user, field, value)
    with transaction.atomic():
        user.save(update_fields=list(changes) or None)
        _publish_changes(user, actor=user, before=before)
    return user


# --- What other apps add to the caller's profile (GET /api/v1/auth/me/) -------------------------


def profile_counts(*, user: User) -> dict[str, int]:
    """Counts other apps keep for the signed-in user, by name (notifications: "unread_notifications").
    accounts imports no other app (docs/decisions/0013): an app offers its counts as a method
    `profile_counts(user) -> dict[str, int]` on its AppConfig, as leads' admin permissions are offered."""
    counts: dict[str, int] = {}
    for config in apps.get_app_configs():
        offered = getattr(config, "profile_counts", None)
        if callable(offered):
            counts.update(offered(user))
    return counts


# --- Sign-in record -------------------------------------------------------------------------------


def login_succeeded(*, user: User, method: str = "password") -> None:
    """Someone signed in (the API's login, or company sign-in: method "oidc"; the tokens or the
    session are issued by the caller)."""
    events.publish(_user_event(events.UserLoggedIn, user, actor=user, method=method))


# --- Company sign-in (OIDC; accounts.sso decides from the verified claims; decision 0031) ----------


def user_provision(*, email: str, first_name: str, last_name: str, role: int, department: Department | None) -> User:
    """An account for a person's first company sign-in: no usable password (they sign in through the
    provider). A concurrent first sign-in of the same person gets the account the other one made."""
    user = User(email=normalize_email(email), first_name=first_name[:150], last_name=last_name[:150], role=role)
    user.department = department
    _check_role_department(role, department)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
            events.publish(_user_event(events.UserProvisioned, user, actor=user))
    except IntegrityError:
        return User.objects.get(email=user.email)
    return user


def user_apply_directory(*, user: User, role: int, department: Department | None) -> User:
    """The company directory (the provider's groups, at sign-in) sets the role and department: the
    same events as an admin's change, with no actor (the system acted). Nothing changes, nothing is
    published, when they already agree."""
    if user.role == role and user.department_id == (department.pk if department else None):
        return user
    _check_role_department(role, department)
    before = _facts(user)
    user.role, user.department = role, department
    with transaction.atomic():
        user.save(update_fields=["role", "department"])
        _publish_changes(user, actor=None, before=before)
    return user


def company_identity_link(*, user: User, issuer: str, subject: str) -> User:
    """Bind the company account (`iss`, `sub`) to `user` at their first company sign-in. A
    concurrent first sign-in of the same person finds the link the other one made: the account it
    names is the one returned."""
    try:
        with transaction.atomic():
            CompanyIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            events.publish(_user_event(events.CompanyIdentityLinked, user, actor=user, issuer=issuer[:255]))
    except IntegrityError:
        return CompanyIdentity.objects.select_related("user").get(issuer=issuer, subject=subject).user
    return user


def company_sign_in_refused(*, reason: str, user: User | None = None) -> None:
    events.publish(events.CompanySignInRefused(target_id=user.pk if user else "", reason=reason))


def login_failed(*, email: str) -> None:
    """A wrong email or password: the account it names, if any, and the email tried."""
    email = normalize_email(email)
    account = User.objects.filter(email=email).values_list("pk", flat=True).first()
    events.publish(events.LoginFailed(target_id=account or "", email=email[:254]))


def logout(*, refresh: str) -> None:
    """Revoke the refresh token for good (tokens.revoke) and record who signed out."""
    user = User.objects.filter(pk=tokens.revoke(refresh)).first()
    if user is not None:
        events.publish(_user_event(events.UserLoggedOut, user, actor=user))


# --- Account recovery and password change (docs/decisions/0018) ----------------------------------
# Setting a password ends every refresh token issued before it (accounts.tokens: the tokens carry a
# fingerprint of the password), so neither function below keeps a list of sessions to revoke.


class WrongPassword(Invalid):
    code = "wrong_password"


class BadResetLink(Invalid):
    code = "invalid_reset_token"


def password_reset_request(*, email: str) -> None:
    """Someone asked for a reset link for `email`. The same work whether or not an active account
    uses it (one event, recorded and delivered alike): the caller answers the same either way. The
    email itself is made and queued by the event's consumer (notifications.account_mail), for an
    active account only, and sent by the email job: no request waits for the mail provider."""
    email = normalize_email(email)
    account = User.objects.filter(email=email).values_list("pk", flat=True).first()
    with transaction.atomic():
        events.publish(events.PasswordResetRequested(target_id=account or "", email=email[:254]))


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password with a reset link. The link then stops working (its token is an HMAC of
    the password hash), and so do the user's refresh tokens."""
    user = tokens.user_for_reset_token(uid, token)
    if user is None:
        raise BadResetLink("This reset link is not valid or has expired; ask for a new one.")
    _check_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        events.publish(_user_event(events.PasswordResetCompleted, user, actor=user))
    return user


def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Signed-in users change their own password; the old one is required. Every refresh token
    issued before ends; the caller hands this session a new pair."""
    if not user.check_password(old_password):
        raise WrongPassword("The current password is wrong.", errors={"old_password": ["The password is wrong."]})
    _check_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        events.publish(_user_event(events.PasswordChanged, user, actor=user))
    return user
