"""Evaluation measures, as the data README defines them (routing and similar tickets)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean F1 over the classes present in the truth or the predictions."""
    from sklearn.metrics import f1_score

    return float(f1_score(list(truth), list(predicted), average="macro", zero_division=0))


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """Expected calibration error: equal-width bins over the top probability, weighted gap
    between mean confidence and accuracy."""
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    if not len(conf):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 goes to the first bin.
    index = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(conf[members].mean() - hit[members].mean())
    return float(total)


def routing_report(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], *, abstain_below: float
) -> dict:
    conf = np.asarray(confidence, dtype=float)
    correct = np.array([t == p for t, p in zip(truth, predicted, strict=True)])
    kept = conf >= abstain_below
    return {
        "accuracy": float(correct.mean()) if len(correct) else 0.0,
        "macro_f1": macro_f1(truth, predicted),
        "coverage": float(kept.mean()) if len(kept) else 0.0,
        "accuracy_non_abstained": float(correct[kept].mean()) if kept.any() else 0.0,
        "ece": ece(conf, correct),
        "tickets": len(correct),
    }


def ranking_report(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]], *, k_map: int = 20) -> dict:
    """P@1, P@5, MRR and MAP@k for ranked id lists against sets of relevant ids. Queries with
    no relevant item are skipped (and not counted in `queries`)."""
    p1, p5, rr, ap = [], [], [], []
    for ranked, rel in zip(rankings, relevant, strict=True):
        if not rel:
            continue
        hits = [item in rel for item in ranked]
        p1.append(float(hits[0]) if hits else 0.0)
        p5.append(sum(hits[:5]) / 5)
        first = next((i for i, hit in enumerate(hits) if hit), None)
        rr.append(0.0 if first is None else 1.0 / (first + 1))
        found, precision_sum = 0, 0.0
        for i, hit in enumerate(hits[:k_map]):
            if hit:
                found += 1
                precision_sum += found / (i + 1)
        ap.append(precision_sum / min(k_map, len(rel)))
    return {
        "P@1": float(np.mean(p1)) if p1 else 0.0,
        "P@5": float(np.mean(p5)) if p5 else 0.0,
        "MRR": float(np.mean(rr)) if rr else 0.0,
        f"MAP@{k_map}": float(np.mean(ap)) if ap else 0.0,
        "queries": len(p1),
    }
