"""Training the router and the label model from the tickets whose department is known."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ai_assist import embeddings, index, store
from ai_assist.ml.pipeline import Models, train_models
from ai_assist.ml.text import ticket_text

MIN_TICKETS = 10  # fewer than this, or one department only: the cold start is the better router


@dataclass
class TrainReport:
    tickets: int
    departments: int
    models: Models | None

    @property
    def cold(self) -> bool:
        return self.models is None


def training_tickets():
    from tickets.models import Ticket

    return (
        Ticket.objects.filter(department__isnull=False, deleted_at__isnull=True)
        .order_by("id")
        .values_list("title", "description", "department_id", "category")
    )


def train_from_database(*, progress: Callable | None = None, embed_progress: Callable | None = None) -> TrainReport:
    rows = list(training_tickets())
    per_department = Counter(department for _, _, department, _ in rows)
    path = store.models_path()
    if len(rows) < MIN_TICKETS or len(per_department) < 2:
        path.unlink(missing_ok=True)  # no history (any more): route by department descriptions
        store.forget()
        return TrainReport(tickets=len(rows), departments=len(per_department), models=None)
    texts = [ticket_text(title, description) for title, description, _, _ in rows]
    vectors = embeddings.embed_many(texts, progress=embed_progress)
    models = train_models(
        texts=texts,
        titles=[title for title, _, _, _ in rows],
        labels=[department for _, _, department, _ in rows],
        fine_labels=[index.ticket_label(department, category) for _, _, department, category in rows],
        embeddings=vectors,
        embedding_model=embeddings.model_name(),
        progress=progress,
    )
    models.save(path)
    store.forget()
    return TrainReport(tickets=len(rows), departments=len(per_department), models=models)
