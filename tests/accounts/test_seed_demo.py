"""seed_demo: departments and one user of each role per department; idempotent; logins work."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from accounts.demo import DEMO_PASSWORD
from accounts.models import Department, Role, User
from tests.helpers import seed_demo_data

pytestmark = pytest.mark.django_db


def test_seed_creates_departments_and_every_role(api):
    seed_demo_data()
    assert Department.objects.count() == 6
    for department in Department.objects.all():
        roles = set(User.objects.filter(department=department).values_list("role", flat=True))
        assert roles == {Role.LEAD, Role.AGENT}, department.name
        assert department.description
    assert User.objects.filter(role=Role.ADMIN).count() == 1
    assert User.objects.filter(role=Role.EMPLOYEE).count() >= 1
    response = api.post(
        "/api/v1/auth/login/", {"email": "agent.network@example.com", "password": DEMO_PASSWORD}, format="json"
    )
    assert response.status_code == 200


def test_seed_is_idempotent_and_restores_demo_passwords():
    seed_demo_data()
    counts = (Department.objects.count(), User.objects.count())
    agent = User.objects.get(email="agent.network@example.com")
    agent.set_password("changed-meanwhile-123")
    agent.save()
    seed_demo_data()
    assert (Department.objects.count(), User.objects.count()) == counts
    agent.refresh_from_db()
    assert agent.check_password(DEMO_PASSWORD)


@override_settings(DEBUG=False)
def test_seed_refuses_production_without_the_flag():
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", verbosity=0)
    assert not User.objects.exists()
