"""Shared fixtures: people of every role, and API clients signed in as them with real JWTs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import bearer_client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and throttles live in the cache: each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def department(db):
    return DepartmentFactory(name="Network", description="VPN, Wi-Fi and the office network.")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(name="Hardware", description="Laptops, printers and monitors.")


@pytest.fixture
def people(db, department, other_department) -> dict:
    return {
        "employee": UserFactory(email="employee@example.com", role=Role.EMPLOYEE),
        "agent_other": UserFactory(email="agent.other@example.com", role=Role.AGENT, department=other_department),
        "agent": UserFactory(email="agent@example.com", role=Role.AGENT, department=department),
        "lead": UserFactory(email="lead@example.com", role=Role.LEAD, department=department),
        "admin": UserFactory(email="admin@example.com", role=Role.ADMIN),
    }


@pytest.fixture
def client_for(people):
    """client_for("agent") -> an APIClient with that person's access token ("anonymous": none)."""

    def make(who: str) -> APIClient:
        return bearer_client(None if who == "anonymous" else people[who])

    return make


@pytest.fixture
def api():
    return APIClient()
