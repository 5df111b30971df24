"""README's curl walk-through, over real HTTP against uvicorn: sign up, in, refresh, out."""

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_signup_login_me_refresh_logout(live_server_url):
    with httpx.Client(base_url=live_server_url, timeout=10) as http:
        signup = http.post(
            "/api/v1/auth/signup/",
            json={"email": "ada@example.com", "password": "violet-harbour-1842", "first_name": "Ada"},
        )
        assert signup.status_code == 201, signup.text
        assert signup.json()["role"] == "employee"

        pair = http.post("/api/v1/auth/login/", json={"email": "ada@example.com", "password": "violet-harbour-1842"})
        assert pair.status_code == 200
        tokens = pair.json()

        me = http.get("/api/v1/auth/me/", headers={"Authorization": f"Bearer {tokens['access']}"})
        assert me.status_code == 200
        assert me.json()["email"] == "ada@example.com"

        rotated = http.post("/api/v1/auth/refresh/", json={"refresh": tokens["refresh"]})
        assert rotated.status_code == 200
        reused = http.post("/api/v1/auth/refresh/", json={"refresh": tokens["refresh"]})
        assert reused.status_code == 401
        assert reused.headers["content-type"].startswith("application/problem+json")

        new_refresh = rotated.json()["refresh"]
        assert http.post("/api/v1/auth/logout/", json={"refresh": new_refresh}).status_code == 204
        assert http.post("/api/v1/auth/refresh/", json={"refresh": new_refresh}).status_code == 401


def test_docs_and_probes_are_served(live_server_url):
    with httpx.Client(base_url=live_server_url, timeout=10) as http:
        assert http.get("/api/docs/").status_code == 200
        assert http.get("/api/redoc/").status_code == 200
        schema = http.get("/api/schema/", headers={"Accept": "application/json"})
        assert schema.status_code == 200
        assert schema.json()["info"]["title"] == "Helpdesk AI API"
        assert http.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
        assert http.get("/readyz").json()["status"] == "ok"
        missing = http.get("/api/v1/nothing-here/")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
