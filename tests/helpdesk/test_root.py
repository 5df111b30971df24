"""The root URL (helpdesk/home.py): the first link `make run` prints answers with the product,
its version and where to go next, as JSON for API clients and as a page for a browser."""

from __future__ import annotations

import tomllib

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.django_db

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
LINKS = {
    "docs": "/api/docs/",
    "redoc": "/api/redoc/",
    "schema": "/api/schema/",
    "admin": "/admin/",
    "healthz": "/healthz",
    "readyz": "/readyz",
}


def test_an_api_client_gets_json_with_name_version_and_links(api):
    for accept in ("application/json", "*/*", None):
        response = api.get("/", **({"HTTP_ACCEPT": accept} if accept else {}))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert "Accept" in response["Vary"]
        assert response.json() == {"name": "Helpdesk AI", "version": VERSION, "links": LINKS}


def test_every_link_leads_somewhere(api):
    for url in LINKS.values():
        status = api.get(url).status_code
        assert status in (200, 302, 401), (url, status)  # admin sends to its login; the API asks for a token


def test_a_browser_gets_a_small_page_with_the_same_links(client):
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/", HTTP_ACCEPT=browser_accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<h1>Helpdesk AI</h1>" in page and VERSION in page
    for url in LINKS.values():
        assert f'href="{url}"' in page


def test_only_get(api):
    assert api.post("/", {}).status_code == 405
