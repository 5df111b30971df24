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


def can_use_agent_tools(user) -> bool:
    """Draft replies and ticket summaries: agents and up (on tickets they may see)."""
    return user.is_authenticated and user.role >= Role.AGENT


def can_review_ai(user) -> bool:
    """The suggestion log, its statistics and the knowledge-gap report: leads (their
    department's) and admins (all)."""
    return user.is_authenticated and user.role >= Role.LEAD


def sees_chat_questions(user) -> bool:
    """What people asked the chatbot, word for word, is private to each asker (ARCHITECTURE §5:
    conversations are the caller's own); only admins, who may see everything, read it in the
    log and the gap report. Leads get the counts (deflection) of their department's askers."""
    return user.is_authenticated and user.role >= Role.ADMIN


def may_review(user, suggestion) -> bool:
    """Who may record a verdict on a suggestion: the person it was made for (their own chat
    answer, their draft), or staff (agents and up); which suggestions a staff member may reach
    at all is the selector's part (those about tickets they may see)."""
    return user.is_authenticated and (suggestion.actor_id == user.pk or user.role >= Role.AGENT)
