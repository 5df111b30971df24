"""Retrieval for answers (ai_assist.retrieval): what the AI reads is the policies' answer, applied
before ranking; the suggestion log is written by ai_assist.services."""

from __future__ import annotations

import pytest

from ai_assist import embeddings, retrieval, services
from ai_assist.models import Suggestion
from knowledge import policies as kb_policies
from knowledge import services as kb
from knowledge.models import Article, Status, Visibility
from tests.factories import UserFactory
from tickets import policies as ticket_policies
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events

RESET = "How do I reset my password?"


@pytest.fixture
def articles(people, committed, embedder) -> dict[str, Article]:
    """A published article for everyone, a published one for agents, a draft and an archived one."""
    lead = people["lead"]
    made = {
        "everyone": kb.article_create(
            actor=lead, title="Reset your password", body="Open id.example.com and choose Forgot password."
        ),
        "agents": kb.article_create(
            actor=lead,
            title="Reset a colleague's password",
            body="In the admin console choose Users, then Reset password.",
            visibility=Visibility.AGENTS,
        ),
        "draft": kb.article_create(actor=lead, title="Password reset (draft)", body="Reset the password by phone."),
        "archived": kb.article_create(actor=lead, title="Old password reset", body="Reset the password by fax."),
    }
    for name in ("everyone", "agents", "archived"):
        made[name] = committed(kb.article_publish, actor=lead, article=made[name])
    made["archived"] = committed(kb.article_archive, actor=lead, article=made["archived"])
    return made


def _found(who, people) -> list[str]:
    hits = retrieval.article_corpus().search(reader=people[who], embedding=embeddings.embed_one(RESET), limit=10)
    return [hit.id for hit in hits]


def test_the_ai_reads_published_articles_only_as_the_asker_may(people, articles):
    everyone, agents = articles["everyone"].pk, articles["agents"].pk
    assert set(_found("employee", people)) == {everyone}  # not the agents' article: not its text, title or id
    assert set(_found("agent", people)) == {everyone, agents}
    assert set(_found("lead", people)) == {everyone, agents}  # a lead opens drafts, the AI still does not
    hit = retrieval.article_corpus().search(reader=people["agent"], embedding=embeddings.embed_one(RESET), limit=1)[0]
    assert hit.kind == "article" and hit.title in {"Reset your password", "Reset a colleague's password"}
    assert 0 < hit.score <= 1


def test_an_article_hidden_since_it_was_indexed_never_reaches_the_asker(people, articles):
    Article.objects.filter(pk=articles["everyone"].pk).update(visibility=Visibility.AGENTS)  # the index not told
    assert _found("employee", people) == []
    Article.objects.filter(pk=articles["agents"].pk).update(status=Status.ARCHIVED)
    assert _found("agent", people) == [articles["everyone"].pk]


def test_the_ai_reading_rule_is_the_knowledge_policy(people, articles):
    assert [kb_policies.ai_reads(articles[name]) for name in ("everyone", "agents", "draft", "archived")] == [
        True,
        True,
        False,
        False,
    ]
    readable = {
        who: set(Article.objects.filter(kb_policies.ai_readable_articles(people[who])).values_list("pk", flat=True))
        for who in ("employee", "agent", "admin")
    }
    assert readable["employee"] == {articles["everyone"].pk}
    assert readable["agent"] == readable["admin"] == {articles["everyone"].pk, articles["agents"].pk}


def test_the_ticket_scope_for_retrieval_is_the_visibility_policy(people, department, other_department, embedder):
    stranger = UserFactory(email="stranger@example.com")
    mine = ticket_services.ticket_create(requester=people["employee"], title="VPN drops", description="vpn hourly")
    theirs = ticket_services.ticket_create(
        requester=stranger, title="VPN drops too", description="vpn hourly", department=other_department
    )
    triage = ticket_services.ticket_create(requester=stranger, title="VPN slow", description="vpn is slow")
    retrieval.ticket_corpus().upsert([mine, theirs, triage])
    for who in ("employee", "agent", "agent_other", "lead", "admin"):
        scope = ticket_policies.retrieval_scope(people[who])
        visible = set(Ticket.objects.filter(ticket_policies.visible_tickets(people[who])).values_list("pk", flat=True))
        assert set(Ticket.objects.filter(scope.q).values_list("pk", flat=True)) == visible
        hits = retrieval.ticket_corpus().search(scope=scope, embedding=embeddings.embed_one("vpn drops"), limit=10)
        assert {hit.id for hit in hits} == visible
        assert all(hit.kind == "ticket" for hit in hits)
    keys = {ticket_policies.retrieval_scope(people[who]).key for who in ("employee", "agent", "agent_other", "lead")}
    assert len(keys) == 4
    staff = ticket_policies.staff_scope(other_department.pk, triage=False)
    assert set(Ticket.objects.filter(staff.q).values_list("pk", flat=True)) == {theirs.pk}
    triaging = ticket_policies.staff_scope(other_department.pk, triage=True)
    assert set(Ticket.objects.filter(triaging.q).values_list("pk", flat=True)) == {mine.pk, theirs.pk, triage.pk}
    assert staff.key != triaging.key


def test_every_suggestion_is_written_by_the_service(people):
    logged = services.suggestion_record(
        kind=Suggestion.Kind.SIMILAR,
        actor=people["agent"],
        inputs={"title": "VPN", "description": services.clipped("x" * 5000)},
        model="m" * 200,
        latency_ms=12.3456,
        error="e" * 900,
    )
    logged.refresh_from_db()
    assert (logged.kind, logged.actor, logged.ticket, logged.output) == ("similar", people["agent"], None, {})
    assert len(logged.inputs["description"]) == 2000 and len(logged.model) == 120 and len(logged.error) == 500
    assert logged.latency_ms == 12.35
