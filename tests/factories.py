"""factory_boy factories for the models of every app.

They write rows straight to the tables, with the fields the services derive filled in the same
way (a ticket's search text, priority rank and SLA due times; an article's tag text, version row
and tag rows), so a factory-made object looks like one the services made. They publish no domain
event: nothing is audited, routed, indexed for AI search or notified. A test about what a write
does goes through the services (tickets.services, knowledge.services) instead.

`build()` / `build_batch()` give unsaved objects, e.g. for `bulk_create` of thousands of rows.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import factory
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Department, RevokedToken, Role, User
from ai_assist.models import Suggestion
from audit.models import AuditEntry
from helpdesk.db import new_object_id
from knowledge.models import Article, ArticleTag, ArticleVersion, Category, Visibility
from knowledge.models import Status as ArticleStatus
from knowledge.services import tags_text
from tickets import schemas, sla
from tickets.models import Priority, SlaPolicy, Ticket
from tickets.models import Status as TicketStatus
from tickets.services import _search_text

PASSWORD = "a-long-test-passphrase"


# --- accounts -----------------------------------------------------------------------------------


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")
    description = factory.LazyAttribute(lambda d: f"Everything about {d.name.lower()}.")


class UserFactory(factory.django.DjangoModelFactory):
    """An employee with the password PASSWORD; pass role= and department= for staff."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = Role.EMPLOYEE
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class RevokedTokenFactory(factory.django.DjangoModelFactory):
    """A refresh token on the denylist (logged out), dead anyway in a day."""

    class Meta:
        model = RevokedToken

    jti = factory.LazyFunction(lambda: uuid4().hex)
    user_id = factory.LazyFunction(new_object_id)
    reason = "logout"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


# --- tickets ------------------------------------------------------------------------------------


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    """The policy of one priority, set to these targets. Every priority has its policy from the
    first migration, so this updates that row (or creates it if a test deleted it), and the
    cached targets are forgotten so that new due times follow at once."""

    class Meta:
        model = SlaPolicy

    priority = Priority.LOW
    first_response_minutes = 60
    resolution_minutes = 8 * 60
    warning_minutes = 30
    pause_when_pending = True

    @classmethod
    def _create(cls, model_class, *args, priority, **fields):
        policy, _ = model_class.objects.update_or_create(priority=priority, defaults=fields)
        sla.forget_policies()
        return policy


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket (new, or open once it has an assignee) with its derived fields as the services
    write them. `comments` are elements of tickets.schemas.Comment; their counts and search text follow."""

    class Meta:
        model = Ticket

    class Params:
        texts = factory.LazyAttribute(lambda t: _search_text(t.title, t.description, t.comments))
        due = factory.LazyAttribute(lambda t: sla.due_times(priority=t.priority, created_at=t.created_at))

    title = factory.Sequence(lambda n: f"Ticket {n}")
    description = "The laptop does not start since the update."
    requester = factory.SubFactory(UserFactory)
    department = None
    assignee = None
    status = factory.LazyAttribute(lambda t: TicketStatus.OPEN if t.assignee else TicketStatus.NEW)
    priority = Priority.MEDIUM
    priority_rank = factory.LazyAttribute(lambda t: Priority.rank(t.priority))
    comments = factory.LazyFunction(list)
    public_comment_count = factory.LazyAttribute(lambda t: sum(not c["internal"] for c in t.comments))
    internal_comment_count = factory.LazyAttribute(lambda t: sum(bool(c["internal"]) for c in t.comments))
    public_text = factory.LazyAttribute(lambda t: t.texts[0])
    internal_text = factory.LazyAttribute(lambda t: t.texts[1])
    participants = factory.LazyAttribute(lambda t: schemas.participants(t.comments, []))
    created_at = factory.LazyFunction(timezone.now)
    first_response_due_at = factory.LazyAttribute(lambda t: t.due["first_response_due_at"])
    resolution_due_at = factory.LazyAttribute(lambda t: t.due["resolution_due_at"])


# --- knowledge ----------------------------------------------------------------------------------


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.name))
    parent = None


class ArticleFactory(factory.django.DjangoModelFactory):
    """A published article everyone may read, by an admin, with the row of its current version
    and its tag rows (`derived_rows=False`: without them, as after a crash)."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.LazyAttribute(lambda a: slugify(a.title))
    body = factory.LazyAttribute(lambda a: f"How to deal with {a.title.lower()}.")
    category = None
    tags = factory.LazyFunction(list)
    tags_text = factory.LazyAttribute(lambda a: tags_text(a.tags))
    visibility = Visibility.EVERYONE
    status = ArticleStatus.PUBLISHED
    author = factory.SubFactory(UserFactory, role=Role.ADMIN)
    updated_by = factory.SelfAttribute("author")
    change_note = "Created."
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
    published_at = factory.LazyAttribute(lambda a: None if a.status == ArticleStatus.DRAFT else a.created_at)
    archived_at = factory.LazyAttribute(lambda a: a.created_at if a.status == ArticleStatus.ARCHIVED else None)

    @factory.post_generation
    def derived_rows(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        ArticleVersionFactory(article=obj)
        ArticleTag.objects.bulk_create(ArticleTag(article=obj, tag=tag) for tag in obj.tags)


class ArticleVersionFactory(factory.django.DjangoModelFactory):
    """The row of the article's current version, holding its current content."""

    class Meta:
        model = ArticleVersion

    article = factory.SubFactory(ArticleFactory, derived_rows=False)
    number = factory.SelfAttribute("article.version")
    title = factory.SelfAttribute("article.title")
    summary = factory.SelfAttribute("article.summary")
    body = factory.SelfAttribute("article.body")
    category = factory.SelfAttribute("article.category")
    category_name = factory.LazyAttribute(lambda v: v.category.name if v.category else "")
    tags = factory.LazyAttribute(lambda v: list(v.article.tags))
    visibility = factory.SelfAttribute("article.visibility")
    author = factory.SelfAttribute("article.updated_by")
    change_note = factory.SelfAttribute("article.change_note")
    created_at = factory.SelfAttribute("article.updated_at")
    published_at = factory.SelfAttribute("article.published_at")  # the version it showed when live


# --- audit and ai_assist ------------------------------------------------------------------------


class AuditEntryFactory(factory.django.DjangoModelFactory):
    """An activity-log row: someone created a ticket (of no department unless department_id= says)."""

    class Meta:
        model = AuditEntry

    actor = factory.SubFactory(UserFactory)
    action = "ticket.created"
    object_type = "ticket"
    object_id = factory.LazyFunction(new_object_id)
    department_id = ""
    details = factory.LazyFunction(dict)


class SuggestionFactory(factory.django.DjangoModelFactory):
    """A confident routing of a ticket to its department, as the AI logs it."""

    class Meta:
        model = Suggestion

    kind = Suggestion.Kind.ROUTE
    ticket = factory.SubFactory(TicketFactory, department=factory.SubFactory(DepartmentFactory))
    actor = None
    department = factory.LazyAttribute(lambda s: s.ticket.department if s.ticket else None)
    confidence = 0.93
    abstained = False
    inputs = factory.LazyAttribute(
        lambda s: {"title": s.ticket.title, "description": s.ticket.description} if s.ticket else {}
    )
    output = factory.LazyFunction(dict)
    model = "descriptions-v1"
    latency_ms = 12.5


# --- The people most tests sign in as (tests/conftest.py's fixtures `department`, `people`, ...) ----


def network_department() -> Department:
    return DepartmentFactory(name="Network", description="VPN, Wi-Fi and the office network.")


def hardware_department() -> Department:
    return DepartmentFactory(name="Hardware", description="Laptops, printers and monitors.")


def people_of(department: Department, other_department: Department) -> dict[str, User]:
    """One person of each role: the agent and lead of `department`, an agent of `other_department`."""
    return {
        "employee": UserFactory(email="employee@example.com", role=Role.EMPLOYEE),
        "agent_other": UserFactory(email="agent.other@example.com", role=Role.AGENT, department=other_department),
        "agent": UserFactory(email="agent@example.com", role=Role.AGENT, department=department),
        "lead": UserFactory(email="lead@example.com", role=Role.LEAD, department=department),
        "admin": UserFactory(email="admin@example.com", role=Role.ADMIN),
    }
