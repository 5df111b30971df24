"""docs/roles.md is checked against the policy modules: each row, for a user of each role."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts import policies as account_policies
from accounts.models import Role
from ai_assist import policies as ai_policies
from audit import policies as audit_policies
from knowledge import policies as knowledge_policies
from knowledge.models import Article, Status, Visibility
from tests.factories import ArticleFactory, DepartmentFactory, TicketFactory, UserFactory
from tickets import policies as ticket_policies
from tickets.models import Ticket

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
ROLES = ("employee", "agent", "lead", "admin")


def table() -> dict[str, tuple[str, dict[str, bool]]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("`"):
            rows[cells[0]] = (cells[1].strip("`"), dict(zip(ROLES, (cell == "✓" for cell in cells[2:]), strict=True)))
    return rows


@pytest.fixture
def world(db):
    d, other = DepartmentFactory(name="D"), DepartmentFactory(name="E")
    people = {
        "employee": UserFactory(),
        "agent": UserFactory(role=Role.AGENT, department=d),
        "lead": UserFactory(role=Role.LEAD, department=d),
        "admin": UserFactory(role=Role.ADMIN),
    }
    someone = UserFactory()
    tickets = {
        "department": TicketFactory(requester=someone, department=d),
        "triage": TicketFactory(requester=someone),
        "other": TicketFactory(requester=someone, department=other),
    }
    author = people["lead"]
    articles = {
        "everyone": ArticleFactory(author=author, status=Status.PUBLISHED, visibility=Visibility.EVERYONE),
        "agents": ArticleFactory(author=author, status=Status.PUBLISHED, visibility=Visibility.AGENTS),
        "draft": ArticleFactory(author=author, status=Status.DRAFT, visibility=Visibility.EVERYONE),
    }
    d_employee = UserFactory(department=d)
    return people, tickets, articles, d_employee


def sees(user, ticket) -> bool:
    return Ticket.objects.filter(ticket_policies.visible_tickets(user), pk=ticket.pk).exists()


def reads(user, article) -> bool:
    return Article.objects.filter(knowledge_policies.visible_articles(user), pk=article.pk).exists()


def checks(tickets, articles, d_employee):
    """Each row of the table as a question to its policy."""
    dept = tickets["department"]
    return {
        "see a ticket they opened": lambda u: sees(u, TicketFactory(requester=u, department=dept.department)),
        "see D's ticket opened by someone else": lambda u: sees(u, dept),
        "see a ticket in triage (no department yet)": lambda u: sees(u, tickets["triage"]),
        "see another department's ticket": lambda u: sees(u, tickets["other"]),
        "read internal notes on tickets they see": ticket_policies.sees_internal,
        "comment on D's ticket (public or internal)": lambda u: ticket_policies.can_comment(u, dept),
        "take D's ticket for themselves": lambda u: ticket_policies.can_take(u, dept),
        "assign D's ticket to someone else": lambda u: ticket_policies.can_assign_others(u, dept),
        "move D's ticket to another department": lambda u: ticket_policies.can_route(u, dept),
        "escalate D's ticket": lambda u: ticket_policies.can_escalate(u, dept),
        "delete and restore tickets": ticket_policies.can_delete,
        "change SLA targets": ticket_policies.can_edit_sla,
        "list users (the directory)": account_policies.can_list_users,
        "create users and change anyone's role (API)": account_policies.can_manage_users,
        "create and edit departments": account_policies.can_manage_departments,
        "manage D's employees and agents in Django admin": lambda u: account_policies.can_admin_change_user(
            u, d_employee
        ),
        "change a person's sign-in email (admin or API)": lambda u: account_policies.can_change_email(u, d_employee),
        "enrol a second factor (an authenticator app)": account_policies.can_enrol_second_factor,
        "reset another person's second factor": lambda u: account_policies.can_reset_second_factor(u, d_employee),
        "read published articles for everyone": lambda u: reads(u, articles["everyone"]),
        "read agents-only articles": lambda u: reads(u, articles["agents"]),
        "read drafts and archived articles": lambda u: reads(u, articles["draft"]),
        "write, publish and delete articles": knowledge_policies.can_write,
        "ask the chatbot (answers only from what they may read)": lambda u: Article.objects.filter(
            knowledge_policies.ai_readable_articles(u), pk=articles["everyone"].pk
        ).exists(),
        "see routing decisions and previews": ai_policies.can_see_routing,
        "draft replies and summarise tickets": ai_policies.can_use_agent_tools,
        "review the AI log, its figures and the gap report": ai_policies.can_review_ai,
        "read other people's chatbot questions word for word": ai_policies.sees_chat_questions,
        "read the audit log (leads: their department and the knowledge base)": audit_policies.can_read_log,
    }


def test_the_roles_table_agrees_with_the_policies(world):
    people, tickets, articles, d_employee = world
    questions = checks(tickets, articles, d_employee)
    rows = table()
    assert set(rows) == set(questions), "docs/roles.md rows and the checks of this test differ"
    wrong = []
    for what, (policy, expected) in rows.items():
        module, _, name = policy.rpartition(".")
        assert name in dir(__import__(module, fromlist=[name])), f"{policy} does not exist"
        for role, allowed in expected.items():
            if bool(questions[what](people[role])) != allowed:
                wrong.append(f"{what} / {role}: the table says {'allowed' if allowed else 'not allowed'}")
    assert not wrong, "docs/roles.md disagrees with the policies:\n" + "\n".join(wrong)
