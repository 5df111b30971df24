"""Measures of grounded answers on a BEIR-format question set (`manage.py ai_eval answer`, the
cross-validation in bench/ai_answer_cv.py): reading the files, ranking and answer measures, and
the in-run baseline (plain BM25 over whole articles). Pure code (no Django).

- corpus.jsonl: `{_id, title, text}` per article; queries.jsonl: `{_id, text}` and optionally
  `answer` and `alternative_answers`; qrels.tsv: a header, then `query-id  corpus-id  score`
  (score > 0 marks the articles that answer).
- R@k: a gold article among the first k ranked sources; MRR@10: 1 / the rank of the first gold
  one, 0 past 10; answer_hit: the answer's text holds the gold answer or an accepted variant
  (compared case-folded, spaces collapsed), over the answered questions that have one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ai_assist.ml.bm25 import BM25


class BadFile(ValueError):
    """A file that is not in the expected format (its path and line in the message)."""


@dataclass
class Query:
    id: str
    text: str
    answers: tuple[str, ...] = ()


@dataclass
class QaSet:
    corpus: list[dict]  # {_id, title, text}
    queries: list[Query]
    qrels: dict[str, set[str]] = field(default_factory=dict)  # query id -> gold corpus ids


def read_jsonl(path: Path, required: Sequence[str]) -> list[dict]:
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadFile(f"{path}:{line_number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or any(not isinstance(row.get(key), str) for key in required):
                raise BadFile(f"{path}:{line_number}: needs the string fields {', '.join(required)}")
            rows.append(row)
    return rows


def read_qrels(path: Path) -> dict[str, set[str]]:
    qrels: dict[str, set[str]] = {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["query-id", "corpus-id"]:
            raise BadFile(f"{path}:1: the header must be: query-id, corpus-id, score (tab-separated)")
        for line_number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise BadFile(f"{path}:{line_number}: needs query-id, corpus-id and score")
            try:
                score = float(row[2]) if len(row) > 2 and row[2].strip() else 1.0
            except ValueError:
                raise BadFile(f"{path}:{line_number}: the score must be a number") from None
            if score > 0:
                qrels.setdefault(row[0].strip(), set()).add(row[1].strip())
    return qrels


def queries_of(rows: Iterable[dict]) -> list[Query]:
    out = []
    for row in rows:
        answers = [row.get("answer"), *(row.get("alternative_answers") or [])]
        out.append(Query(str(row["_id"]), row["text"], tuple(a for a in answers if isinstance(a, str) and a.strip())))
    return out


def read_set(corpus: Path, queries: Path, qrels: Path | None) -> QaSet:
    return QaSet(
        corpus=read_jsonl(corpus, ("_id", "text")),
        queries=queries_of(read_jsonl(queries, ("_id", "text"))),
        qrels=read_qrels(qrels) if qrels is not None else {},
    )


def normalised(text: str) -> str:
    return " ".join((text or "").casefold().split())


def holds_answer(text: str, answers: Sequence[str]) -> bool:
    haystack = normalised(text)
    return any(normalised(answer) and normalised(answer) in haystack for answer in answers)


def rank_of(ranked: Sequence[str], gold: set[str]) -> int | None:
    """1-based rank of the first gold id, or None."""
    for rank, item in enumerate(ranked, start=1):
        if item in gold:
            return rank
    return None


def ranking_measures(rankings: Sequence[Sequence[str]], golds: Sequence[set[str]]) -> dict[str, float]:
    ranks = [rank_of(ranked, gold) for ranked, gold in zip(rankings, golds, strict=True)]
    n = len(ranks) or 1
    return {
        "R@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "R@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "MRR@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def bm25_baseline(corpus: Sequence[dict], queries: Sequence[Query], golds: Sequence[set[str]]) -> dict[str, float]:
    """Plain BM25 (Okapi, rank_bm25's formula) over whole articles (title and text), ranked."""
    index = BM25().fit([f"{row.get('title') or ''}\n{row['text']}" for row in corpus])
    ids = [str(row["_id"]) for row in corpus]
    rankings = []
    for query in queries:
        scores = index.scores(query.text)
        rankings.append([ids[i] for i in np.argsort(-scores, kind="stable")[:10]])
    return {**ranking_measures(rankings, golds), "model": "bm25-whole-articles"}


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0
