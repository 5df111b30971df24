"""Every AI text has an audience, and draws only on what that audience may read (issue 21,
decision 0024): a draft reply never quotes nor cites another requester's ticket; an article drafted
from a ticket or a gap carries no personal data and says what was removed; a gap draft never quotes
a chatbot question; the one check (`ai_assist.audience.allowed_sources`) in each form."""

from __future__ import annotations

import pytest

from accounts.models import Role
from ai_assist import retrieval
from ai_assist.answering import citations
from ai_assist.audience import ARTICLE, QUESTION, TICKET, Form, SourceUse, Text, allowed_sources, audience_for
from ai_assist.ml.passages import Passage, Written
from ai_assist.models import ChatMessage, Conversation
from knowledge.models import Article, Visibility
from tests.ai_assist.world import comment
from tests.factories import ArticleFactory, TicketFactory, UserFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db

PLOTTER = "The plotter on floor 3 prints blank pages"
# Another requester's resolved ticket: its answer is personal to them (QUAIL marks its text).
STRANGERS_ANSWER = (
    "Hi Rosa, the QUAIL plotter on floor 3 printed blank pages because its ink cartridge was empty. "
    "We replaced the ink cartridge and reset the plotter; it prints pages again. Your door PIN 4471 still works."
)


@pytest.fixture
def plotters(people, department, embedder):
    employee, agent = people["employee"], people["agent"]
    rosa = UserFactory(email="rosa.stranger@example.com", first_name="Rosa", last_name="Quintero")
    open_ticket = TicketFactory(title=PLOTTER, description=f"{PLOTTER} since this morning.", requester=employee,
                                department=department)  # fmt: skip
    strangers = TicketFactory(
        title="Plotter on floor 3 prints blank pages",
        description="The floor 3 plotter prints only blank pages.",
        requester=rosa,
        department=department,
        status=Status.RESOLVED,
        comments=[comment(agent, STRANGERS_ANSWER)],
    )
    retrieval.ticket_corpus().upsert([open_ticket, strangers])
    return {"open": open_ticket, "strangers": strangers, "rosa": rosa}


def draft(client, ticket) -> dict:
    response = client.post(f"/api/v1/ai/tickets/{ticket.pk}/draft-reply/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_draft_reply_never_quotes_or_cites_another_requesters_ticket(client_for, plotters):
    """The agent may open Rosa's ticket; the requester of the open ticket may not: the reply,
    written for the requester, holds nothing of it."""
    body = draft(client_for("agent"), plotters["open"])
    assert "QUAIL" not in body["text"] and "Rosa" not in body["text"] and "4471" not in body["text"]
    assert plotters["strangers"].pk not in {c["id"] for c in body["citations"]}
    assert body["citations"] == []  # nothing the requester may read answers: a holding reply


def test_a_draft_reply_may_stand_on_the_requesters_own_resolved_ticket(client_for, people, department, plotters):
    own = TicketFactory(
        title="Plotter on floor 3 prints blank pages again",
        description="The floor 3 plotter prints only blank pages.",
        requester=people["employee"],
        department=department,
        status=Status.RESOLVED,
        comments=[comment(people["agent"], STRANGERS_ANSWER.replace("QUAIL", "WREN").replace("Rosa", "there"))],
    )
    retrieval.ticket_corpus().upsert([own])
    body = draft(client_for("agent"), plotters["open"])
    assert [c["id"] for c in body["citations"]] == [own.pk] and "WREN" in body["text"]
    assert "QUAIL" not in body["text"]


def test_the_agent_facing_similar_tickets_still_show_the_other_requesters_ticket(client_for, plotters):
    """What is for the agent stays for the agent: similar tickets are not a text for the requester."""
    response = client_for("agent").post(
        "/api/v1/ai/similar/", {"title": PLOTTER, "description": PLOTTER, "limit": 5}, format="json"
    )
    assert response.status_code == 200, response.content
    assert plotters["strangers"].pk in str(response.json())


# --- Articles drafted from a ticket ---------------------------------------------------------------

PERSONAL = {
    "jane.doe@corp.example": "e-mail",
    "+44 20 7946 0958": "phone",
    "Jane": "name",
    "Doe": "name",
    "48213": "employee id",
    "Tulip2024!": "password",
    "839201": "code",
}


def test_an_article_from_a_ticket_carries_no_personal_data_and_says_what_was_removed(
    client_for, people, department, embedder
):
    jane = UserFactory(email="jane.doe@corp.example", first_name="Jane", last_name="Doe")
    ticket = TicketFactory(
        title="Jane Doe cannot sign in to the VPN",
        description=(
            "I'm Jane Doe, employee ID 48213. Call me on +44 20 7946 0958 or write to jane.doe@corp.example. "
            "My password is Tulip2024! and the VPN still refuses it."
        ),
        requester=jane,
        department=department,
        status=Status.RESOLVED,
        comments=[
            comment(
                people["agent"],
                "Hi Jane, your account was locked. We unlocked it; sign in with the one-time code 839201 and "
                "choose a new password.",
            )
        ],
    )
    response = client_for("lead").post("/api/v1/kb/articles/from-ticket/", {"ticket": ticket.pk}, format="json")
    assert response.status_code == 201, response.content
    article = Article.objects.get(pk=response.json()["id"])
    for value, kind in PERSONAL.items():
        for field in (article.title, article.slug, article.summary, article.body):
            assert value not in field and value.lower() not in field, f"the {kind} {value!r} is in {field!r}"
    assert "Personal data removed before drafting:" in article.body
    assert "1 e-mail address" in article.body and "1 phone number" in article.body and "employee id" in article.body
    assert "unlocked" in article.body  # what resolved it is kept


# --- Gap drafts ---------------------------------------------------------------------------------

# Each question's own words (KITE, LARK) are its asker's; only words several questions share may show.
QUESTIONS = ("How do I get a parking permit for my car, KITE?", "Where do I apply for a parking permit, LARK asks?")


def test_a_gap_draft_never_quotes_a_chatbot_question(client_for, people, embedder):
    conversation = Conversation.objects.create(user=people["employee"], title="parking")
    for text in QUESTIONS:
        ChatMessage.objects.create(conversation=conversation, role=ChatMessage.Role.USER, text=text)
        ChatMessage.objects.create(
            conversation=conversation, role=ChatMessage.Role.ASSISTANT, text="I could not find an answer.", citations=[]
        )
    admin = client_for("admin")
    gap = next(g for g in admin.get("/api/v1/ai/kb-gaps/").json()["results"] if g["questions"] == 2)
    response = admin.post(f"/api/v1/ai/kb-gaps/{gap['id']}/draft/", {"visibility": "everyone"}, format="json")
    assert response.status_code == 201, response.content
    article = Article.objects.get(pk=response.json()["id"])
    text = " ".join((article.title, article.slug, article.summary, article.body))
    for question in QUESTIONS:
        assert question not in text and question.rstrip("?") not in text
    assert "kite" not in text.lower() and "lark" not in text.lower()
    assert "2 questions to the chatbot about" in article.body and "parking" in article.body


# --- The one check ------------------------------------------------------------------------------


def test_allowed_sources_applies_each_audience(people, department):
    employee, agent, lead = people["employee"], people["agent"], people["lead"]
    own = TicketFactory(requester=employee, department=department, status=Status.RESOLVED)
    other = TicketFactory(department=department, status=Status.RESOLVED)
    agents_article = ArticleFactory(visibility=Visibility.AGENTS)
    public_article = ArticleFactory()
    question = ChatMessage.objects.create(
        conversation=Conversation.objects.create(user=employee, title="q"), role=ChatMessage.Role.USER, text="q"
    )
    uses = [
        SourceUse(TICKET, own.pk),
        SourceUse(TICKET, other.pk),
        SourceUse(ARTICLE, agents_article.pk),
        SourceUse(ARTICLE, public_article.pk),
        SourceUse(TICKET, own.pk, Form.SCRUBBED),
        SourceUse(TICKET, other.pk, Form.SCRUBBED),
        SourceUse(QUESTION, question.pk, Form.KEYWORDS),
        SourceUse(QUESTION, question.pk),
    ]

    def allowed(audience) -> set[tuple[str, str]]:
        return set(allowed_sources(audience, uses))

    reply = audience_for(Text.DRAFT_REPLY, writer=agent, requester=employee)
    assert allowed(reply) == {(TICKET, own.pk), (ARTICLE, public_article.pk)}
    assert allowed(audience_for(Text.CHAT, writer=agent)) == {
        (TICKET, own.pk),
        (TICKET, other.pk),
        (ARTICLE, agents_article.pk),
        (ARTICLE, public_article.pk),
    }
    assert allowed(audience_for(Text.SUMMARY, writer=employee)) == {(TICKET, own.pk), (ARTICLE, public_article.pk)}
    # An article for everyone: tickets only scrubbed, questions only as keywords and only for admins.
    article = audience_for(Text.ARTICLE, writer=lead, visibility=Visibility.EVERYONE)
    assert allowed(article) == {(TICKET, own.pk), (TICKET, other.pk), (ARTICLE, public_article.pk)}
    assert set(allowed_sources(article, [SourceUse(TICKET, own.pk)])) == set()  # never as written
    gap = audience_for(Text.GAP, writer=people["admin"], visibility=Visibility.AGENTS)
    assert (QUESTION, question.pk) in allowed(gap) and (ARTICLE, agents_article.pk) in allowed(gap)


def test_a_draft_replys_audience_is_the_requester_and_the_agent(people):
    reply = audience_for(Text.DRAFT_REPLY, writer=people["agent"], requester=people["employee"])
    assert reply.article_reader() == people["employee"] and not reply.is_public
    admin_requester = audience_for(Text.DRAFT_REPLY, writer=people["agent"], requester=people["admin"])
    assert admin_requester.article_reader().role == Role.AGENT
    assert audience_for(Text.GAP, writer=people["lead"], visibility=Visibility.EVERYONE).ticket_scope() is None


def test_a_citation_that_fails_the_check_loses_its_marker(people):
    """Chat and drafts share one citation check: a text never says [2] with no citation 2."""
    readable, hidden = ArticleFactory(), ArticleFactory(visibility=Visibility.LEADS)
    audience = audience_for(Text.CHAT, writer=people["employee"])
    cited = [(1, Passage(readable.pk, "article", "", "", 0.0)), (2, Passage(hidden.pk, "article", "", "", 0.0))]
    written = Written("Open the portal [1]. Ask a lead [2].", "llm", "fake", cited)
    text, checked = citations.cite(audience=audience, written=written)
    assert text == "Open the portal [1]. Ask a lead." and [c["n"] for c in checked] == [1]
