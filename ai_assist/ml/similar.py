"""Similar past tickets: hybrid retrieval (BM25 + embedding cosine) plus what the past tickets'
known labels say.

Two tickets are similar when they carry the same fine label (for the shared data: category,
sub_category1 and sub_category2; in the helpdesk: department and category). Text similarity
alone finds near-duplicates but ranks many look-alikes of other kinds first, so the ranker also
predicts the query's fine label (`LabelModel`: linear SVMs over the fine label and each coarser
level, with probabilities calibrated by an inner cross-validation) and scores each candidate by
how likely *its* label is for the query. The list is then planned place by place: each place
goes to the label group that gives the whole list (completed likeliest-group-first) the highest
expected P@1 + P@5 + MRR + MAP@20 (a sure label fills the list; an unsure one leaves room for
the runner-up). Past the planned places only the first hit still counts, so one ticket of each
group not shown yet comes next, likeliest first. Within a group, fused text similarity
(cosine + normalised BM25) orders the tickets, so near-duplicates come first.

Ranking runs over a candidate mask computed before ranking (the caller's visibility): rows the
caller may not see are never scored against each other or returned.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import log_softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from ai_assist.ml.bm25 import BM25
from ai_assist.ml.features import TextFeatures

LEVEL_SEPARATOR = "|"
UNKNOWN = ""  # a ticket whose label nobody knows yet
PLAN_OPTIONS = 4  # groups the list planner considers for each place (the likeliest ones)
PLAN_GROUPS = 30  # groups whose expected measures the planner counts


def label_levels(label: str) -> list[str]:
    """ "4|2|21" -> ["4", "4|2", "4|2|21"]: each prefix is a coarser label."""
    parts = label.split(LEVEL_SEPARATOR)
    return [LEVEL_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


class LabelModel:
    """Probabilities of every known fine label for a query text."""

    def __init__(
        self,
        *,
        C: float = 0.2,
        level_weight: float = 0.5,
        calibration_folds: int = 3,
        seed: int = 0,
        features: dict | None = None,
    ):
        self.C, self.level_weight = C, level_weight
        self.calibration_folds, self.seed = calibration_folds, seed
        self.feature_options = {"char": False, **(features or {})}
        self.labels: list[str] = []
        self.temperature = 1.0

    def fit(self, texts, titles, labels, embeddings, *, progress=None) -> LabelModel:
        texts, titles, labels = list(texts), list(titles), list(labels)
        embeddings = np.asarray(embeddings, dtype=np.float32)
        known = [i for i, label in enumerate(labels) if label != UNKNOWN]
        texts, titles = [texts[i] for i in known], [titles[i] for i in known]
        labels, embeddings = [labels[i] for i in known], embeddings[known]
        steps = []
        if self.calibration_folds > 1 and len(set(labels)) > 1 and len(labels) >= 2 * self.calibration_folds:
            steps = list(KFold(self.calibration_folds, shuffle=True, random_state=self.seed).split(texts))
        scores, truth = [], []
        for train, held in progress(steps) if progress else steps:
            part = self._fit_part(
                [texts[i] for i in train], [titles[i] for i in train], [labels[i] for i in train], embeddings[train]
            )
            raw = part._raw_scores([texts[i] for i in held], [titles[i] for i in held], embeddings[held])
            for row, i in enumerate(held):
                if labels[i] in part.index:  # a label the part never saw cannot be scored
                    scores.append(raw[row])
                    truth.append(part.index[labels[i]])
        self._fit_on(texts, titles, labels, embeddings)
        if scores:
            self.temperature = _fit_temperature(scores, truth)
        return self

    def _fit_part(self, texts, titles, labels, embeddings) -> LabelModel:
        part = LabelModel(C=self.C, level_weight=self.level_weight, calibration_folds=0, features=self.feature_options)
        part._fit_on(texts, titles, labels, embeddings)
        return part

    def _fit_on(self, texts, titles, labels, embeddings) -> None:
        self.labels = sorted(set(labels))
        self.index = {label: i for i, label in enumerate(self.labels)}
        depth = max((len(label_levels(label)) for label in self.labels), default=0)
        self.features = TextFeatures(**self.feature_options).fit(texts, titles)
        X = self.features.transform(texts, titles, embeddings)
        self.svms: list[tuple[LinearSVC | None, np.ndarray]] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            for level in range(depth):
                of_label = [label_levels(label)[min(level, len(label_levels(label)) - 1)] for label in self.labels]
                target = [of_label[self.index[label]] for label in labels]
                if len(set(target)) < 2:
                    self.svms.append((None, np.zeros(len(self.labels), dtype=int)))
                    continue
                svm = LinearSVC(C=self.C, random_state=0).fit(X, target)
                column = {c: j for j, c in enumerate(svm.classes_)}
                self.svms.append((svm, np.array([column[c] for c in of_label])))

    def _raw_scores(self, texts, titles, embeddings) -> np.ndarray:
        n, L = len(texts), len(self.labels)
        total = np.zeros((n, L))
        if L == 0:
            return total
        X = self.features.transform(texts, titles, embeddings)
        for level, (svm, columns) in enumerate(self.svms):
            if svm is None:
                continue
            decision = svm.decision_function(X)
            if decision.ndim == 1:
                decision = np.stack([-decision, decision], axis=1)
            weight = 1.0 if level == len(self.svms) - 1 else self.level_weight
            total += weight * decision[:, columns]
        return total

    def log_proba(self, texts, titles, embeddings) -> np.ndarray:
        """Queries x self.labels, calibrated log-probabilities."""
        raw = self._raw_scores(list(texts), list(titles), np.asarray(embeddings, dtype=np.float32))
        if raw.shape[1] == 0:
            return raw
        return log_softmax(self.temperature * raw, axis=1)


def _fit_temperature(scores: list[np.ndarray], truth: list[int]) -> float:
    """The softmax sharpness that minimises the out-of-fold negative log-likelihood."""
    best, best_nll = 1.0, np.inf
    for a in np.geomspace(0.25, 32, 50):
        nll = 0.0
        for raw, t in zip(scores, truth, strict=True):
            z = a * raw
            nll += np.logaddexp.reduce(z) - z[t]
        if nll < best_nll:
            best, best_nll = float(a), nll
    return best


@dataclass
class Weights:
    """Expected-gain weights of the measures the list should do well on, and the text fusion."""

    first_hit: float = 1.0  # MRR and P@1
    top5: float = 1.0  # P@5
    precision20: float = 1.0  # MAP@20
    bm25: float = 0.5  # weight of normalised BM25 beside cosine in the text similarity
    duplicate: float = 0.97  # embedding cosine from which a past ticket is the same text: it comes first


class SimilarRanker:
    """`label_model` (may be None: text only) + a corpus of past tickets set with `set_corpus`."""

    name = "hybrid-bm25-cosine-labels-v2"

    def __init__(self, label_model: LabelModel | None = None, *, weights: Weights | None = None):
        self.label_model = label_model if label_model is not None and label_model.labels else None
        self.weights = weights or Weights()
        self.size = 0

    def set_corpus(self, texts: Sequence[str], labels: Sequence[str], embeddings: np.ndarray) -> SimilarRanker:
        self.size = len(texts)
        self.bm25 = BM25().fit(list(texts), normalised=True)  # ticket texts: normalise'd
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        if self.embeddings.ndim != 2:
            self.embeddings = self.embeddings.reshape(len(texts), -1) if len(texts) else np.zeros((0, 1), np.float32)
        self._group_matrix = None
        groups: dict[str, int] = {}
        self.group = np.array([groups.setdefault(label, len(groups)) for label in labels], dtype=np.int64)
        self.group_labels = list(groups)
        if self.label_model is not None:
            # For each corpus label: the model's labels it stands for (itself, or its refinements
            # when only a coarser label is known, e.g. the department without a category).
            model_index = self.label_model.index
            self.group_members = []
            for label in self.group_labels:
                if label in model_index:
                    self.group_members.append(np.array([model_index[label]]))
                elif label != UNKNOWN:
                    prefix = label + LEVEL_SEPARATOR
                    self.group_members.append(
                        np.array([i for name, i in model_index.items() if name.startswith(prefix)], dtype=np.int64)
                    )
                else:
                    self.group_members.append(np.array([], dtype=np.int64))
        return self

    def text_similarity(self, text: str, embedding: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Cosine + weighted BM25 of `rows` (all when None), BM25 normalised by its best score
        among those rows only: a score never depends on tickets the caller may not see."""
        cosine = self.embeddings @ np.asarray(embedding, dtype=np.float32).ravel()
        keyword = self.bm25.scores(text)
        if rows is not None:
            cosine, keyword = cosine[rows], keyword[rows]
        top = keyword.max() if len(keyword) else 0.0
        return cosine + (self.weights.bm25 * keyword / top if top > 0 else 0.0)

    def group_probability(self, log_proba: np.ndarray) -> np.ndarray:
        """Probability that the query shares each corpus label (averaged over refinements for a
        coarse label; the uninformed prior for an unknown one)."""
        proba = np.exp(log_proba)
        if self._group_matrix is None:
            rows, cols, weights = [], [], []
            for g, members in enumerate(self.group_members):
                if not len(members):
                    continue  # an unknown label: the prior, below
                rows += [g] * len(members)
                cols += list(members)
                weights += [1.0 / len(members)] * len(members)
            self._group_matrix = sparse.csr_matrix((weights, (rows, cols)), shape=(len(self.group_members), len(proba)))
            self._unknown_groups = np.array([len(members) == 0 for members in self.group_members])
        out = self._group_matrix @ proba
        out[self._unknown_groups] = 1.0 / max(len(proba), 1)
        return out

    def rank(
        self,
        text: str,
        title: str,
        embedding: np.ndarray,
        *,
        mask: np.ndarray | None = None,
        limit: int | None = 10,
        log_proba: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """(row, score) of the best `limit` rows (all when None) among those `mask` allows, in
        score order: near-duplicates of the text first (embedding cosine at least
        `weights.duplicate`, the closest first, scored by their text similarity), then the
        planned list, each score capped by the one before it (a runner-up kind placed early
        lowers what follows), so scores never rise down the list."""
        rows = np.arange(self.size) if mask is None else np.flatnonzero(mask)
        if not len(rows):
            return []
        cosine = self.embeddings[rows] @ np.asarray(embedding, dtype=np.float32).ravel()
        duplicates = np.flatnonzero(cosine >= self.weights.duplicate)
        if len(duplicates) and self.label_model is not None:
            first = self._rank_text(text, embedding, rows[duplicates], limit)
            if limit and len(first) >= limit:
                return first
            keep = np.ones(self.size, dtype=bool) if mask is None else mask.copy()
            keep[rows[duplicates]] = False
            rest = self.rank(text, title, embedding, mask=keep, limit=(limit - len(first)) if limit else None)
            return _descending(first + rest)
        similarity = self.text_similarity(text, embedding, rows)
        if self.label_model is None:
            order = np.lexsort((rows, -similarity))
            order = order[:limit] if limit else order
            # What a caller sees: the fused similarity on a 0-1 scale.
            score = np.clip(similarity / (1.0 + self.weights.bm25), 0.0, 1.0)
            return [(int(rows[i]), float(score[i])) for i in order]
        if log_proba is None:
            log_proba = self.label_model.log_proba([text], [title], np.asarray(embedding).reshape(1, -1))[0]
        group_p = self.group_probability(log_proba)
        groups = self.group[rows]
        present, local = np.unique(groups, return_inverse=True)
        p = group_p[present]
        p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
        # Within each group, best text similarity first.
        order = np.lexsort((rows, -similarity, local))
        starts = np.searchsorted(local[order], np.arange(len(present)))
        counts = np.bincount(local, minlength=len(present))
        slots = self._slots(p, counts, min(len(rows), limit or len(rows), 20))
        used = np.zeros(len(present), dtype=np.int64)
        ranked = []
        for g in slots:
            ranked.append(order[starts[g] + used[g]])
            used[g] += 1
        score = np.clip(p[local], 0.0, 1.0)  # what a caller sees: the probability of the same kind
        if limit and len(ranked) >= limit:
            return [(int(rows[i]), float(score[i])) for i in ranked[:limit]]
        # Past the planned places only the first hit still counts (MRR): first one ticket (the
        # best by text) of each label group not shown yet, likeliest group first; then the rest
        # by label probability and text similarity.
        taken = np.zeros(len(rows), dtype=bool)
        taken[ranked] = True
        unplaced = np.flatnonzero(used == 0)
        unplaced = unplaced[np.lexsort((unplaced, -p[unplaced]))]
        heads = order[starts[unplaced]]
        taken[heads] = True
        rest = np.flatnonzero(~taken)
        rest = rest[np.lexsort((rows[rest], -similarity[rest], -p[local[rest]]))]
        ranked = np.concatenate([np.asarray(ranked, dtype=np.int64), heads, rest])
        ranked = ranked[:limit] if limit else ranked
        return _descending([(int(rows[i]), float(score[i])) for i in ranked])

    def _rank_text(self, text: str, embedding: np.ndarray, rows: np.ndarray, limit: int | None):
        """`rows` by fused text similarity alone (BM25 normalised among them), scored 0-1."""
        similarity = self.text_similarity(text, embedding, rows)
        order = np.lexsort((rows, -similarity))
        order = order[:limit] if limit else order
        score = np.clip(similarity / (1.0 + self.weights.bm25), 0.0, 1.0)
        return [(int(rows[i]), float(score[i])) for i in order]

    def _slots(self, p: np.ndarray, counts: np.ndarray, positions: int) -> list[int]:
        """Place by place, the group whose choice gives the whole list (completed by filling the
        likeliest groups in order) the highest expected P@1 + P@5 + MRR + MAP@20. The options are
        the PLAN_OPTIONS likeliest groups; the groups the list leaves out count for MRR at the
        places the tail gives them (one head per group, likeliest first)."""
        order = np.lexsort((np.arange(len(p)), -p))
        reach = int(np.searchsorted(np.cumsum(counts[order]), positions) + 1)
        fill = order[:reach]
        options_all = order[: min(PLAN_OPTIONS, len(order))]
        groups = order[: max(PLAN_GROUPS, reach)]
        used = np.zeros(len(p), dtype=np.int64)
        slots: list[int] = []
        for r in range(positions):
            options = options_all[used[options_all] < counts[options_all]]
            if not len(options):
                options = fill[used[fill] < counts[fill]][:1]
            lists = np.empty((len(options), positions), dtype=np.int64)
            for i, g in enumerate(options):
                used[g] += 1
                lists[i] = np.concatenate([slots, [g], np.repeat(fill, counts[fill] - used[fill])[: positions - r - 1]])
                used[g] -= 1
            g = int(options[int(np.argmax(self._expected(lists, p, counts, groups)))])
            slots.append(g)
            used[g] += 1
        return slots

    def _expected(self, lists: np.ndarray, p: np.ndarray, counts: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Expected weighted measures of each row of `lists` (group per place) when the query's
        group is drawn from `p` over `groups` (ordered by p, descending)."""
        w = self.weights
        member = lists[None, :, :] == groups[:, None, None]  # groups x lists x places
        places = np.arange(1, lists.shape[1] + 1)
        relevant = np.minimum(20, counts[groups])[:, None]
        average_precision = (member * np.cumsum(member, axis=2) / places).sum(axis=2) / relevant
        shown = member.any(axis=2)
        reciprocal = np.where(
            shown, 1.0 / (member.argmax(axis=2) + 1), 1.0 / (lists.shape[1] + np.cumsum(~shown, axis=0))
        )
        value = (
            w.first_hit * (member[:, :, 0] + reciprocal)
            + w.top5 * member[:, :, :5].sum(axis=2) / 5
            + w.precision20 * average_precision
        )
        return p[groups] @ value


def _descending(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The same order, each score capped by the one before it."""
    out, cap = [], 1.0
    for row, score in ranked:
        cap = min(cap, score)
        out.append((row, cap))
    return out
