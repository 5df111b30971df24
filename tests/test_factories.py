"""The factories make rows the models accept, and rows that look like the ones the services make."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk import events
from knowledge import services as kb
from knowledge.models import ArticleTag, ArticleVersion
from tests import factories
from tests.helpers import captured_events
from tickets import services, sla
from tickets.models import Priority, Status

pytestmark = pytest.mark.django_db

ALL = [
    factories.DepartmentFactory,
    factories.UserFactory,
    factories.RevokedTokenFactory,
    factories.SlaPolicyFactory,
    factories.TicketFactory,
    factories.CategoryFactory,
    factories.ArticleFactory,
    factories.ArticleVersionFactory,
    factories.AuditEntryFactory,
    factories.SuggestionFactory,
]


@pytest.mark.parametrize("factory", ALL, ids=lambda f: f.__name__)
def test_every_factory_makes_a_valid_row(factory):
    made = factory()
    made.full_clean(validate_unique=False)
    assert type(made)._default_manager.filter(pk=made.pk).exists()


def test_the_factory_user_signs_in_with_the_test_password(api):
    user = factories.UserFactory(email="Ada@Example.com")
    response = api.post("/api/v1/auth/login/", {"email": user.email, "password": factories.PASSWORD}, format="json")
    assert response.status_code == 200 and user.email == "ada@example.com"


def test_a_factory_ticket_is_what_ticket_create_writes_and_publishes_nothing(people, department):
    fields = {"title": "VPN drops", "description": "Every hour.", "department": department, "priority": "high"}
    made = services.ticket_create(requester=people["employee"], **fields)
    with captured_events(events.TicketCreated) as seen:
        built = factories.TicketFactory(requester=people["employee"], created_at=made.created_at, **fields)
    assert seen == []
    derived = [
        "status",
        "priority_rank",
        "public_text",
        "internal_text",
        "public_comment_count",
        "internal_comment_count",
        "first_response_due_at",
        "resolution_due_at",
    ]
    assert {name: getattr(built, name) for name in derived} == {name: getattr(made, name) for name in derived}


def test_a_factory_ticket_counts_its_comments_and_opens_once_assigned(people):
    note = {"id": "a" * 24, "author": people["agent"].pk, "body": "firmware", "internal": True, "created_at": "x"}
    reply = {**note, "id": "b" * 24, "body": "On it", "internal": False}
    ticket = factories.TicketFactory(title="T", description="D", assignee=people["agent"], comments=[note, reply])
    assert (ticket.status, ticket.public_comment_count, ticket.internal_comment_count) == (Status.OPEN, 1, 1)
    assert (ticket.public_text, ticket.internal_text) == ("T\nD\nOn it", "firmware")


def test_a_factory_article_is_what_the_services_write(people):
    lead = people["lead"]
    category = factories.CategoryFactory(name="VPN access")
    draft = kb.article_create(actor=lead, title="Reset MFA", body="Call us.", category=category, tags=["mfa", "phone"])
    made = kb.article_publish(actor=lead, article=draft)
    built = factories.ArticleFactory(
        title="Reset MFA (2)", body="Call us.", category=category, tags=["mfa", "phone"], author=lead
    )
    fields = ["status", "version", "tags", "tags_text", "visibility", "author", "updated_by", "change_note"]
    assert {name: getattr(built, name) for name in fields} == {name: getattr(made, name) for name in fields}
    assert built.published_at and built.slug == "reset-mfa-2" and category.slug == "vpn-access"
    for article in (made, built):
        [version] = ArticleVersion.objects.filter(article=article)
        assert (version.number, version.title, version.category_name) == (1, article.title, "VPN access")
        assert sorted(ArticleTag.objects.filter(article=article).values_list("tag", flat=True)) == ["mfa", "phone"]


def test_an_article_without_its_derived_rows(people):
    article = factories.ArticleFactory(derived_rows=False, status="draft")
    assert article.published_at is None
    assert not ArticleVersion.objects.filter(article=article).exists()


def test_the_sla_policy_factory_sets_the_targets_new_tickets_get(people):
    factories.SlaPolicyFactory(priority=Priority.URGENT, first_response_minutes=5, resolution_minutes=20)
    now = timezone.now()
    assert sla.due_times(priority="urgent", created_at=now)["resolution_due_at"] == now + timedelta(minutes=20)


def test_a_suggestion_names_its_ticket_and_department():
    suggestion = factories.SuggestionFactory()
    assert suggestion.department == suggestion.ticket.department is not None
    assert suggestion.inputs["title"] == suggestion.ticket.title
    assert factories.SuggestionFactory(ticket=None).department is None
