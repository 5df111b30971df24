"""A routing world for the AI benches: departments and one agent per label, the labelled rows as
resolved history tickets, indexed with their vectors, and a router trained on them.

Call after django.setup() and migrate, in a throwaway VAR_DIR and database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RoutingWorld:
    departments: dict  # label -> Department
    agents: dict  # label -> User (an agent of that department)
    requester: object
    tickets: list
    busiest_agent: object  # the agent of the label with the most history


def seed_routing_world(rows, texts, vectors) -> RoutingWorld:
    from accounts.models import Department, Role, User
    from ai_assist import retrieval, store
    from ai_assist.ml.pipeline import train_models
    from ai_assist.retrieval.tickets import ticket_label
    from tickets.models import Status, Ticket

    labels = [row.label for row in rows]
    departments = {
        label: Department.objects.create(name=f"Category {label}", description=f"Tickets labelled {label}.")
        for label in sorted(set(labels))
    }
    agents = {
        label: User.objects.create_user(f"agent{label}@example.com", role=Role.AGENT, department=department)
        for label, department in departments.items()
    }
    requester = User.objects.create_user("requester@example.com", is_active=False)
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                title=(row.title or row.body[:80] or "(no title)")[:200],
                description=row.body,
                public_text=f"{row.title}\n{row.body}",
                category=row.category,
                department=departments[row.label],
                requester=requester,
                status=Status.RESOLVED,
                external_id=row.external_id,
            )
            for row in rows
        ],
        batch_size=500,
    )
    for start in range(0, len(tickets), 500):
        retrieval.ticket_corpus().upsert(tickets[start : start + 500], vectors=vectors[start : start + 500])
    train_models(
        texts=texts,
        titles=[row.title for row in rows],
        labels=[departments[label].pk for label in labels],
        fine_labels=[ticket_label(t.department_id, t.category) for t in tickets],
        embeddings=vectors,
    ).save(store.models_path())
    busiest = max(departments, key=labels.count)
    return RoutingWorld(departments, agents, requester, tickets, agents[busiest])
