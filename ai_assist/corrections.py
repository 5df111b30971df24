"""Routing corrections, heard from the domain events: a person moving a ticket the AI routed to
another department is recorded as a `corrected` review of that routing (ai_assist.services.
routing_correction_record), which the suggestion statistics count and `train_router` weighs.

Registered in AiAssistConfig.ready() as the consumer `ai.routing_corrections` of ticket.updated.
Its effect is database rows, so it is registered atomic (the write and the delivery record in
one transaction on SQL); it is idempotent besides, as every consumer must be.
"""

from __future__ import annotations

from helpdesk import dispatch, events

CONSUMER = "ai.routing_corrections"


def record_routing_correction(event: events.Event) -> None:
    assert isinstance(event, events.TicketUpdated)
    moved = event.changes.get("department")
    if not moved or event.actor_id is None:
        return  # not a move, or not by a person
    from ai_assist import services

    before, after = moved
    services.routing_correction_record(
        actor_id=event.actor_id, ticket_id=event.target_id, from_department_id=before, to_department_id=after
    )


def connect() -> None:
    dispatch.register(CONSUMER, record_routing_correction, events=[events.TicketUpdated], atomic=True)
