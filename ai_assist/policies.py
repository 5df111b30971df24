"""Who may use which AI feature (the API asks here, never compares roles itself)."""

from __future__ import annotations

from accounts.models import Role


def sees_every_suggestion(user) -> bool:
    """The whole AI log, API previews included, is for admins; others see it through their tickets."""
    return user.is_authenticated and user.role >= Role.ADMIN


def can_see_routing(user) -> bool:
    """Routing (previews and past decisions) shows departments, agents and their load: staff only.
    Similar-ticket search is for everyone signed in; its scope does the limiting."""
    return user.is_authenticated and user.role >= Role.AGENT
