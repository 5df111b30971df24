"""A small helpdesk for the agent-tool, review and gap tests: tickets of two departments with
public replies and internal notes, articles of every visibility (and a draft), all in the index.

Marker words make leaks findable: an internal note says ZEBRA or OTTER, the leads-only article's
title says FAILOVER-LEADS, the agents-only article's body AGENTSONLY, the draft article's title
DRAFTONLY, the other department's resolved ticket HARDWARE-ONLY. A text shown to someone who may
not read those must not hold them ("requester": a reply meant for the ticket's employee).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ai_assist import retrieval
from knowledge.models import Status as ArticleStatus
from knowledge.models import Visibility
from tests.factories import ArticleFactory, TicketFactory, UserFactory
from tickets.models import Status
from tickets.schemas import new_comment


@dataclass
class World:
    open_ticket: object  # Network, employee's, open: a reply to draft, a thread to summarise
    resolved: object  # Network, resolved: its public answer grounds drafts
    elsewhere: object  # Hardware, resolved: agent_other's department only
    hardware_open: object  # Hardware, open: agent_other may draft on it
    article: object  # everyone
    agents_article: object  # agents and up
    leads_article: object  # leads and up
    draft_article: object  # not published: the AI never reads it


def comment(author, body: str, *, internal: bool = False, minutes: int = 0) -> dict:
    return new_comment(
        author_id=author.pk,
        body=body,
        internal=internal,
        created_at=timezone.now() - timedelta(minutes=60 - minutes),
    )


def build(people, department, other_department) -> World:
    employee, agent, agent_other = people["employee"], people["agent"], people["agent_other"]
    stranger = UserFactory(email="stranger.requester@example.com", first_name="Sam")
    open_ticket = TicketFactory(
        title="VPN drops every hour",
        description="Since Monday my VPN disconnects every hour when I work from home. How can I keep it connected?",
        requester=employee,
        department=department,
        assignee=agent,
        comments=[
            comment(agent, "Please restart the VPN client and tell me if it still drops.", minutes=1),
            comment(agent, "ZEBRA: the gateway certificate of the Lisbon office expired.", internal=True, minutes=2),
            comment(employee, "I restarted it and reinstalled the client. What else can I try?", minutes=3),
        ],
    )
    resolved = TicketFactory(
        title="VPN disconnects every hour at home",
        description="The VPN connection drops every hour.",
        requester=stranger,
        department=department,
        status=Status.RESOLVED,
        comments=[
            comment(agent, "Install VPN client 5.2: it renews the session before the hourly timeout.", minutes=1),
            comment(agent, "OTTER: root cause was the expired gateway certificate.", internal=True, minutes=2),
        ],
    )
    elsewhere = TicketFactory(
        title="HARDWARE-ONLY VPN drops every hour on the docking station",
        description="The VPN drops every hour on the docking station.",
        requester=stranger,
        department=other_department,
        status=Status.RESOLVED,
        comments=[comment(agent_other, "HARDWARE-ONLY: replace the dock's network cable.", minutes=1)],
    )
    hardware_open = TicketFactory(
        title="VPN drops when my laptop is docked",
        description="Every hour the VPN disconnects while docked. How do I fix it?",
        requester=stranger,
        department=other_department,
        assignee=agent_other,
    )
    article = ArticleFactory(
        title="Fix VPN drops",
        body=(
            "When the VPN drops every hour:\n"
            "1. Install VPN client 5.2 from the software centre.\n"
            "2. Restart the laptop.\n"
            "3. Connect to the VPN again."
        ),
    )
    agents_article = ArticleFactory(
        title="VPN gateway certificates",
        body="AGENTSONLY: the VPN gateway certificate is renewed every year; an expired one drops every session.",
        visibility=Visibility.AGENTS,
    )
    leads_article = ArticleFactory(
        title="FAILOVER-LEADS VPN hourly drops runbook",
        body="FAILOVER-LEADS: when the VPN drops every hour, switch the gateway to the standby node.",
        visibility=Visibility.LEADS,
    )
    draft_article = ArticleFactory(
        title="DRAFTONLY VPN drops every hour",
        body="DRAFTONLY: the VPN drops every hour; install client 5.2.",
        status=ArticleStatus.DRAFT,
    )
    return World(open_ticket, resolved, elsewhere, hardware_open, article, agents_article, leads_article, draft_article)


def indexed(world: World) -> World:
    """`world` in the vector index, as the AI's consumers would have put it there."""
    for item in (world.article, world.agents_article, world.leads_article, world.draft_article):
        retrieval.article_corpus().upsert(item)
    retrieval.ticket_corpus().upsert([world.open_ticket, world.resolved, world.elsewhere, world.hardware_open])
    return world


HIDDEN_FROM = {
    # marker: who may not read it
    "ZEBRA": {"requester"},  # an internal note of the open ticket: never in a reply
    "OTTER": {"requester"},  # an internal note of the resolved ticket: never in a reply
    "AGENTSONLY": {"requester"},  # an agents-only article: never quoted in a reply to an employee
    "FAILOVER-LEADS": {"agent", "agent_other", "requester"},
    "DRAFTONLY": {"agent", "agent_other", "lead", "admin"},  # the AI never reads drafts
    "HARDWARE-ONLY": {"agent", "lead"},
}
