"""Helpers for tests: signed-in clients, the role matrix, problem+json assertions, skips."""

from __future__ import annotations

import os

import pytest
from rest_framework.test import APIClient

from accounts.tokens import issue_pair

# The role matrix: who calls, from the outside in.
WHO = ["anonymous", "employee", "agent_other", "agent", "lead", "admin"]


def bearer_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_pair(user)['access']}")
    return client


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is application/problem+json with the given status (and code)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    for key in ("type", "title", "status", "detail", "instance", "code"):
        assert key in body, key
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


requires_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (.ci/run always does)",
)


def matrix(expected: list[int]) -> list[tuple[str, int]]:
    """Pair each caller of WHO with the status it should get."""
    assert len(expected) == len(WHO)
    return list(zip(WHO, expected, strict=True))
