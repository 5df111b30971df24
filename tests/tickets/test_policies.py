"""Ticket rules: who works a department (in memory and as a query), and who hears what about assignment."""

from __future__ import annotations

import itertools

import pytest

from accounts.models import Role, User
from accounts.policies import is_active_agent_of, works_for_department
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import assert_problem
from tickets import services


@pytest.mark.django_db
def test_is_active_agent_of_agrees_with_works_for_department():
    own, other = DepartmentFactory(name="Own"), DepartmentFactory(name="Other")
    for role, department, active in itertools.product(Role, [None, own, other], [True, False]):
        UserFactory(role=role, department=department, is_active=active)
    for department_id in (own.pk, other.pk, None):
        matching = set(User.objects.filter(works_for_department(department_id)).values_list("pk", flat=True))
        for user in User.objects.all():
            assert is_active_agent_of(user, department_id) == (user.pk in matching), (user.role, department_id)
        if department_id is not None:
            assert len(matching) == 2  # the active agent and the active lead of that department


UNKNOWN = "0123456789abcdef01234567"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("employee", 403, "not_allowed"), ("agent_other", 404, "not_found"), ("agent", 403, "not_allowed")],
)
def test_assigning_an_unknown_user_tells_an_outsider_only_that_they_may_not(
    client_for, people, department, who, status, code
):
    """The policy answers before anyone is looked up: no "No such user" to someone who may not assign."""
    ticket = services.ticket_create(
        requester=people["employee"], title="Printer jam", description="Tray 2.", department=department
    )
    url = f"/api/v1/tickets/{ticket.pk}/assign/"
    assert_problem(client_for(who).post(url, {"assignee": UNKNOWN}, format="json"), status, code)
    lead = client_for("lead").post(url, {"assignee": UNKNOWN}, format="json")
    assert assert_problem(lead, 400)["errors"] == {"assignee": ["No such user."]}
