"""Routing corrections: a lead moving a ticket the AI routed is recorded as a correction (from
the ticket.updated event), the statistics count it, and the next train_router learns it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import Role
from ai_assist import routing, services
from ai_assist.models import Suggestion, SuggestionFeedback
from tests.factories import UserFactory
from tickets import services as ticket_services

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events

NETWORK = [
    ("VPN drops every hour", "the vpn disconnects from home"),
    ("Wi-Fi is slow on floor 3", "wireless network very slow"),
    ("No internet in meeting room", "ethernet port gives no network"),
    ("VPN certificate expired", "cannot connect to vpn certificate error"),
    ("Guest Wi-Fi password", "visitor needs the guest wireless password"),
    ("Router in branch office down", "branch network router offline"),
    ("DNS does not resolve intranet", "intranet name not found dns"),
    ("Proxy blocks a site", "the web proxy blocks a work site"),
    ("VPN client will not install", "vpn installer fails"),
    ("Network drive unreachable", "mapped drive over the network times out"),
    ("Firewall rule for new server", "open a firewall port for the server"),
    ("Wi-Fi drops in the canteen", "wireless disconnects near the canteen"),
]
HARDWARE = [
    ("Laptop does not start", "my laptop stays black when I press power"),
    ("Printer jams on floor 2", "paper jam in the printer every time"),
    ("Monitor flickers", "the external monitor flickers all day"),
    ("Keyboard keys stuck", "several keys of my keyboard are stuck"),
    ("Laptop battery swollen", "the laptop battery is swollen"),
    ("Mouse not working", "usb mouse does not move the pointer"),
    ("Docking station dead", "the docking station gives no power"),
    ("Printer out of toner", "the printer needs a new toner cartridge"),
    ("Laptop overheats", "laptop fan loud and very hot"),
    ("Headset microphone broken", "colleagues cannot hear me on my headset"),
    ("Screen cracked", "my laptop screen is cracked"),
    ("New monitor request", "I need a second monitor for my desk"),
]
# Words of both departments: wherever the router sends it, a lead moves it to the other one.
MISROUTED = ("Wi-Fi card of my laptop broken", "the wireless network adapter inside the laptop is physically broken")


@pytest.fixture
def trained(people, department, other_department, settings, embedder):
    settings.AI_AUTO_ROUTE = False
    settings.AI_ROUTER_ABSTAIN_BELOW = 0.0  # route alone whatever the confidence
    requester = people["employee"]
    for history, where in ((NETWORK, department), (HARDWARE, other_department)):
        for title, description in history:
            ticket_services.ticket_create(requester=requester, title=title, description=description, department=where)
    UserFactory(role=Role.AGENT, department=other_department)
    call_command("train_router", verbosity=0)
    settings.AI_AUTO_ROUTE = True


def route_misrouted(committed, people):
    ticket = committed(
        ticket_services.ticket_create, requester=people["employee"], title=MISROUTED[0], description=MISROUTED[1]
    )
    ticket.refresh_from_db()
    return ticket


def lead_of(department, people):
    if people["lead"].department_id == department.pk:
        return people["lead"]
    return UserFactory(role=Role.LEAD, department=department)


def test_a_lead_rerouting_an_ai_routed_ticket_is_a_correction_the_next_training_learns(
    trained, people, department, other_department, committed
):
    ticket = route_misrouted(committed, people)
    # Wherever the AI placed it, its lead knows it belongs in the other department.
    placed = ticket.department
    assert placed in (department, other_department)
    right = other_department if placed == department else department
    before = routing.route_text(title=MISROUTED[0], description=MISROUTED[1], actor=None, with_similar=False)
    assert before.department == placed

    lead = lead_of(placed, people)
    committed(ticket_services.ticket_update, actor=lead, ticket=ticket, department=right)
    correction = SuggestionFeedback.objects.get(verdict=SuggestionFeedback.Verdict.CORRECTED)
    assert correction.user == lead and correction.corrected_department == right
    assert correction.suggestion.ticket_id == ticket.pk and correction.suggestion.kind == Suggestion.Kind.ROUTE

    call_command("train_router", verbosity=0)
    after = routing.route_text(title=MISROUTED[0], description=MISROUTED[1], actor=None, with_similar=False)
    assert after.department == right  # the correction changed the model's answer for that text


def test_a_move_back_withdraws_the_correction_and_redelivery_changes_nothing(
    trained, people, department, other_department, committed
):
    ticket = route_misrouted(committed, people)
    placed = ticket.department
    right = other_department if placed == department else department
    lead = lead_of(placed, people)
    committed(ticket_services.ticket_update, actor=lead, ticket=ticket, department=right)
    # The event delivered twice (at least once): still one correction.
    services.routing_correction_record(
        actor_id=lead.pk, ticket_id=ticket.pk, from_department_id=placed.pk, to_department_id=right.pk
    )
    assert SuggestionFeedback.objects.filter(verdict="corrected").count() == 1
    ticket.refresh_from_db()
    committed(ticket_services.ticket_update, actor=people["admin"], ticket=ticket, department=placed)
    assert not SuggestionFeedback.objects.filter(verdict="corrected").exists()


def test_moving_a_ticket_a_person_placed_is_no_correction(people, department, other_department, committed, settings):
    settings.AI_AUTO_ROUTE = False
    ticket = committed(
        ticket_services.ticket_create, requester=people["employee"], title="VPN", description="d", department=department
    )
    committed(ticket_services.ticket_update, actor=people["lead"], ticket=ticket, department=other_department)
    assert not SuggestionFeedback.objects.exists()
