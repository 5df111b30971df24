"""`make run` shows routing on the demo tickets: seed_demo trains on a small history and the new
demo tickets are routed as any new ticket is (committed for real, as in production)."""

from __future__ import annotations

import pytest

from ai_assist.models import Suggestion
from tests.helpers import seed_demo_data
from tickets.models import Ticket


@pytest.mark.ai_consumers  # the demo's new tickets are routed as any new ticket is
@pytest.mark.django_db(transaction=True)
def test_seed_demo_routes_the_demo_tickets_and_prints_where_they_went(embedder):
    out = seed_demo_data()
    lines = {line.split("->")[0].strip(" '"): line.split("->")[1] for line in out.splitlines() if "->" in line}
    assert lines["VPN keeps dropping"].startswith(" Network, agent.network@example.com, confidence 0.")
    assert lines["Payslip missing"].startswith(" HR Systems, agent.hr-systems@example.com")
    assert "triage" in lines["Help"] and "waits for a lead" in lines["Help"]
    vpn = Ticket.objects.get(title="VPN keeps dropping", external_id="")
    assert vpn.department.name == "Network" and vpn.assignee.email == "agent.network@example.com"
    assert vpn.routing_confidence >= 0.85
    routed = Suggestion.objects.filter(kind=Suggestion.Kind.ROUTE, error="")
    assert routed.count() == 6 and not Suggestion.objects.exclude(error="").exists()
    # Again: nothing new, the same answers (triage tickets in the index included).
    assert seed_demo_data().splitlines()[-6:] == out.splitlines()[-6:]
    assert Suggestion.objects.count() == 6
