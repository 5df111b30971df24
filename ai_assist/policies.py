"""Who may use which AI feature (the API asks here, never compares roles itself)."""

from __future__ import annotations

from accounts.models import Role


def can_preview_routing(user) -> bool:
    """Routing previews show departments, agents and their load: staff only."""
    return user.is_authenticated and user.role >= Role.AGENT


def can_search_similar(user) -> bool:
    """Everyone signed in; results are limited to the tickets they may see."""
    return user.is_authenticated
