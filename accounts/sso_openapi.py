"""Company sign-in for Django admin in the OpenAPI document (`add_paths`, a postprocessing hook named
in SPECTACULAR_SETTINGS): accounts.sso_views are browser redirects, not DRF views, so their
operations are written here. API clients sign in with POST /api/v1/auth/oidc/token/ instead."""

from __future__ import annotations

from helpdesk.api.schema import DATABASE_UNAVAILABLE, plain_problem

LOCATION = {"Location": {"schema": {"type": "string"}, "description": "Where the browser goes next."}}


def _redirect(description: str) -> dict:
    return {"description": description, "headers": LOCATION}


ERRORS = {
    "400": plain_problem(
        400,
        code="invalid_query",
        detail="The query string contains a NUL character (%00), which no parameter accepts.",
        description="The query string cannot be read.",
    ),
    "503": plain_problem(
        503,
        code=DATABASE_UNAVAILABLE["code"],
        detail=DATABASE_UNAVAILABLE["detail"],
        description="The database does not answer; try again shortly.",
    ),
}


def paths() -> dict[str, dict]:
    return {
        "/sso/login/": {
            "get": {
                "operationId": "sso_login",
                "summary": "Start company sign-in for Django admin",
                "description": (
                    "A browser link (the admin sign-in page shows it when OIDC_ISSUER is set): redirects to "
                    "the company's identity provider with authorization code + PKCE. Without company "
                    "sign-in configured, back to the admin sign-in page with a message."
                ),
                "tags": ["sso"],
                "security": [{}],
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "An admin path to return to (other hosts are ignored).",
                    },
                    {"name": "login_hint", "in": "query", "schema": {"type": "string", "maxLength": 254}},
                ],
                "responses": {
                    "302": _redirect("To the identity provider, or back to the admin sign-in page."),
                    **ERRORS,
                },
            }
        },
        "/sso/callback/": {
            "get": {
                "operationId": "sso_callback",
                "summary": "Finish company sign-in for Django admin",
                "description": (
                    "Where the identity provider sends the browser back: the code is exchanged, the ID "
                    "token's signature, issuer, audience, expiry and nonce are checked, and staff get an "
                    "admin session. Anything else goes back to the admin sign-in page with the reason."
                ),
                "tags": ["sso"],
                "security": [{}],
                "parameters": [
                    {"name": "code", "in": "query", "schema": {"type": "string"}},
                    {"name": "state", "in": "query", "schema": {"type": "string"}},
                    {"name": "error", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "302": _redirect("To the admin (signed in) or back to its sign-in page."),
                    **ERRORS,
                },
            }
        },
    }


def add_paths(result: dict, **_context) -> dict:  # drf-spectacular passes generator, request, public
    """drf-spectacular's postprocessing hook: these operations."""
    result["paths"].update(paths())
    return result
