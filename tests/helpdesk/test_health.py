"""/healthz says the process is alive; /readyz checks database, cache and channel layer."""

import pytest

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


def test_readyz_is_503_and_names_what_failed(api, monkeypatch):
    def broken_cache_set(*args, **kwargs):
        raise ConnectionError("cache server refused the connection")

    monkeypatch.setattr(health.cache, "set", broken_cache_set)
    response = api.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert "refused" in body["checks"]["cache"]
    assert body["checks"]["database"] == "ok"
