"""Django admin for the AI's suggestion log: read-only; confidences rounded; a lead sees the
suggestions about their department's tickets (and triage), admins every one."""

import pytest

from ai_assist.models import Suggestion
from tests.helpers import browser_for
from tickets import services

pytestmark = pytest.mark.django_db

LIST = "/admin/ai_assist/suggestion/"


def change_url(suggestion) -> str:
    return f"{LIST}{suggestion.pk}/change/"


@pytest.fixture
def suggestions(people, department, other_department) -> dict:
    make = services.ticket_create
    ours = make(requester=people["employee"], title="Ours: VPN drops", description="d", department=department)
    theirs = make(requester=people["employee"], title="Theirs: printer", description="d", department=other_department)

    def route(ticket, confidence, model):
        return Suggestion.objects.create(
            kind=Suggestion.Kind.ROUTE,
            ticket=ticket,
            department=ticket.department if ticket else None,
            confidence=confidence,
            model=model,
        )

    return {
        "ours": route(ours, 0.8712345, "model-ours"),
        "theirs": route(theirs, 0.5555555, "model-theirs"),
        "preview": route(None, 0.3333333, "model-preview"),  # an API preview: no ticket
    }


def test_confidence_is_shown_rounded(people, suggestions):
    response = browser_for(people["lead"]).get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "0.87" in page and "0.8712345" not in page
    detail = browser_for(people["lead"]).get(change_url(suggestions["ours"])).content.decode()
    assert "0.87" in detail and "0.8712345" not in detail


def test_lead_sees_only_suggestions_about_their_departments_tickets(people, suggestions):
    lead = browser_for(people["lead"])
    page = lead.get(LIST).content.decode()
    assert "model-ours" in page
    assert "model-theirs" not in page and "model-preview" not in page
    response = lead.get(change_url(suggestions["theirs"]))
    assert response.status_code == 302 and response["Location"] == "/admin/"  # "does not exist", as for none


def test_lead_reads_but_cannot_change_or_delete(people, suggestions):
    lead = browser_for(people["lead"])
    ours = suggestions["ours"]
    page = lead.get(change_url(ours)).content.decode()
    assert 'type="submit"' not in page.split('id="content-main"')[1].split("</form>")[0]  # a read-only view
    response = lead.post(change_url(ours), {"model": "edited", "confidence": "1.0"})
    assert response.status_code == 403
    assert lead.post(f"{LIST}{ours.pk}/delete/", {"post": "yes"}).status_code == 403
    assert lead.get(f"{LIST}add/").status_code == 403
    ours.refresh_from_db()
    assert (ours.model, ours.confidence) == ("model-ours", 0.8712345)


def test_admins_see_every_suggestion(people, suggestions):
    page = browser_for(people["admin"]).get(LIST).content.decode()
    assert all(f"model-{name}" in page for name in ("ours", "theirs", "preview"))


def test_leads_find_the_ai_log_in_admin_agents_do_not(people, suggestions):
    assert "/admin/ai_assist/suggestion/" in browser_for(people["lead"]).get("/admin/").content.decode()
    for who in ("employee", "agent"):
        response = browser_for(people[who]).get(LIST)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
