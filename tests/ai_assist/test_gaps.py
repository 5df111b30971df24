"""The knowledge-gap report: grouping (pure code), who may read the report and what it holds,
and drafting an article for a gap."""

from __future__ import annotations

import numpy as np
import pytest

from ai_assist import retrieval
from ai_assist.ml import gaps
from ai_assist.models import ChatMessage, Conversation, Suggestion
from knowledge.models import Article, Visibility
from knowledge.models import Status as ArticleStatus
from tests.factories import ArticleFactory, TicketFactory
from tests.helpers import assert_problem, matrix
from tickets.models import Status
from tickets.schemas import new_comment

GAPS = "/api/v1/ai/kb-gaps/"


def draft_url(gap_id: str) -> str:
    return f"{GAPS}{gap_id}/draft/"


# --- Pure code --------------------------------------------------------------------------------


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def item(id: str, vector, *, match: float = 0.1, text: str = "", answers=()) -> gaps.GapItem:
    return gaps.GapItem(
        id=id, kind="ticket", text=text or f"about {id}", vector=vector, best_match=match, answers=tuple(answers)
    )


def test_weak_items_are_grouped_by_meaning_largest_group_first():
    items = [
        item("a1", unit(1, 0.05, 0), text="badge reader rejects card"),
        item("a2", unit(1, 0, 0.05), text="badge does not open the door", answers=["Re-enrol the badge at reception."]),
        item("a3", unit(1, 0.02, 0.02), text="door badge broken"),
        item("b1", unit(0, 1, 0), text="parking permit"),
        item("b2", unit(0.05, 1, 0), text="parking permit for visitors"),
        item("c1", unit(0, 0, 1), text="a lone question"),
        item("ok", unit(1, 0, 0), match=0.9, text="answered by an article"),
    ]
    weak = gaps.weak(items, below=0.5)
    assert [i.id for i in weak] == ["a1", "a2", "a3", "b1", "b2", "c1"]
    clusters = gaps.cluster(weak, min_size=2)
    assert [sorted(c.ids()) for c in clusters] == [["a1", "a2", "a3"], ["b1", "b2"]]
    first = clusters[0]
    assert first.id in first.ids() and first.size == 3
    assert "badge" in first.keywords
    headings = [s.heading for s in first.outline.sections]
    assert headings == ["What people ask", "What resolved it", "Cover"]
    assert first.outline.sections[1].points == ("Re-enrol the badge at reception.",)
    assert "## What people ask" in first.outline.markdown()
    assert gaps.find(clusters, "a3") is first and gaps.find(clusters, "c1") is None


def test_a_pair_is_represented_by_its_earliest_report_whatever_the_float_rounding():
    # Two members are always equally close to their mean: the lower (earlier) id represents them,
    # in either order and whichever vector rounds a hair closer.
    earlier, later = "65f000000000000000000001", "65f000000000000000000002"
    for vectors in ((unit(1, 0.3, 0), unit(1, 0, 0.3)), (unit(0.2, 1, 0.1), unit(0.1, 1, 0.25))):
        for order in ((earlier, later), (later, earlier)):
            pair = [item(id, vector) for id, vector in zip(order, vectors, strict=True)]
            assert gaps.cluster(pair, min_size=2)[0].id == earlier
    # A member clearly closer to the centre still comes first, whatever its id.
    group = [
        item(later, unit(1, 0.02, 0)),
        item(earlier, unit(1, 0.3, 0)),
        item("65f000000000000000000003", unit(1, 0, 0.3)),
    ]
    assert gaps.closest_first(group)[0].id == later


def test_a_question_the_chatbot_could_not_answer_is_weak_whatever_its_match():
    question = gaps.GapItem(id="q", kind="question", text="?", vector=unit(1, 0), best_match=0.95, unanswered=True)
    assert gaps.weak([question], below=0.5) == [question]
    assert gaps.cluster([], min_size=2) == []


# --- The report -------------------------------------------------------------------------------


@pytest.fixture
def reported(db, people, department, other_department, embedder):
    employee, agent = people["employee"], people["agent"]

    def ticket(title, description, where, **extra):
        return TicketFactory(title=title, description=description, requester=employee, department=where, **extra)

    badge = [
        ticket(
            "Badge reader rejects my card", "The badge reader at the main entrance rejects my access card.", department
        ),
        ticket(
            "My access badge does not open the door",
            "My access badge stopped opening the entrance door this morning.",
            department,
            status=Status.RESOLVED,
            comments=[
                new_comment(
                    author_id=agent.pk,
                    body="Re-enrol the badge at reception: the card was deactivated.",
                    internal=False,
                    created_at=employee.date_joined,
                ),
                new_comment(
                    author_id=agent.pk,
                    body="WALRUS note for staff only.",
                    internal=True,
                    created_at=employee.date_joined,
                ),
            ],
        ),
        ticket("Entrance badge card not working", "My badge card does not work at the entrance reader.", department),
    ]
    hidden = [
        ticket(
            "HWSECRET badge reader at the loading dock", "HWSECRET the badge reader rejects cards.", other_department
        ),
        ticket("HWSECRET dock badge card refused", "HWSECRET my badge card is refused at the dock.", other_department),
    ]
    vpn = [
        ticket("VPN drops every hour", "My VPN disconnects every hour at home.", department),
        ticket("VPN keeps disconnecting hourly", "The VPN drops every hour when working from home.", department),
    ]
    articles = [
        ArticleFactory(
            title="Fix VPN drops",
            body="When the VPN drops every hour or keeps disconnecting at home, install VPN client 5.2.",
        ),
        # Agents may read it; the employees who asked may not, so for them the gap is real.
        ArticleFactory(
            title="SECRETTITLE Badge reader re-enrolment",
            body="Agents: re-enrol a badge card that the entrance badge reader rejects.",
            visibility=Visibility.AGENTS,
        ),
    ]
    for article in articles:
        retrieval.article_corpus().upsert(article)
    retrieval.ticket_corpus().upsert([*badge, *hidden, *vpn])
    conversation = Conversation.objects.create(user=employee, title="parking")
    for text in ("How do I get a parking permit?", "Where do I apply for a parking permit for my car?"):
        ChatMessage.objects.create(conversation=conversation, role=ChatMessage.Role.USER, text=text)
        ChatMessage.objects.create(
            conversation=conversation, role=ChatMessage.Role.ASSISTANT, text="I could not find an answer.", citations=[]
        )
    return {"badge": badge, "hidden": hidden, "vpn": vpn}


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 200, 200]))
def test_the_gap_report_is_for_leads_and_admins(client_for, reported, who, status):
    response = client_for(who).get(GAPS)
    if status == 200:
        assert response.status_code == 200, response.content
    else:
        assert_problem(response, status)


def members(report: dict) -> list[set[str]]:
    return [{member["id"] for member in gap["representatives"]} for gap in report["results"]]


def test_a_lead_sees_the_gaps_of_their_tickets_only(client_for, reported):
    response = client_for("lead").get(GAPS)
    report = response.json()
    assert response.status_code == 200, report
    badge_ids = {t.pk for t in reported["badge"]}
    assert badge_ids in members(report)
    shown = set().union(*members(report)) if report["results"] else set()
    assert not shown & {t.pk for t in reported["hidden"]}  # another department's
    assert not shown & {t.pk for t in reported["vpn"]}  # an article answers them
    content = response.content.decode()
    for secret in ("HWSECRET", "SECRETTITLE", "WALRUS", "parking"):
        assert secret not in content  # hidden tickets, a hidden article's title, internal notes, others' questions
    gap = next(g for g in report["results"] if {m["id"] for m in g["representatives"]} == badge_ids)
    assert gap["size"] == 3 and gap["tickets"] == 3 and gap["questions"] == 0
    assert "badge" in gap["keywords"]
    sections = {s["heading"]: s["points"] for s in gap["outline"]["sections"]}
    assert sections["What resolved it"] == ["Re-enrol the badge at reception: the card was deactivated."]
    assert all(m["url"] == f"/api/v1/tickets/{m['id']}/" for m in gap["representatives"])


def test_an_admin_sees_chatbot_questions_and_every_department(client_for, reported):
    report = client_for("admin").get(GAPS).json()
    kinds = {m["kind"] for gap in report["results"] for m in gap["representatives"]}
    assert kinds == {"ticket", "question"}
    shown = set().union(*members(report))
    assert {t.pk for t in reported["hidden"]} <= shown
    assert "SECRETTITLE" not in str(report)  # no article title, ever


@pytest.mark.parametrize("who,status", matrix([401, 403, 403, 403, 201, 201]))
def test_drafting_an_article_for_a_gap_is_for_leads_and_admins(client_for, reported, who, status):
    gap_id = reported["badge"][0].pk
    response = client_for(who).post(draft_url(gap_id), {}, format="json")
    if status == 201:
        assert response.status_code == 201, response.content
    else:
        assert_problem(response, status)


def test_a_gap_becomes_a_draft_article(client_for, reported, people):
    gap = client_for("lead").get(GAPS).json()["results"][0]
    response = client_for("lead").post(draft_url(gap["id"]), {"visibility": "everyone"}, format="json")
    body = response.json()
    assert response.status_code == 201, body
    assert (body["status"], body["visibility"], body["title"]) == ("draft", "everyone", gap["outline"]["title"])
    assert "## What people ask" in body["body"] and "WALRUS" not in body["body"]
    article = Article.objects.get(pk=body["id"])
    assert article.status == ArticleStatus.DRAFT and article.author == people["lead"]
    suggestion = Suggestion.objects.get(pk=body["suggestion_id"])
    assert (suggestion.kind, suggestion.output["article"]) == (Suggestion.Kind.GAP, article.pk)
    assert {i["id"] for i in suggestion.inputs["items"]} == {t.pk for t in reported["badge"]}


def test_a_gap_the_reader_cannot_see_or_that_closed_is_404(client_for, reported):
    assert_problem(
        client_for("lead").post(draft_url(reported["hidden"][0].pk), {}, format="json"), 404, "gap_not_found"
    )
    assert_problem(client_for("lead").post(draft_url("nothing-like-it"), {}, format="json"), 404, "gap_not_found")
