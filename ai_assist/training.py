"""Training the router and the label model from the tickets whose department is known."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ai_assist import embeddings, store
from ai_assist.ml.pipeline import Models, train_models
from ai_assist.ml.text import ticket_text
from ai_assist.retrieval.tickets import ticket_label

MIN_TICKETS = 10  # fewer than this, or one department only: the cold start is the better router
CORRECTION_WEIGHT = 3  # copies of a corrected ticket in training


@dataclass
class TrainReport:
    tickets: int
    departments: int
    models: Models | None

    @property
    def cold(self) -> bool:
        return self.models is None


def training_tickets():
    from accounts.personal_data import erased_user_ids
    from tickets.models import Ticket

    return (
        Ticket.objects.filter(department__isnull=False, deleted_at__isnull=True)
        .exclude(requester_id__in=erased_user_ids())  # an erased person's text leaves the models too (decision 0027)
        .order_by("id")
        .values_list("id", "title", "description", "department_id", "category")
    )


def corrected_tickets() -> set[str]:
    """The tickets whose AI routing a person corrected (a `corrected` review): their department
    is a lead's deliberate label for a text the router got wrong."""
    from ai_assist.models import SuggestionFeedback

    return set(
        SuggestionFeedback.objects.filter(
            verdict=SuggestionFeedback.Verdict.CORRECTED, suggestion__ticket__isnull=False
        ).values_list("suggestion__ticket_id", flat=True)
    )


def train_from_database(*, progress: Callable | None = None, embed_progress: Callable | None = None) -> TrainReport:
    """Train on every ticket whose department is known, as it is now; a ticket whose routing was
    corrected counts CORRECTION_WEIGHT times, so the router learns the correction even where
    many tickets say otherwise."""
    corrected = corrected_tickets()
    distinct = [(ticket_id in corrected, tuple(row)) for ticket_id, *row in training_tickets()]
    per_department = Counter(row[2] for _, row in distinct)
    path = store.models_path()
    if len(distinct) < MIN_TICKETS or len(per_department) < 2:
        path.unlink(missing_ok=True)  # no history (any more): route by department descriptions
        store.forget()
        return TrainReport(tickets=len(distinct), departments=len(per_department), models=None)
    rows = [row for was_corrected, row in distinct for _ in range(CORRECTION_WEIGHT if was_corrected else 1)]
    texts = [ticket_text(title, description) for title, description, _, _ in rows]
    vectors = embeddings.embed_many(texts, progress=embed_progress)
    models = train_models(
        texts=texts,
        titles=[title for title, _, _, _ in rows],
        labels=[department for _, _, department, _ in rows],
        fine_labels=[ticket_label(department, category) for _, _, department, category in rows],
        embeddings=vectors,
        embedding_model=embeddings.model_name(),
        progress=progress,
    )
    models.save(path)
    store.forget()
    return TrainReport(tickets=len(distinct), departments=len(per_department), models=models)
