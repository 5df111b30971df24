"""Knowledge-base fixtures: categories, and one article of each visibility and status."""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import Visibility


@pytest.fixture
def categories(people) -> dict:
    lead = people["lead"]
    network = services.category_create(actor=lead, name="Network", description="VPN and Wi-Fi.")
    vpn = services.category_create(actor=lead, name="VPN", parent=network)
    hardware = services.category_create(actor=lead, name="Hardware")
    return {"network": network, "vpn": vpn, "hardware": hardware}


def write(lead, *, title: str, body: str, publish: bool = True, **fields):
    article = services.article_create(actor=lead, title=title, body=body, **fields)
    if publish:
        article = services.article_publish(actor=lead, article=article)
    return article


@pytest.fixture
def kb(people, categories) -> dict:
    """public (everyone), agents, leads: published; draft and archived: for everyone once published."""
    lead = people["lead"]
    articles = {
        "public": write(
            lead,
            title="Connect to the VPN",
            body="Install the VPN client and sign in with your company account.",
            category=categories["vpn"],
            tags=["vpn", "remote"],
        ),
        "agents": write(
            lead,
            title="VPN gateway restart",
            body="Agents restart the VPN gateway from the console when tunnels hang.",
            category=categories["network"],
            tags=["vpn", "gateway"],
            visibility=Visibility.AGENTS,
        ),
        "leads": write(
            lead,
            title="VPN vendor escalation",
            body="Leads call the VPN vendor's escalation line with the contract number.",
            category=categories["network"],
            tags=["vpn", "vendor"],
            visibility=Visibility.LEADS,
        ),
        "draft": write(lead, title="VPN on Linux", body="Draft: the VPN client for Linux.", publish=False),
        "archived": write(lead, title="Old VPN client", body="The old VPN client is retired.", tags=["vpn"]),
    }
    articles["archived"] = services.article_archive(actor=lead, article=articles["archived"])
    return articles


# Which articles of `kb` each caller reads.
READS = {
    "employee": {"public"},
    "agent_other": {"public", "agents"},
    "agent": {"public", "agents"},
    "lead": {"public", "agents", "leads", "draft", "archived"},
    "admin": {"public", "agents", "leads", "draft", "archived"},
}
