"""What `train_router` trains and stores, and what routing and similar-ticket search run.

The management commands (train_router, ai_eval), the API services and bench/ all go through
these functions, so the figures in docs/ai.md measure the code that serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np

from ai_assist.ml.router import DescriptionRouter, Route, Router
from ai_assist.ml.similar import UNKNOWN, LabelModel, SimilarRanker

FORMAT = 2


@dataclass
class Models:
    router: Router | DescriptionRouter
    label_model: LabelModel | None = None
    embedding_model: str = ""
    trained_on: int = 0
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def name(self) -> str:
        return self.router.name

    def route(self, text: str, title: str, embedding: np.ndarray, *, abstain_below: float) -> Route:
        return self.router.route(text, title, embedding, abstain_below=abstain_below)

    def ranker(self) -> SimilarRanker:
        return SimilarRanker(self.label_model)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        joblib.dump({"format": FORMAT, "models": self}, tmp, compress=3)
        tmp.replace(path)  # readers never see half a file

    @staticmethod
    def load(path: str | Path) -> Models:
        stored = joblib.load(path)
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise ValueError(f"{path} was saved by another version; run manage.py train_router again.")
        return stored["models"]


def train_models(
    *,
    texts: Sequence[str],
    titles: Sequence[str],
    labels: Sequence[str],
    fine_labels: Sequence[str],
    embeddings: np.ndarray,
    embedding_model: str = "",
    progress: Callable | None = None,
) -> Models:
    """The router over `labels` (e.g. departments) and the label model over `fine_labels`
    (e.g. department|category; UNKNOWN where nobody knows)."""
    router = Router().fit(texts, titles, labels, embeddings, progress=progress)
    fine = list(fine_labels)
    label_model = None
    if len({label for label in fine if label != UNKNOWN}) > 1:
        label_model = LabelModel().fit(texts, titles, fine, embeddings, progress=progress)
    return Models(router=router, label_model=label_model, embedding_model=embedding_model, trained_on=len(texts))


def cold_start_models(
    *, labels: Sequence[str], description_embeddings: np.ndarray, embedding_model: str = ""
) -> Models:
    """No history yet: route by department descriptions, rank similar tickets by text alone."""
    return Models(router=DescriptionRouter(labels, description_embeddings), embedding_model=embedding_model)
