"""The audience property (issue 21, decision 0024): whatever mix of sources the helpdesk holds,
no AI text contains text from a source its audience may not read.

Hypothesis generates sources of mixed visibility on one topic (so retrieval finds them all):
articles of every visibility and status, tickets of any requester, department and status with a
public answer and an internal note, and chatbot questions of two people. Each source carries its
own marker word, and each ticket its requester's personal data (name, e-mail, phone). Then each
AI text is written, as the product writes it, for someone drawn at random:
- a chat answer for its asker: markers only of articles and tickets the asker may read;
- a draft reply on a ticket the agent sees: only of what both the requester and the agent may read;
- a summary for a staff member: only of that ticket (its internal note included);
- an article from a resolved ticket, and a gap draft: no one's personal data, no internal note,
  no chatbot question's own words, and no ticket the writer may not open.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from ai_assist import agent_tools, chat, gaps, retrieval, store
from ai_assist.models import ChatMessage, Conversation
from helpdesk.errors import NotFound
from knowledge import services as kb
from knowledge.models import Article, Visibility
from knowledge.policies import ai_readable_articles
from tests.ai_assist.world import comment
from tests.factories import TicketFactory, UserFactory
from tickets.models import Status, Ticket
from tickets.policies import visible_tickets

pytestmark = pytest.mark.django_db

TOPIC = "the Outlook calendar does not sync on the laptop"
FIX = "Remove the Outlook account, add it again, and the calendar syncs after a few minutes."

article_spec = st.fixed_dictionaries(
    {
        "kind": st.just("article"),
        "visibility": st.sampled_from([Visibility.EVERYONE, Visibility.AGENTS, Visibility.LEADS]),
        "status": st.sampled_from(["published", "published", "draft", "archived"]),
    }
)
ticket_spec = st.fixed_dictionaries(
    {
        "kind": st.just("ticket"),
        "requester": st.sampled_from(["employee", "employee2", "agent_other"]),
        "department": st.sampled_from(["A", "B", None]),
        "resolved": st.booleans(),
    }
)
askers = st.sampled_from(["employee", "employee2"])
question_spec = st.fixed_dictionaries({"kind": st.just("question"), "asker": askers})
scenario = st.fixed_dictionaries(
    {
        "sources": st.lists(st.one_of(article_spec, ticket_spec, question_spec), min_size=2, max_size=7),
        "text": st.sampled_from(["chat", "draft", "draft", "summary", "article", "gap", "gap"]),
        "who": st.integers(min_value=0, max_value=20),
        "pick": st.integers(min_value=0, max_value=20),
    }
)


def marker(n: int) -> str:
    return f"MARK{chr(65 + n)}Q"  # one word per source, never a word of the topic


def build(case, people, departments, requesters):
    """The sources of `case`, stored and indexed: [(spec, object, marker, personal data)]."""
    made = []
    for n, spec in enumerate(case["sources"]):
        word = marker(n)
        if spec["kind"] == "article":
            article = kb.article_create(
                actor=people["lead"],
                title=f"Calendar sync {word}",
                body=f"When {TOPIC}: {FIX} Reference {word}.",
                visibility=spec["visibility"],
            )
            if spec["status"] != "draft":
                article = kb.article_publish(actor=people["lead"], article=article)
            if spec["status"] == "archived":
                article = kb.article_archive(actor=people["lead"], article=article)
            else:
                retrieval.article_corpus().upsert(article)
            made.append((spec, article, word, ()))
        elif spec["kind"] == "ticket":
            requester = requesters[spec["requester"]]
            email, phone = f"{requester.first_name.lower()}{n}@corp.example", f"+44 20 7946 01{n:02d}"
            ticket = TicketFactory(
                title=f"Outlook calendar does not sync {word}",
                description=f"I am {requester.first_name} {requester.last_name}, call {phone} or {email}. {TOPIC}.",
                requester=requester,
                department=departments[spec["department"]],
                status=Status.RESOLVED if spec["resolved"] else Status.OPEN,
                comments=[
                    comment(people["agent"], f"{FIX} {word} confirmed it."),
                    comment(people["agent"], f"Internal {word}NOTE only.", internal=True, minutes=5),
                ],
            )
            retrieval.ticket_corpus().upsert([ticket])
            names = (requester.first_name, requester.last_name) if requester.role == Role.EMPLOYEE else ()
            personal = (email, phone, *names)
            made.append((spec, ticket, word, personal))
        else:
            asker = requesters[spec["asker"]]
            conversation = Conversation.objects.create(user=asker, title="calendar")
            question = ChatMessage.objects.create(
                conversation=conversation, role=ChatMessage.Role.USER, text=f"Why does {TOPIC}, asks {word}?"
            )
            ChatMessage.objects.create(
                conversation=conversation, role=ChatMessage.Role.ASSISTANT, text="No answer.", citations=[]
            )
            made.append((spec, question, word, ()))
    return made


def reads(user, spec, obj) -> bool:
    if spec["kind"] == "article":
        return Article.objects.filter(ai_readable_articles(user), pk=obj.pk).exists()
    if spec["kind"] == "ticket":
        return Ticket.objects.filter(visible_tickets(user), pk=obj.pk).exists()
    return False  # a question is its asker's, and no text quotes it


def leaks(output: str, made, *, may_read) -> list[str]:
    """Markers in `output` of sources `may_read(spec, obj)` refuses, internal notes always."""
    found = []
    for spec, obj, word, _ in made:
        if f"{word}NOTE" in output and not may_read(spec, obj, internal=True):
            found.append(f"{word}NOTE")
        if word in output.replace(f"{word}NOTE", "") and not may_read(spec, obj, internal=False):
            found.append(word)
    return found


def personal_data_in(output: str, made) -> list[str]:
    lowered = output.lower()
    return [value for _, _, _, personal in made for value in personal if value.lower() in lowered]


@settings(
    max_examples=40,
    derandomize=True,  # the same cases on every run: CI is never red by luck (checked: it fails on the old code)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario)
def test_no_ai_text_holds_text_from_a_source_its_audience_may_not_read(
    people, department, other_department, embedder, case
):
    departments = {"A": department, "B": other_department, None: None}
    folder = Path(tempfile.mkdtemp(prefix="audience-"))
    try:
        with override_settings(AI_DIR=folder / "ai", AI_AUTO_ROUTE=False), transaction.atomic():
            retrieval.reset()
            store.forget()
            requesters = {
                "employee": UserFactory(email="orla@corp.example", first_name="Orla", last_name="Vance"),
                "employee2": UserFactory(email="piet@corp.example", first_name="Piet", last_name="Brandt"),
                "agent_other": people["agent_other"],
            }
            made = build(case, people, departments, requesters)
            write(case, made, people, requesters)
            transaction.set_rollback(True)
    finally:
        retrieval.reset()
        store.forget()
        shutil.rmtree(folder, ignore_errors=True)


def write(case, made, people, requesters):
    everyone = [requesters["employee"], requesters["employee2"], *people.values()]
    staff = [u for u in everyone if u.role >= Role.AGENT]
    who = case["who"]
    tickets = [(spec, obj) for spec, obj, _, _ in made if spec["kind"] == "ticket"]

    if case["text"] == "chat":
        asker = everyone[who % len(everyone)]
        answer = chat.ask(user=asker, message=f"Why does {TOPIC}?")
        output = answer.text + str(answer.citations)
        assert not leaks(output, made, may_read=lambda s, o, internal: not internal and reads(asker, s, o))
        return
    if case["text"] in ("draft", "summary"):
        actor = staff[who % len(staff)]
        seen = [(s, t) for s, t in tickets if Ticket.objects.filter(visible_tickets(actor), pk=t.pk).exists()]
        if not seen:
            return
        _, ticket = seen[case["pick"] % len(seen)]
        if case["text"] == "draft":
            written = agent_tools.draft_reply(actor=actor, ticket=ticket)
            requester = ticket.requester

            def may_read(spec, obj, internal):
                return not internal and reads(requester, spec, obj) and reads(actor, spec, obj)

        else:
            written = agent_tools.summarise_ticket(actor=actor, ticket=ticket)

            def may_read(spec, obj, internal):
                return obj.pk == ticket.pk

        output = written.text + str(written.citations)
        assert not leaks(output, made, may_read=may_read), (case["text"], output)
        return
    writer = [people["lead"], people["admin"]][who % 2]
    visibility = [Visibility.EVERYONE, Visibility.AGENTS][case["pick"] % 2]
    if case["text"] == "article":
        resolved = [
            t for s, t in tickets if s["resolved"] and Ticket.objects.filter(visible_tickets(writer), pk=t.pk).exists()
        ]
        if not resolved:
            return
        article, _ = agent_tools.article_from_ticket(
            actor=writer, ticket=resolved[case["pick"] % len(resolved)], visibility=visibility
        )
    else:
        report = gaps.gap_report(reader=writer)
        if not report.clusters:
            return
        try:
            article, _ = gaps.gap_draft(actor=writer, gap_id=report.clusters[0].id, visibility=visibility)
        except NotFound:
            return
    output = " ".join((article.title, article.slug, article.summary, article.body))

    def may_read(spec, obj, internal):
        # A public text: a ticket only scrubbed and only one the writer may open; a question never.
        return not internal and spec["kind"] == "ticket" and reads(writer, spec, obj)

    assert not leaks(output, made, may_read=may_read), output
    assert not personal_data_in(output, made), output
