"""OpenAPI examples of the accounts API (what the docs show, and what README's curl sends)."""

from drf_spectacular.utils import OpenApiExample

_USER = {
    "id": "6745a1c2e4b0a1b2c3d4e5f6",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "role": "employee",
    "department": None,
    "skills": [],
    "is_active": True,
    "is_available": True,
    "date_joined": "2026-11-25T09:30:00Z",
    "last_login": None,
}
_DEPARTMENT = {
    "id": "6745a1c2e4b0a1b2c3d4e5a1",
    "name": "Network",
    "description": "VPN, Wi-Fi, office network, firewalls and DNS.",
    "created_at": "2026-11-25T09:30:00Z",
}

SIGNUP_IN = OpenApiExample(
    "Sign up",
    request_only=True,
    value={
        "email": "ada@example.com",
        "password": "correct-horse-battery",  # nosec B105 - an example body in the API docs, not a credential
        "first_name": "Ada",
        "last_name": "Lovelace",
    },
)
LOGIN_IN = OpenApiExample(
    "Sign in",
    request_only=True,
    value={"email": "ada@example.com", "password": "correct-horse-battery"},  # nosec B105 - a docs example
)
REFRESH_IN = OpenApiExample("A refresh token", request_only=True, value={"refresh": "eyJhbGciOiJIUzI1NiIs..."})
TOKEN_PAIR_OUT = OpenApiExample(
    "Token pair", response_only=True, value={"access": "eyJhbGciOiJIUzI1NiIs...", "refresh": "eyJhbGciOiJIUzI1NiIs..."}
)
ME_IN = OpenApiExample("Go unavailable", request_only=True, value={"is_available": False})
USER_OUT = OpenApiExample("A user", response_only=True, value=_USER)
USER_IN = OpenApiExample(
    "A new agent",
    request_only=True,
    value={
        "email": "grace@example.com",
        "password": "a-long-unique-passphrase",  # nosec B105 - an example body in the API docs
        "first_name": "Grace",
        "last_name": "Hopper",
        "role": "agent",
        "department": _DEPARTMENT["id"],
        "skills": ["vpn", "wi-fi"],
    },
)
USER_PATCH_IN = OpenApiExample("Promote to lead", request_only=True, value={"role": "lead"})
DEPARTMENT_OUT = OpenApiExample("A department", response_only=True, value=_DEPARTMENT)
DEPARTMENT_IN = OpenApiExample(
    "A department", request_only=True, value={"name": "Network", "description": _DEPARTMENT["description"]}
)
PASSWORD_RESET_IN = OpenApiExample("Forgot my password", request_only=True, value={"email": "ada@example.com"})
RESET_REQUESTED_DETAIL = (
    "If an active account uses this address, a reset link is on its way. It works once, for a limited time."
)
PASSWORD_RESET_OUT = OpenApiExample(
    "Asked", response_only=True, status_codes=["202"], value={"detail": RESET_REQUESTED_DETAIL}
)
PASSWORD_RESET_CONFIRM_IN = OpenApiExample(
    "A new password from the email's link",
    request_only=True,
    value={
        "uid": "Njc0NWExYzJlNGIwYTFiMmMzZDRlNWY2",
        "token": "cf3x2q-8d7f1b2c3a4e5f60718293a4b5c6d7e8",  # nosec B105 - a docs example, not a credential
        "new_password": "a-new-long-passphrase",  # nosec B105 - a docs example
    },
)
PASSWORD_CHANGE_IN = OpenApiExample(
    "Change my password",
    request_only=True,
    value={
        "old_password": "correct-horse-battery",  # nosec B105 - a docs example
        "new_password": "a-new-long-passphrase",  # nosec B105 - a docs example
    },
)
