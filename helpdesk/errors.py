"""Domain errors: what a rule of the domain says when it says no.

Services, schemas, files and token handling raise these; they know nothing of HTTP frameworks.
Each carries its HTTP status, a stable machine-readable `code` and a human `title`;
`helpdesk.api.errors` renders them (and every other error under /api/) as problem+json.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no. Subclasses set the HTTP status, code and title."""

    status = 400
    code = "invalid"
    title = "Invalid request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}


class Invalid(DomainError):
    status, code, title = 400, "invalid", "Invalid request"


class NotAllowed(DomainError):
    status, code, title = 403, "not_allowed", "Not allowed"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class RateLimited(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(max(retry_after, 1))})


class Unauthenticated(DomainError):
    """The credentials (a token, a password) are missing, wrong, expired or revoked."""

    status, code, title = 401, "not_authenticated", "Not authenticated"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail, code=code, headers={"WWW-Authenticate": 'Bearer realm="api"'})


class Unavailable(DomainError):
    """Something this request needs is not there, or not answering; not the caller's fault."""

    status, code, title = 503, "unavailable", "Service unavailable"
