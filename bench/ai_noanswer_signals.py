"""Cheap no-answer signals, cross-validated (issue 23, point 4): `bench/ai_answer_cv.py --signals`.

The chatbot answers when the best unit of a source reaches a cosine threshold (and the
identifier, name and quantity rules pass: `ai_assist.ml.answer.Answerer`). Each signal is tried
two ways: as a second condition ("also needed": the rule answers at a cosine threshold *and* the
signal reaches its threshold) and as a rescue ("rescues": the rule answers at a higher cosine
threshold, *or* at a lower one when the signal reaches its threshold). For each fold the
thresholds are chosen on the other folds (the highest mean no-answer rate, held out and off topic,
among the settings answering at least `MIN_ANSWERED` of the answerable questions there; when none
does, the lowest cosine threshold with no signal), then measured on the fold. The rankings are
the serving path's (`--candidates served`) at the shipped BM25 weight, 4 units, 2 articles, the
name rule on. "cosine only" is the same procedure with no second gate: the fair baseline.

Signals (higher means answer), all computed from what the answer decision sees or could see:
- margin: the fused score of the first ranked article minus the second's;
- fused: the first article's fused score;
- agree@k: the article answered from is among the first k of both candidate legs (the units
  nearest the question in the vector index, the full-text search's best articles);
- coverage (IDF-weighted share of the question's terms, stemmed, without stop words, that a text
  holds), by the article answered from (title and text), by its best sentence, by the quoted
  answer; IDF over the sentences of the ranked articles ("ranked": what `Answerer` receives) or
  over every sentence of the knowledge base ("KB": a statistic the service would need to keep);
- rarest term: minus the IDF of the rarest question term the article does not hold (0 when it
  holds them all).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ai_assist.ml.answer import Answerer, Source, terms_of
from ai_assist.ml.qa_eval import holds_answer, rank_of

MIN_ANSWERED = 0.975
COSINES = [round(float(x), 2) for x in np.arange(0.36, 0.561, 0.01)]
PERCENTILES = list(range(0, 41))
KEYS = ("answered", "no_answer_held_out", "no_answer_off_topic", "R@1_answered", "answer_hit")


def idf(n: int, df: int) -> float:
    return math.log1p((n - df + 0.5) / (df + 0.5))


def coverage(question: set[str], held: set[str], weight: Callable[[str], float]) -> float:
    """The IDF-weighted share of the question's terms that `held` holds (1.0 for no terms)."""
    total = sum(weight(t) for t in question)
    return sum(weight(t) for t in question if t in held) / total if total else 1.0


@dataclass
class Outcome:
    answered: bool
    signals: dict[str, float]


def _terms(text: str) -> set[str]:
    return set(terms_of(text))


def outcomes(
    question: str,
    ranked: Sequence[Source],
    legs,
    kb_df: Counter,
    kb_units: int,
    answerer_of: dict[float, Answerer],
) -> dict[float, Outcome]:
    """Per cosine threshold: whether the rule answers, and each signal on what it answers from."""
    asked = _terms(question)
    unit_terms = {s.passage.id: [_terms(u.text) for u in s.units] for s in ranked}
    ranked_df: Counter = Counter()
    for units in unit_terms.values():
        for terms in units:
            ranked_df.update(terms)
    n_ranked = sum(len(units) for units in unit_terms.values())

    def ranked_idf(term: str) -> float:
        return idf(n_ranked, ranked_df.get(term, 0))

    def kb_idf(term: str) -> float:
        return idf(kb_units, kb_df.get(term, 0))

    scores = [s.passage.score for s in ranked]
    margin = (scores[0] - scores[1]) if len(scores) > 1 else (scores[0] if scores else 0.0)
    fused = scores[0] if scores else 0.0
    out: dict[float, Outcome] = {}
    for cosine, answerer in answerer_of.items():
        answer = answerer.answer(question, ranked)
        if not answer.composed.answered:
            out[cosine] = Outcome(False, {})
            continue
        eligible, _ = answerer.eligible(question, ranked)
        top = eligible[0]
        article = set().union(*unit_terms[top.passage.id], _terms(top.passage.title))
        best = max(top.units, key=lambda u: u.score)
        sentence = _terms(best.text)
        quoted = _terms(answer.composed.text)
        uncovered = [ranked_idf(t) for t in asked if t not in article]
        signals = {
            "margin": margin,
            "fused": fused,
            "coverage, article (ranked IDF)": coverage(asked, article, ranked_idf),
            "coverage, article (KB IDF)": coverage(asked, article, kb_idf),
            "coverage, best sentence (ranked IDF)": coverage(asked, sentence, ranked_idf),
            "coverage, best sentence (KB IDF)": coverage(asked, sentence, kb_idf),
            "coverage, quoted answer (ranked IDF)": coverage(asked, quoted, ranked_idf),
            "coverage, quoted answer (KB IDF)": coverage(asked, quoted, kb_idf),
            "rarest term (ranked IDF)": -max(uncovered, default=0.0),
        }
        if legs is not None:
            for k in (1, 3, 5):
                signals[f"agree@{k}"] = float(top.passage.id in legs.vector[:k] and top.passage.id in legs.keyword[:k])
        out[cosine] = Outcome(True, signals)
    return out


def study(
    *,
    queries,
    gold: list[set[str]],
    fold_of_query: list[int],
    held_out: list[int],
    off_topic,
    fold_of_off: list[int],
    folds: int,
    ranked: dict,
    legs: dict,
    unit_terms_of: Callable[[int | None], tuple[Counter, int]],
) -> dict:
    """The table: per signal, the cross-validated answered, no-answer (held out, off topic), R@1
    and answer_hit of the answered; `ranked` and `legs` as bench/ai_answer_cv.py builds them at
    the shipped BM25 weight; `unit_terms_of(fold)` the KB's sentence document frequencies and
    count (None: the whole corpus; k: without fold k's articles)."""
    answerer_of = {c: Answerer(min_cosine=c) for c in COSINES}
    whole_df, whole_n = unit_terms_of(None)
    fold_df = {k: unit_terms_of(k) for k in range(folds)}
    has_legs = bool(legs.get("answerable"))

    answerable = []
    for i, q in enumerate(queries):
        found = ranked["answerable"][i]
        by_cosine = outcomes(q.text, found, legs["answerable"][i] if has_legs else None, whole_df, whole_n, answerer_of)
        rank = rank_of([s.passage.id for s in found], gold[i])
        hits = {}
        for c in COSINES:
            if by_cosine[c].answered:
                hits[c] = holds_answer(answerer_of[c].answer(q.text, found).composed.text, q.answers)
        answerable.append((by_cosine, bool(rank and rank <= 1), hits))
    held = {}
    for i in held_out:
        df, n = fold_df[fold_of_query[i]]
        held[i] = outcomes(
            queries[i].text, ranked["held"][i], legs["held"][i] if has_legs else None, df, n, answerer_of
        )
    off = [
        outcomes(q.text, ranked["off"][i], legs["off"][i] if has_legs else None, whole_df, whole_n, answerer_of)
        for i, q in enumerate(off_topic)
    ]
    names = sorted({name for row in answerable for o in row[0].values() for name in o.signals})

    # As arrays: per cosine threshold, whether the rule answers, and each signal (nan: no answer).
    groups = {
        "answerable": ([r[0] for r in answerable], np.asarray(fold_of_query)),
        "held": (list(held.values()), np.asarray([fold_of_query[i] for i in held], dtype=int)),
        "off": (off, np.asarray(fold_of_off[: len(off)], dtype=int)),
    }
    said = {g: {c: np.asarray([o[c].answered for o in r], dtype=bool) for c in COSINES} for g, (r, _) in groups.items()}
    value = {
        g: {
            name: {c: np.asarray([o[c].signals.get(name, np.nan) for o in rows], dtype=float) for c in COSINES}
            for name in names
        }
        for g, (rows, _) in groups.items()
    }
    top1 = np.asarray([r[1] for r in answerable], dtype=bool)
    hit = {c: np.asarray([bool(r[2].get(c, False)) for r in answerable], dtype=bool) for c in COSINES}
    always = {g: np.ones(len(rows), dtype=bool) for g, (rows, _) in groups.items()}

    def gate(g: str, signal, cosine: float, threshold: float) -> np.ndarray:
        if signal is None:
            return said[g][cosine]
        with np.errstate(invalid="ignore"):
            return said[g][cosine] & (value[g][signal][cosine] >= threshold)

    def decide(g: str, rule: tuple) -> tuple[np.ndarray, np.ndarray]:
        """(answers, the cosine threshold each answer came from) under `rule`: ("and", signal,
        cosine, threshold): the rule at `cosine` and the signal; ("or", signal, high, low,
        threshold): the rule at `high`, or the rule at `low` with the signal."""
        if rule[0] == "and":
            _, signal, cosine, threshold = rule
            return gate(g, signal, cosine, threshold), np.full(len(always[g]), cosine)
        _, signal, high, low, threshold = rule
        first = said[g][high]
        rescued = ~first & gate(g, signal, low, threshold)
        return first | rescued, np.where(first, high, low)

    def measure(rule: tuple, mine: set[int]) -> dict:
        out = {}
        for g, (_, fold) in groups.items():
            at = np.isin(fold, list(mine))
            answered, source = decide(g, rule)
            answered = answered[at]
            if g == "answerable":
                hits = np.asarray([hit[c][i] for i, c in zip(np.flatnonzero(at), source[at], strict=True)], dtype=bool)
                n = int(answered.sum())
                out["answered"] = float(answered.mean()) if at.any() else 0.0
                out["R@1_answered"] = float(top1[at][answered].mean()) if n else 0.0
                out["answer_hit"] = float(hits[answered].mean()) if n else 0.0
            else:
                out["no_answer_held_out" if g == "held" else "no_answer_off_topic"] = (
                    float((~answered).mean()) if at.any() else 0.0
                )
        return {k: out[k] for k in KEYS}

    def thresholds(signal: str | None, mine: set[int], step: int = 1) -> list[float]:
        if signal is None:
            return [-math.inf]
        at = np.isin(groups["answerable"][1], list(mine))
        values = np.concatenate([value["answerable"][signal][c][at] for c in COSINES])
        values = values[~np.isnan(values)]
        if not len(values):
            return [-math.inf]
        return [-math.inf, *sorted({float(np.percentile(values, p)) for p in PERCENTILES[::step]})]

    def rules(signal, mine: set[int], kind: str):
        if kind == "and":
            for cosine in COSINES:
                for threshold in thresholds(signal, mine):
                    yield ("and", signal, cosine, threshold)
            return
        for high in COSINES:
            for low in COSINES:
                if low < high:
                    for threshold in thresholds(signal, mine, 5)[1:]:
                        yield ("or", signal, high, low, threshold)

    def choose(signal, mine: set[int], kind: str) -> tuple:
        best, best_key = None, None
        for rule in rules(signal, mine, kind):
            m = measure(rule, mine)
            if m["answered"] < MIN_ANSWERED:
                continue
            key = ((m["no_answer_held_out"] + m["no_answer_off_topic"]) / 2, m["answered"])
            if best_key is None or key > best_key:
                best, best_key = rule, key
        return best or ("and", None, COSINES[0], -math.inf)

    everything = set(range(folds))
    table: dict = {"separation at the shipped cosine 0.48": separation(names, answerable, held, off)}
    variants = [("cosine only (the current rule, threshold chosen by CV)", None, "and")]
    variants += [(f"{name}: also needed", name, "and") for name in names]
    variants += [(f"{name}: rescues a lower cosine", name, "or") for name in names]
    for label, signal, kind in variants:
        per_fold, chosen = [], []
        for k in range(folds):
            rule = choose(signal, everything - {k}, kind)
            chosen.append(rule[2:])
            per_fold.append(measure(rule, {k}))
        keys = list(per_fold[0])
        table[label] = {
            "mean": {key: float(np.mean([f[key] for f in per_fold])) for key in keys},
            "sd": {key: float(np.std([f[key] for f in per_fold])) for key in keys},
            "chosen": chosen,
        }
    table["shipped rule (cosine 0.48), no second gate, in-sample"] = {
        "mean": measure(("and", None, 0.48, -math.inf), everything),
        "sd": {},
        "chosen": [],
    }
    return table


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance that an answerable question's signal is above an unanswerable one's (ties half)."""
    if not positive or not negative:
        return float("nan")
    p, n = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def separation(names: list[str], answerable: list, held: dict, off: list) -> dict:
    """Among the questions the shipped rule (cosine 0.48) answers: per signal, how well it tells the
    answerable ones from those it should not answer (AUC), held out and off topic apart."""
    said = [r[0][0.48] for r in answerable if r[0][0.48].answered]
    wrong_held = [o[0.48] for o in held.values() if o[0.48].answered]
    wrong_off = [o[0.48] for o in off if o[0.48].answered]
    out = {"answered by the rule": {"answerable": len(said), "held_out": len(wrong_held), "off_topic": len(wrong_off)}}
    for name in names:
        values = [o.signals[name] for o in said]
        out[name] = {
            "AUC vs held out": auc(values, [o.signals[name] for o in wrong_held]),
            "AUC vs off topic": auc(values, [o.signals[name] for o in wrong_off]),
        }
    return out


def print_table(table: dict) -> None:
    keys = ["answered", "no_answer_held_out", "no_answer_off_topic", "R@1_answered", "answer_hit"]
    separated = table.get("separation at the shipped cosine 0.48", {})
    for name, row in separated.items():
        print(f"separation at cosine 0.48, {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    print(f"{'signal (CV mean ± sd)':<60}" + "".join(f"{key:>22}" for key in keys) + "   chosen per fold")
    for name, row in table.items():
        if name.startswith("separation"):
            continue
        cells = "".join(
            f"{row['mean'][key]:>13.3f} ± {row['sd'][key]:.3f}" if row["sd"] else f"{row['mean'][key]:>22.3f}"
            for key in keys
        )
        chosen = ", ".join("(" + ", ".join(f"{x:.3g}" for x in rule) + ")" for rule in row["chosen"])
        print(f"{name:<60}{cells}   {chosen}")
