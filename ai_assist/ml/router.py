"""The department router: a stacked, calibrated classifier over ticket text.

Chosen by 5-fold stratified cross-validation on the shared tickets (docs/ai.md has the table):
- base 1: a linear SVM over word, title, character and embedding features (TextFeatures);
- base 2: the labels of the nearest past tickets by embedding (similarity-weighted votes) and
  how close the nearest one is (near-duplicates are common in helpdesks);
- meta: a multinomial logistic regression over the base outputs, fitted on out-of-fold outputs
  (inner cross-validation), so its probabilities are calibrated: among tickets routed with
  confidence about p, about p are right. Abstention compares that probability to a threshold.

`DescriptionRouter` is the cold start: with no history, the department whose description is
closest to the ticket (embedding cosine, a softmax over departments).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from ai_assist.ml.features import TextFeatures

FORMAT = 1
QUERY_CHUNK = 2048  # queries per similarity block: 2048 x 100k float32 is 800 MB at most


@dataclass
class Route:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    abstained: bool = False
    model: str = ""
    only_choice: bool = False  # one class only: the probability says nothing


def _class_columns(known: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(classes)}
    return np.array([index[label] for label in known])


def neighbour_votes(
    similarities: np.ndarray, neighbour_labels: np.ndarray, n_classes: int, *, k: int, sharpness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Similarity-weighted label votes of the k nearest rows (queries x classes, rows sum to 1)
    and the similarity of the nearest one. `neighbour_labels` are class indices of the columns."""
    n_queries, n_rows = similarities.shape
    votes = np.zeros((n_queries, n_classes), dtype=np.float64)
    if n_rows == 0:
        return votes + 1.0 / max(n_classes, 1), np.zeros((n_queries, 1))
    k = min(k, n_rows)
    nearest = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    sims = np.take_along_axis(similarities, nearest, axis=1)
    weights = np.exp((sims - sims.max(axis=1, keepdims=True)) * sharpness)
    rows = np.repeat(np.arange(n_queries), k)
    np.add.at(votes, (rows, neighbour_labels[nearest].ravel()), weights.ravel())
    votes /= votes.sum(axis=1, keepdims=True)
    return votes, sims.max(axis=1, keepdims=True)


class _Base:
    """The base models fitted on one set of tickets; `outputs` are the meta-learner's inputs."""

    def __init__(self, classes: Sequence[str], *, C: float, k: int, sharpness: float, features: dict):
        self.classes = list(classes)
        self.C, self.k, self.sharpness, self.feature_options = C, k, sharpness, features

    def fit(self, texts, titles, labels, embeddings) -> _Base:
        self.features = TextFeatures(**self.feature_options).fit(texts, titles)
        X = self.features.transform(texts, titles, embeddings)
        labels = np.asarray(labels)
        self.svm_classes = sorted(set(labels))
        self.svm = LinearSVC(C=self.C, random_state=0).fit(X, labels) if len(self.svm_classes) > 1 else None
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.neighbour_labels = _class_columns(labels, self.classes)
        return self

    def outputs(self, texts, titles, embeddings, X=None) -> np.ndarray:
        n = len(texts)
        K = len(self.classes)
        margins = np.full((n, K), -2.0)
        if self.svm is not None:
            X = self.features.transform(texts, titles, embeddings) if X is None else X
            decision = self.svm.decision_function(X)
            if decision.ndim == 1:  # two classes: one margin, positive for the second
                decision = np.stack([-decision, decision], axis=1)
            margins[:, _class_columns(self.svm.classes_, self.classes)] = decision
        else:
            margins[:, _class_columns(self.svm_classes, self.classes)] = 1.0
        queries = np.asarray(embeddings, dtype=np.float32)
        votes, nearest = np.zeros((n, K)), np.zeros((n, 1))
        for start in range(0, n, QUERY_CHUNK):  # bounded memory for large evaluations
            part = slice(start, start + QUERY_CHUNK)
            votes[part], nearest[part] = neighbour_votes(
                queries[part] @ self.embeddings.T, self.neighbour_labels, K, k=self.k, sharpness=self.sharpness
            )
        return np.hstack([margins, np.log(votes + 1e-3), nearest])


class Router:
    """fit(texts, titles, labels, embeddings) / predict_proba / route / save / load."""

    name = "stacked-svm-knn-v1"

    def __init__(
        self,
        *,
        C: float = 0.5,
        neighbours: int = 10,
        sharpness: float = 20.0,
        inner_folds: int = 5,
        meta_C: float = 1.0,
        seed: int = 0,
        features: dict | None = None,
    ):
        self.C, self.neighbours, self.sharpness = C, neighbours, sharpness
        self.inner_folds, self.meta_C, self.seed = inner_folds, meta_C, seed
        self.feature_options = features or {}
        self.classes: list[str] = []

    def _base(self) -> _Base:
        return _Base(self.classes, C=self.C, k=self.neighbours, sharpness=self.sharpness, features=self.feature_options)

    def fit(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        labels: Sequence[str],
        embeddings: np.ndarray,
        *,
        progress: Callable | None = None,
    ) -> Router:
        texts, titles, labels = list(texts), list(titles), np.asarray(list(labels), dtype=object)
        if len(texts) < 2:
            raise ValueError("The router needs at least two labelled tickets.")
        self.classes = sorted(set(labels))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # classes smaller than the folds
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            counts = np.unique(labels, return_counts=True)[1]
            folds = max(2, min(self.inner_folds, int(counts.max())))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
            steps = list(splitter.split(texts, labels))
            oof = None
            for train, held in progress(steps) if progress else steps:
                base = self._base().fit(
                    [texts[i] for i in train], [titles[i] for i in train], labels[train], embeddings[train]
                )
                out = base.outputs([texts[i] for i in held], [titles[i] for i in held], embeddings[held])
                if oof is None:
                    oof = np.zeros((len(texts), out.shape[1]))
                oof[held] = out
            self.meta = LogisticRegression(C=self.meta_C, max_iter=5000).fit(oof, labels)
            self.base = self._base().fit(texts, titles, labels, embeddings)
        return self

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """Queries x self.classes."""
        proba = self.meta.predict_proba(self.base.outputs(list(texts), list(titles), embeddings))
        out = np.zeros((len(texts), len(self.classes)))
        out[:, _class_columns(self.meta.classes_, self.classes)] = proba
        return out

    def route(self, text: str, title: str, embedding: np.ndarray, *, abstain_below: float, alternatives: int = 3):
        proba = self.predict_proba([text], [title], np.asarray(embedding).reshape(1, -1))[0]
        return route_from_proba(
            self.classes, proba, abstain_below=abstain_below, alternatives=alternatives, model=self.name
        )

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump({"format": FORMAT, "router": self}, tmp, compress=3)
        tmp.replace(path)

    @staticmethod
    def load(path: str | Path):
        stored = joblib.load(path)
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise ValueError(f"{path} is not a router saved by this version; run manage.py train_router.")
        return stored["router"]


def route_from_proba(
    classes: Sequence[str], proba: np.ndarray, *, abstain_below: float, alternatives: int, model: str
) -> Route:
    order = np.argsort(-proba)
    best = int(order[0])
    return Route(
        label=classes[best],
        confidence=float(proba[best]),
        alternatives=[(classes[int(i)], float(proba[int(i)])) for i in order[1 : 1 + alternatives]],
        abstained=bool(proba[best] < abstain_below) or len(classes) < 2,
        model=model,
        only_choice=len(classes) < 2,
    )


class DescriptionRouter:
    """Cold start: no history yet, so compare the ticket with each department's description.

    The softmax's sharpness turns cosine gaps into probabilities; these are not calibrated on
    data (there is none), so they stay modest and a lead sees most tickets until history exists.
    """

    name = "descriptions-v1"

    def __init__(self, labels: Sequence[str], description_embeddings: np.ndarray, *, sharpness: float = 10.0):
        self.classes = list(labels)
        self.embeddings = np.asarray(description_embeddings, dtype=np.float32)
        self.sharpness = sharpness

    def predict_proba(self, texts, titles, embeddings: np.ndarray) -> np.ndarray:
        scores = np.asarray(embeddings, dtype=np.float32) @ self.embeddings.T * self.sharpness
        scores -= scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        return weights / weights.sum(axis=1, keepdims=True)

    def route(self, text: str, title: str, embedding: np.ndarray, *, abstain_below: float, alternatives: int = 3):
        proba = self.predict_proba([text], [title], np.asarray(embedding).reshape(1, -1))[0]
        return route_from_proba(
            self.classes, proba, abstain_below=abstain_below, alternatives=alternatives, model=self.name
        )
