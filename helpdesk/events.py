"""Domain events: the one registry of what can happen, as typed, immutable records.

Services publish instances of these classes, never names or loose keyword arguments; the
outbox (helpdesk.outbox) stores each with the change it describes and the dispatcher
(helpdesk.dispatch) hands it to every consumer registered for its class. docs/events.md lists
every event with its publisher and its consumers.

Every event carries the same envelope (`id`, `at`, `actor_id`, `target_id`, `request_id`, `ip`,
`changes`), and every event about one kind of target carries the same facts about it
(`TicketEvent`, `ArticleEvent`, ...): an `article.deleted` says what an `article.published` says.
`changes` holds the fields a write changed as `{field: [before, after]}`, never a secret.

Events are plain data (ids, strings, numbers): they outlive the request, travel through the
broker and are replayed from the outbox, so they never hold model instances. This module imports
no app; `publish` hands the event to the outbox lazily, so importing it never touches models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from django.utils import timezone

from helpdesk.log import current_client_ip, current_request_id

REDACTED = "[redacted]"

E = TypeVar("E", bound="Event")

# name -> class: filled as the classes below are defined (Event.__init_subclass__).
REGISTRY: dict[str, type[Event]] = {}


def _request_id() -> str:
    value = current_request_id.get()
    return "" if value == "-" else value


@dataclass(frozen=True, kw_only=True)
class Event:
    """The envelope every event carries. Concrete events set `name`; bases such as TicketEvent
    set `target_type` and the facts about the target."""

    name: ClassVar[str]
    target_type: ClassVar[str]

    target_id: str
    actor_id: str | None = None  # None: the system acted (a job, the router)
    # The outbox's row id: derived from the change for documents (ticket:{id}:v{version}), so a
    # lost row is re-created with the same id; a new ObjectId otherwise. Set when it is stored.
    id: str = ""
    at: datetime = field(default_factory=timezone.now)
    request_id: str = field(default_factory=_request_id)
    ip: str | None = field(default_factory=current_client_ip.get)
    changes: Mapping[str, list] = field(default_factory=dict)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is not None:
            if name in REGISTRY:
                raise TypeError(f"Two events are named {name!r}: {REGISTRY[name].__name__} and {cls.__name__}.")
            REGISTRY[name] = cls

    def staff_only(self) -> bool:
        """Whether only staff may hear it (an internal note)."""
        return False

    def to_data(self) -> dict[str, Any]:
        """JSON-ready: what the outbox row and the document's `last_event` hold."""
        data = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["name"] = self.name
        return data

    @staticmethod
    def from_data(data: Mapping[str, Any]) -> Event:
        cls = REGISTRY[data["name"]]
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue  # written before the field existed: its default
            value = data[f.name]
            if f.name == "at":
                value = datetime.fromisoformat(value)
            elif isinstance(value, list) and str(f.type).startswith("tuple"):
                value = tuple(value)
            values[f.name] = value
        return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def publish(event: E) -> E:
    """Store `event` in the outbox (within the caller's transaction, if any) and deliver it to its
    consumers after the commit. Returns it with its id. For changes to documents (tickets,
    articles) use helpdesk.outbox.compare_and_set / insert, which stamp the document too."""
    from helpdesk import outbox

    return outbox.publish(event)


# --- Tickets -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TicketEvent(Event):
    """What every ticket event says about the ticket, after the change and (for the audience of a
    move or a deletion) where it was before it."""

    target_type: ClassVar[str] = "ticket"

    title: str
    status: str
    priority: str
    requester_id: str
    department_id: str | None
    assignee_id: str | None
    deleted: bool
    version: int
    previous_department_id: str | None
    previous_assignee_id: str | None
    previous_deleted: bool


@dataclass(frozen=True, kw_only=True)
class TicketCreated(TicketEvent):
    name = "ticket.created"


@dataclass(frozen=True, kw_only=True)
class TicketImported(TicketEvent):
    """History from another system (manage.py import_tickets): no notifications, only the index."""

    name = "ticket.imported"


@dataclass(frozen=True, kw_only=True)
class TicketUpdated(TicketEvent):
    """Wording, priority, category, tags, or department (a move: see previous_department_id)."""

    name = "ticket.updated"
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TicketStatusChanged(TicketEvent):
    name = "ticket.status_changed"
    previous_status: str


@dataclass(frozen=True, kw_only=True)
class TicketAssigned(TicketEvent):
    """Taken, assigned or unassigned by a person (previous_assignee_id says who had it)."""

    name = "ticket.assigned"


@dataclass(frozen=True, kw_only=True)
class TicketRouted(TicketEvent):
    """The router placed a triage ticket: a department, and an agent when confident."""

    name = "ticket.routed"
    confidence: float | None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class TicketEscalated(TicketEvent):
    """By staff (actor) or by the SLA job (no actor)."""

    name = "ticket.escalated"
    reason: str


@dataclass(frozen=True, kw_only=True)
class TicketDeleted(TicketEvent):
    name = "ticket.deleted"


@dataclass(frozen=True, kw_only=True)
class TicketRestored(TicketEvent):
    name = "ticket.restored"


@dataclass(frozen=True, kw_only=True)
class CommentAdded(TicketEvent):
    """A public reply, or an internal note (staff only: `staff_only()`)."""

    name = "comment.added"
    comment_id: str
    body: str
    internal: bool
    created_at: str

    def staff_only(self) -> bool:
        return self.internal


@dataclass(frozen=True, kw_only=True)
class AttachmentAdded(TicketEvent):
    name = "attachment.added"
    attachment_id: str
    file_name: str
    size: int
    content_type: str
    sha256: str


# --- Knowledge base ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ArticleEvent(Event):
    """What every article event says about the article, deleted or not."""

    target_type: ClassVar[str] = "article"

    title: str
    slug: str
    status: str
    visibility: int
    category_id: str | None
    version: int  # the content version (ArticleVersion number)


@dataclass(frozen=True, kw_only=True)
class ArticleCreated(ArticleEvent):
    name = "article.created"


@dataclass(frozen=True, kw_only=True)
class ArticleUpdated(ArticleEvent):
    """New content (a new version), a revert (reverted_to), or a new slug."""

    name = "article.updated"
    fields: tuple[str, ...] = ()
    reverted_to: int | None = None


@dataclass(frozen=True, kw_only=True)
class ArticlePublished(ArticleEvent):
    name = "article.published"
    previous_status: str


@dataclass(frozen=True, kw_only=True)
class ArticleArchived(ArticleEvent):
    name = "article.archived"
    previous_status: str


@dataclass(frozen=True, kw_only=True)
class ArticleDeleted(ArticleEvent):
    name = "article.deleted"


@dataclass(frozen=True, kw_only=True)
class CategoryEvent(Event):
    target_type: ClassVar[str] = "category"

    category_name: str
    slug: str
    parent_id: str | None


@dataclass(frozen=True, kw_only=True)
class CategoryCreated(CategoryEvent):
    name = "category.created"


@dataclass(frozen=True, kw_only=True)
class CategoryUpdated(CategoryEvent):
    name = "category.updated"


@dataclass(frozen=True, kw_only=True)
class CategoryDeleted(CategoryEvent):
    name = "category.deleted"


# --- Accounts ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UserEvent(Event):
    """What every user event says about the user (the target). Roles are API names ("agent")."""

    target_type: ClassVar[str] = "user"

    email: str
    role: str
    department_id: str | None
    is_active: bool


@dataclass(frozen=True, kw_only=True)
class UserSignedUp(UserEvent):
    name = "user.signed_up"


@dataclass(frozen=True, kw_only=True)
class UserCreated(UserEvent):
    name = "user.created"


@dataclass(frozen=True, kw_only=True)
class UserUpdated(UserEvent):
    """Profile, department, skills, availability or password (as REDACTED). A role change, an email
    change and (de)activation are events of their own."""

    name = "user.updated"


@dataclass(frozen=True, kw_only=True)
class UserEmailChanged(UserEvent):
    """An admin changed the sign-in email (`email` is the new one). The old address is told
    (notifications.account_mail) and the user's refresh tokens end (accounts.tokens)."""

    name = "user.email_changed"
    previous_email: str


@dataclass(frozen=True, kw_only=True)
class UserRoleChanged(UserEvent):
    name = "user.role_changed"
    previous_role: str


@dataclass(frozen=True, kw_only=True)
class UserDeactivated(UserEvent):
    name = "user.deactivated"


@dataclass(frozen=True, kw_only=True)
class UserReactivated(UserEvent):
    name = "user.reactivated"


@dataclass(frozen=True, kw_only=True)
class UserProvisioned(UserEvent):
    """An account made at a person's first company sign-in (OIDC; decision 0031), with the role and
    department their provider groups give. The actor is the person."""

    name = "user.provisioned"


@dataclass(frozen=True, kw_only=True)
class CompanyIdentityLinked(UserEvent):
    """A company account (the provider's `iss` and `sub`) bound to this account at its first company
    sign-in (decision 0031): later sign-ins find the account by it, not by the email alone."""

    name = "user.company_identity_linked"
    issuer: str


@dataclass(frozen=True, kw_only=True)
class UserLoggedIn(UserEvent):
    name = "user.logged_in"
    method: str = "password"  # or "oidc": company sign-in (decision 0031)


@dataclass(frozen=True, kw_only=True)
class UserLoggedOut(UserEvent):
    """A refresh token revoked by its owner (POST /api/v1/auth/logout/)."""

    name = "user.logged_out"


@dataclass(frozen=True, kw_only=True)
class LoginFailed(Event):
    """A wrong email or password. The target is the account when the email names one, else empty;
    the email tried is kept (never the password)."""

    name = "user.login_failed"
    target_type: ClassVar[str] = "user"
    email: str


@dataclass(frozen=True, kw_only=True)
class CompanySignInRefused(Event):
    """A company sign-in (OIDC) that verified but was refused here: an unverified email, an inactive
    account, no account while OIDC_CREATE_USERS is off. The target is the account when there is one,
    else empty; `reason` is the problem code. No email, no token: nothing personal about a stranger."""

    name = "user.company_sign_in_refused"
    target_type: ClassVar[str] = "user"
    reason: str


@dataclass(frozen=True, kw_only=True)
class PasswordResetRequested(Event):
    """Someone asked for a password-reset email. The target is the account when the email names one,
    else empty; the email asked for is kept. Never the reset token: the email is made from the
    account when it is queued (notifications.account_mail)."""

    name = "user.password_reset_requested"
    target_type: ClassVar[str] = "user"
    email: str


@dataclass(frozen=True, kw_only=True)
class PasswordResetCompleted(UserEvent):
    """A password set with a reset link: the user's refresh tokens stop working."""

    name = "user.password_reset"


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(UserEvent):
    """Signed-in users changed their own password (the old one given): other sessions end."""

    name = "user.password_changed"


@dataclass(frozen=True, kw_only=True)
class TwoFactorEnrolmentStarted(UserEvent):
    """A staff member asked for a new authenticator secret; it counts only once confirmed."""

    name = "user.2fa_enrolment_started"


@dataclass(frozen=True, kw_only=True)
class TwoFactorEnabled(UserEvent):
    """The first valid code confirmed the authenticator: sign-ins now ask for a code. Recovery
    codes were made (never in the event)."""

    name = "user.2fa_enabled"


@dataclass(frozen=True, kw_only=True)
class TwoFactorDisabled(UserEvent):
    """The second factor was removed: by its owner (`method` "code" or "password", what they proved)
    or by an admin (`method` "admin"; the actor is the admin)."""

    name = "user.2fa_disabled"
    method: str


@dataclass(frozen=True, kw_only=True)
class RecoveryCodesRenewed(UserEvent):
    """New recovery codes replaced the old ones (`method`: what the owner proved)."""

    name = "user.2fa_recovery_codes_renewed"
    method: str


@dataclass(frozen=True, kw_only=True)
class TwoFactorFailed(UserEvent):
    """A wrong second-factor code (sign-in, enrolment, removal). Never the code itself."""

    name = "user.2fa_failed"


@dataclass(frozen=True, kw_only=True)
class DepartmentEvent(Event):
    target_type: ClassVar[str] = "department"

    department_name: str


@dataclass(frozen=True, kw_only=True)
class DepartmentCreated(DepartmentEvent):
    name = "department.created"


@dataclass(frozen=True, kw_only=True)
class DepartmentUpdated(DepartmentEvent):
    name = "department.updated"


@dataclass(frozen=True, kw_only=True)
class DepartmentDeleted(DepartmentEvent):
    name = "department.deleted"


@dataclass(frozen=True, kw_only=True)
class UserDeleted(UserDeactivated):
    """An admin deleted the account (Django admin). A kind of deactivation: whoever hears those
    (the feed closes the user's sockets) hears this too; the audit log keeps the entries it made."""

    name = "user.deleted"


@dataclass(frozen=True, kw_only=True)
class UserErased(Event):
    """An admin (the actor) erased a person's personal data (GDPR; helpdesk.personal_data): the
    account stays, anonymised and inactive. It names the account by id only, nothing else about
    the person (not a UserEvent, whose facts are the address and role). Heard by the audit log and
    by the feed, which closes the person's open sockets."""

    name = "user.erased"
    target_type: ClassVar[str] = "user"


# --- Service levels ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SlaPolicyEvent(Event):
    """The targets of one priority, as the write leaves them (before it, for a deletion)."""

    target_type: ClassVar[str] = "sla_policy"

    priority: str
    first_response_minutes: int
    resolution_minutes: int
    warning_minutes: int
    pause_when_pending: bool


@dataclass(frozen=True, kw_only=True)
class SlaPolicyCreated(SlaPolicyEvent):
    name = "sla_policy.created"


@dataclass(frozen=True, kw_only=True)
class SlaPolicyUpdated(SlaPolicyEvent):
    name = "sla_policy.updated"


@dataclass(frozen=True, kw_only=True)
class SlaPolicyDeleted(SlaPolicyEvent):
    name = "sla_policy.deleted"


# --- AI assistant --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SuggestionEvent(Event):
    """About one AI suggestion: its kind, the ticket it was made for (with that ticket's department
    then, None in triage) or the article it drafted. Never its text: drafts and answers quote
    tickets; the suggestion log (ai_assist) keeps them for those who may read them."""

    target_type: ClassVar[str] = "suggestion"

    kind: str
    ticket_id: str | None
    department_id: str | None
    article_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SuggestionCreated(SuggestionEvent):
    """A person had the AI write something for a ticket or the knowledge base: a draft reply, a
    summary, an article (from a ticket or a knowledge gap)."""

    name = "suggestion.created"
    path: str
    model: str


@dataclass(frozen=True, kw_only=True)
class SuggestionReviewed(SuggestionEvent):
    """A person's verdict on a suggestion (accepted, edited, rejected; a second one replaces the
    first), or a routing correction (`corrected`: a person moved a routed ticket; None: moved back,
    the correction withdrawn). The final text and comment stay on the review, not in the event."""

    name = "suggestion.reviewed"
    verdict: str | None
    edit_distance: int | None = None


@dataclass(frozen=True, kw_only=True)
class ConversationEvent(Event):
    """A chatbot conversation (its questions are the asker's own and stay out of the event)."""

    target_type: ClassVar[str] = "conversation"

    ticket_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConversationStarted(ConversationEvent):
    name = "conversation.started"


@dataclass(frozen=True, kw_only=True)
class ConversationTicketOpened(ConversationEvent):
    """The asker opened the ticket the chatbot offered (ticket.created records the ticket)."""

    name = "conversation.ticket_opened"


# --- Notifications -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NotificationRead(Event):
    """Its owner (the actor) marked one notification read."""

    name = "notification.read"
    target_type: ClassVar[str] = "notification"
    kind: str
    ticket_id: str | None


@dataclass(frozen=True, kw_only=True)
class NotificationsReadAll(Event):
    """A user (the target, and the actor) marked all their notifications read."""

    name = "notification.read_all"
    target_type: ClassVar[str] = "user"
    count: int


@dataclass(frozen=True, kw_only=True)
class EmailPreferencesUpdated(Event):
    """A user (the target) switched kinds of email on or off; `changes` says which."""

    name = "email_preferences.updated"
    target_type: ClassVar[str] = "user"
