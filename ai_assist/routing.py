"""Routing: department (calibrated confidence, alternatives, abstention), agent and similar
tickets, for a preview (`POST /api/v1/ai/route/`) and for every new ticket (`route_new_ticket`);
and the similar-ticket search of `POST /api/v1/ai/similar/`.

Every decision and search is logged as a Suggestion (ai_assist.services) with its inputs, output,
model and latency. Which past tickets may be shown is tickets.policies' answer: those the asker
may see, or, for a ticket the system routes, those its future staff see.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count

from accounts.models import Department, Role, User
from accounts.selectors import agents_of
from ai_assist import embeddings, services, store
from ai_assist.ml.similar import SimilarRanker
from ai_assist.ml.text import normalise, ticket_text
from ai_assist.models import Suggestion
from ai_assist.retrieval import similar

logger = logging.getLogger(__name__)

SIMILAR_ON_ROUTE = 5


@dataclass
class AgentChoice:
    agent: User | None
    reason: str


@dataclass
class RouteDecision:
    department: Department | None
    confidence: float | None
    abstained: bool
    alternatives: list[tuple[Department, float]] = field(default_factory=list)
    agent: User | None = None
    agent_reason: str = ""
    similar: list[tuple[object, float]] = field(default_factory=list)
    similar_error: str = ""
    model: str = ""
    latency_ms: float = 0.0
    suggestion: Suggestion | None = None


def choose_agent(*, department: Department, text: str) -> AgentChoice:
    """The department's active, available agent whose skills best match the ticket, then the
    lightest open load (new, open or pending tickets assigned). Leads are candidates only with
    AI_ROUTE_TO_LEADS (off by default: leads triage and review; agents work the queue); then an
    agent still wins a tie."""
    from tickets.models import ACTIVE_STATUSES, Ticket

    people = [
        person
        for person in agents_of(department_ids=[department.pk])
        if settings.AI_ROUTE_TO_LEADS or person.role < Role.LEAD
    ]
    # One grouped count (portable to MongoDB's backend, unlike a filtered join annotation).
    load = dict(
        Ticket.objects.filter(
            assignee__in=[person.pk for person in people], status__in=ACTIVE_STATUSES, deleted_at__isnull=True
        )
        .values_list("assignee")
        .annotate(n=Count("id"))
        .values_list("assignee", "n")
    )
    for person in people:
        person.open_load = load.get(person.pk, 0)
    if not people:
        return AgentChoice(None, f"{department.name} has no active agents.")  # the ticket keeps the department
    available = [person for person in people if person.is_available]
    if not available:
        return AgentChoice(None, f"No agent of {department.name} is available right now.")
    words = f" {normalise(text)} "

    def matched(person: User) -> list[str]:
        return [skill for skill in person.skills or [] if f" {normalise(str(skill))} " in words]

    def key(person: User):
        return (-len(matched(person)), person.open_load, person.role != Role.AGENT, person.email)

    best = min(available, key=key)
    skills = matched(best)
    reason = (
        f"skills match: {', '.join(skills)}; " if skills else "no skill matched; "
    ) + f"{best.open_load} open ticket{'s' if best.open_load != 1 else ''}; available"
    return AgentChoice(best, reason)


def route_text(
    *,
    title: str,
    description: str,
    actor: User | None,
    ticket=None,
    with_similar: bool = True,
    abstain_below: float | None = None,
) -> RouteDecision:
    """Decide where a ticket would go, and log the decision. With `with_similar`, also the
    similar tickets: those `actor` may see, or with no actor (the system routing `ticket`)
    those the staff who will work it see (tickets.policies.retrieval_scope / staff_scope)."""
    from tickets import policies as ticket_policies

    started = time.perf_counter()
    threshold = settings.AI_ROUTER_ABSTAIN_BELOW if abstain_below is None else abstain_below
    text = ticket_text(title, description)
    models = store.current_models()
    vector = embeddings.embed_one(text)
    decision = RouteDecision(department=None, confidence=None, abstained=True)
    if models is not None:
        route = models.route(text, title, vector, abstain_below=threshold)
        ranked = [(route.label, route.confidence), *route.alternatives]
        departments = Department.objects.in_bulk([label for label, _ in ranked])
        # A department deleted since training cannot be chosen: the likeliest one that exists is.
        existing = [(departments[label], p) for label, p in ranked if label in departments]
        decision.model = route.model
        if existing:
            (decision.department, decision.confidence), decision.alternatives = existing[0], existing[1:]
            decision.abstained = route.abstained or decision.confidence < threshold
        if decision.department is None:
            decision.agent_reason = "The departments the router knows no longer exist: run manage.py train_router."
        elif route.only_choice:
            decision.abstained = True
            decision.agent_reason = "Only one department exists: a lead confirms it."
        elif decision.abstained:
            decision.agent_reason = f"Confidence below {threshold:.2f}: waits in triage for a lead."
        else:
            choice = choose_agent(department=decision.department, text=text)
            decision.agent, decision.agent_reason = choice.agent, choice.reason
    else:
        decision.agent_reason = "No departments exist yet."
    if with_similar:
        if actor is not None:
            scope = ticket_policies.retrieval_scope(actor)
        else:
            department_id = decision.department.pk if decision.department else None
            scope = ticket_policies.staff_scope(department_id, triage=decision.abstained)
        try:
            decision.similar = similar.similar_tickets(
                scope=scope,
                text=text,
                title=title,
                embedding=vector,
                limit=SIMILAR_ON_ROUTE,
                exclude=(ticket.pk,) if ticket is not None else (),
            )
        except Exception:  # the index is down or broken: the department decision still stands
            logger.exception("Similar tickets failed while routing; routing goes on without them")
            decision.similar_error = "Similar tickets are unavailable right now (the vector index failed)."
    decision.latency_ms = (time.perf_counter() - started) * 1000
    decision.suggestion = _log(decision, title=title, description=description, actor=actor, ticket=ticket)
    return decision


def _log(decision: RouteDecision, *, title: str, description: str, actor, ticket) -> Suggestion:
    return services.suggestion_record(
        kind=Suggestion.Kind.ROUTE,
        actor=actor,
        ticket=ticket,
        department=decision.department,
        confidence=decision.confidence,
        abstained=decision.abstained,
        inputs={"title": title, "description": services.clipped(description)},
        output={
            "department": decision.department.pk if decision.department else None,
            "confidence": decision.confidence,
            "abstained": decision.abstained,
            "alternatives": [{"department": d.pk, "confidence": p} for d, p in decision.alternatives],
            "agent": decision.agent.pk if decision.agent else None,
            "agent_reason": decision.agent_reason,
            "similar_tickets": [{"ticket": t.pk, "score": s} for t, s in decision.similar],
        },
        error=decision.similar_error,
        model=decision.model,
        path="router",
        latency_ms=decision.latency_ms,
    )


def find_similar(*, actor: User, title: str, description: str, limit: int) -> list[tuple[object, float]]:
    """The past tickets most like this text among those `actor` may see, best first; logged."""
    from tickets import policies as ticket_policies

    started = time.perf_counter()
    text = ticket_text(title, description)
    found = similar.similar_tickets(
        scope=ticket_policies.retrieval_scope(actor),
        text=text,
        title=title,
        embedding=embeddings.embed_one(text),
        limit=limit,
    )
    services.suggestion_record(
        kind=Suggestion.Kind.SIMILAR,
        actor=actor,
        inputs={"title": title, "description": services.clipped(description), "limit": limit},
        output={"similar_tickets": [{"ticket": t.pk, "score": s} for t, s in found]},
        model=SimilarRanker.name,
        path="search",
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    return found


def route_new_ticket(ticket_id: str) -> None:
    """Route a stored ticket that has no department yet. Any failure leaves it in triage."""
    from tickets import services as ticket_services
    from tickets.models import Ticket

    started = time.perf_counter()
    ticket = Ticket.objects.filter(pk=ticket_id, department__isnull=True, deleted_at__isnull=True).first()
    if ticket is None:
        return
    try:
        decision = route_text(title=ticket.title, description=ticket.description, actor=None, ticket=ticket)
        if decision.abstained or decision.department is None:
            if decision.confidence is not None:
                # Stays in triage, showing the confidence of the decision that left it there (the
                # best guess is in the suggestion: GET /api/v1/ai/tickets/{id}/routing/).
                ticket_services.ticket_route(
                    ticket=ticket, department=None, confidence=decision.confidence, reason=decision.agent_reason
                )
            return
        reason = f"{decision.model}: {decision.confidence:.2f}" + (
            f"; agent {decision.agent.email}: {decision.agent_reason}" if decision.agent else ""
        )
        ticket_services.ticket_route(
            ticket=ticket,
            department=decision.department,
            confidence=decision.confidence,
            assignee=decision.agent,
            reason=reason,
        )
    except Exception as exc:
        logger.exception("Routing ticket %s failed; it stays in triage", ticket_id)
        try:
            services.suggestion_record(
                kind=Suggestion.Kind.ROUTE,
                actor=None,
                ticket=ticket,
                abstained=True,
                path="router",
                inputs={"ticket": ticket_id},
                error=f"{type(exc).__name__}: {exc}",
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        except Exception:
            logger.exception("Could not log the routing failure of ticket %s", ticket_id)
