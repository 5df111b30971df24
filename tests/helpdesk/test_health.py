"""/healthz says the process is alive; /readyz checks database (503 without it), cache and channel layer
(`degraded` without them)."""

import pytest
from django.db import OperationalError

from helpdesk import health

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_authentication(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}


def test_readyz_is_degraded_not_503_when_only_the_cache_fails(api, monkeypatch):
    """The API still works without its cache (helpdesk.cache): a load balancer must keep sending traffic."""

    def broken_cache_set(*args, **kwargs):
        raise ConnectionError("cache server refused the connection")

    monkeypatch.setattr(health.cache, "set", broken_cache_set)
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["cache"]
    assert "refused" in body["checks"]["cache"]
    assert body["checks"]["database"] == "ok"


def test_readyz_is_503_and_names_the_database_when_it_fails(api, monkeypatch):
    def unreachable():
        raise OperationalError("connection to server at 127.0.0.1, port 5499 failed: Connection refused")

    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["failed"] == ["database"]
