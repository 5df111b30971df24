"""A small knowledge base for the chatbot tests: an article for everyone, one for agents, one for
leads, and a resolved Network ticket, all indexed.

Marker words make leaks findable: the agents-only article says KESTREL, the leads-only one
OSPREY, the Network department's resolved ticket's answer HERON. A response to someone who may
not read those must not hold them, nor their titles or ids."""

from __future__ import annotations

from ai_assist import retrieval
from knowledge import services as kb
from knowledge.models import Visibility
from tests.ai_assist.world import comment
from tests.factories import TicketFactory
from tickets.models import Status

RESET_BODY = """You can reset your own password at any time with the self-service portal.

## Steps
1. Open the self-service portal from the intranet home page.
2. Enter your work email address.
3. Approve the sign-in request in your authenticator app.
4. Choose a new password of at least 12 characters.

After five wrong tries the account locks for 15 minutes."""

UNLOCK_BODY = """Agents unlock a locked directory account from the directory console.

1. Call the person back on the number in the HR directory (KESTREL check).
2. Open the directory console, find the account and choose Unlock.
3. Write in the ticket which identity checks you did."""

FAILOVER_BODY = """The directory failover runbook is for leads only: OSPREY.

Switch the directory to the standby region from the cloud console, then tell every agent."""


def build(people, department, committed) -> dict:
    lead = people["lead"]

    def publish(title, body, visibility):
        article = kb.article_create(actor=lead, title=title, body=body, visibility=visibility)
        return committed(kb.article_publish, actor=lead, article=article)

    world = {
        "reset": publish("Reset a forgotten password", RESET_BODY, Visibility.EVERYONE),
        "unlock": publish("Unlock a directory account (KESTREL)", UNLOCK_BODY, Visibility.AGENTS),
        "failover": publish("Directory failover runbook", FAILOVER_BODY, Visibility.LEADS),
    }
    world["ticket"] = TicketFactory(
        title="Shared mailbox for the Lisbon team is missing in Outlook",
        description="The Lisbon team's shared mailbox does not show in Outlook since the migration.",
        requester=people["admin"],
        department=department,
        status=Status.RESOLVED,
        comments=[
            comment(
                people["agent"],
                "We re-added the Lisbon shared mailbox permission in the HERON admin centre; restart Outlook "
                "and the shared mailbox appears after about an hour.",
            )
        ],
    )
    retrieval.ticket_corpus().upsert([world["ticket"]])  # factories write no events
    return world
