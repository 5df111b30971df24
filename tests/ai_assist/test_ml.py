"""The pure library: BM25, metrics, the router, the label model and the ranker (no database)."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ai_assist.ml import metrics
from ai_assist.ml.bm25 import BM25
from ai_assist.ml.data import Columns, read_table
from ai_assist.ml.router import DescriptionRouter, Router
from ai_assist.ml.similar import LabelModel, SimilarRanker, label_levels
from ai_assist.ml.text import tokens
from tests.ai_assist.conftest import DATA

DOCS = [
    "printer jammed on floor two",
    "vpn disconnects every hour vpn",
    "reset my password please",
    "printer out of toner",
    "the vpn client certificate expired",
]


def test_bm25_scores_equal_rank_bm25():
    ours = BM25().fit(DOCS)
    reference = BM25Okapi([tokens(doc) for doc in DOCS])
    for query in ["printer toner", "vpn vpn expired", "nothing matches", "password printer vpn"]:
        np.testing.assert_allclose(ours.scores(query), reference.get_scores(tokens(query)), atol=1e-9)


def test_ece_of_perfect_and_overconfident_predictions():
    assert metrics.ece([1.0, 1.0], [True, True]) == 0.0
    assert metrics.ece([0.9, 0.9, 0.9, 0.9], [True, False, True, False]) == pytest.approx(0.4)
    # two bins: (0.2 conf, 0 right) and (0.8 conf, all right) -> 0.5 * 0.2 + 0.5 * 0.2
    assert metrics.ece([0.2, 0.8], [False, True]) == pytest.approx(0.2)


def test_routing_report_counts_abstentions():
    report = metrics.routing_report(
        ["a", "a", "b", "b"], ["a", "b", "b", "b"], [0.9, 0.5, 0.95, 0.6], abstain_below=0.8
    )
    assert report["accuracy"] == 0.75
    assert report["coverage"] == 0.5
    assert report["accuracy_non_abstained"] == 1.0


def test_ranking_report_known_answers():
    # query 1: relevant {1, 3}: ranked 1 (hit), 2, 3 (hit) -> AP = (1/1 + 2/3) / 2
    # query 2: relevant {9}: ranked 5, 9 -> RR 1/2, AP = (1/2) / 1
    # query 3: no relevant item: skipped
    report = metrics.ranking_report([[1, 2, 3], [5, 9], [4]], [{1, 3}, {9}, set()])
    assert report["queries"] == 2
    assert report["P@1"] == 0.5
    assert report["MRR"] == pytest.approx((1 + 0.5) / 2)
    assert report["MAP@20"] == pytest.approx(((1 + 2 / 3) / 2 + 0.5) / 2)
    assert report["P@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)


def test_read_table_reports_bad_rows_with_line_numbers():
    table = read_table(DATA / "tiny_test.csv", Columns())
    assert [row.external_id for row in table.rows] == ["100", "101", "102", "103"]
    assert table.errors == [(6, "empty title and body")]
    assert table.rows[0].fine_label == "1|10|100" and table.rows[0].category == "10/100"


def test_label_levels():
    assert label_levels("4|2|21") == ["4", "4|2", "4|2|21"]


def _tiny(embedder):
    table = read_table(DATA / "tiny_train.csv")
    return table, embedder.embed(table.texts)


def test_router_learns_calibrates_and_survives_a_round_trip(embedder, tmp_path):
    table, vectors = _tiny(embedder)
    router = Router().fit(table.texts, [r.title for r in table.rows], table.labels, vectors)
    query = "the printer is jammed again"
    route = router.route(query, "printer", embedder.embed([query])[0], abstain_below=0.5)
    assert route.label == "1" and not route.abstained
    assert 0.5 < route.confidence <= 1.0
    assert {label for label, _ in route.alternatives} == {"2", "3"}
    proba = router.predict_proba(table.texts, [r.title for r in table.rows], vectors)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    router.save(tmp_path / "router.joblib")
    again = Router.load(tmp_path / "router.joblib")
    np.testing.assert_allclose(
        again.predict_proba(table.texts[:3], ["", "", ""], vectors[:3]),
        router.predict_proba(table.texts[:3], ["", "", ""], vectors[:3]),
    )
    assert router.route(query, "printer", embedder.embed([query])[0], abstain_below=1.0).abstained


def test_description_router_is_the_cold_start(embedder):
    router = DescriptionRouter(
        ["net", "hw"], embedder.embed(["VPN, Wi-Fi and the office network.", "Laptops, printers and monitors."])
    )
    route = router.route("vpn is down", "", embedder.embed(["vpn is down"])[0], abstain_below=0.5)
    assert route.label == "net"


def test_ranker_ranks_the_same_kind_first_and_never_outside_the_mask(embedder):
    table, vectors = _tiny(embedder)
    titles = [row.title for row in table.rows]
    model = LabelModel().fit(table.texts, titles, table.fine_labels, vectors)
    ranker = SimilarRanker(model).set_corpus(table.texts, table.fine_labels, vectors)
    query = "vpn connection fails at home"
    ranked = ranker.rank(query, "vpn", embedder.embed([query])[0], limit=5)
    assert all(table.fine_labels[row] == "2|20|200" for row, _ in ranked)
    mask = np.array([label != "2|20|200" for label in table.fine_labels])
    hidden = ranker.rank(query, "vpn", embedder.embed([query])[0], mask=mask, limit=None)
    assert len(hidden) == mask.sum()
    assert all(mask[row] for row, _ in hidden)
    text_only = SimilarRanker(None).set_corpus(table.texts, table.fine_labels, vectors)
    assert table.fine_labels[text_only.rank(query, "vpn", embedder.embed([query])[0], limit=1)[0][0]] == "2|20|200"


def test_ranker_scores_read_as_probabilities_and_every_kind_appears_after_the_planned_places(embedder):
    table, vectors = _tiny(embedder)
    titles = [row.title for row in table.rows]
    model = LabelModel().fit(table.texts, titles, table.fine_labels, vectors)
    query = "vpn connection fails at home"
    vector = embedder.embed([query])[0]
    for ranker in (SimilarRanker(model), SimilarRanker(None)):
        ranked = ranker.set_corpus(table.texts, table.fine_labels, vectors).rank(query, "vpn", vector, limit=None)
        assert len(ranked) == len(table.texts)
        assert all(0.0 <= score <= 1.0 for _, score in ranked)
    # Past the 20 planned places, one ticket of each kind not shown yet comes before the rest.
    sample = read_table(DATA / "it_tickets_sample.csv")
    sample_vectors = embedder.embed(sample.texts)
    sample_model = LabelModel().fit(
        sample.texts, [row.title for row in sample.rows], sample.fine_labels, sample_vectors
    )
    ranker = SimilarRanker(sample_model).set_corpus(sample.texts, sample.fine_labels, sample_vectors)
    kinds = [sample.fine_labels[row] for row, _ in ranker.rank(query, "vpn", vector, limit=None)]
    missing = set(kinds) - set(kinds[:20])
    assert len(missing) > 5
    assert set(kinds[20 : 20 + len(missing)]) == missing


def test_ranker_handles_tickets_of_unknown_or_untrained_kinds(embedder):
    # Triage tickets (no label yet) and a department the model has not been trained on yet.
    table, vectors = _tiny(embedder)
    titles = [row.title for row in table.rows]
    model = LabelModel().fit(table.texts, titles, table.fine_labels, vectors)
    labels = list(table.fine_labels)
    labels[0], labels[1] = "", "new-department"
    ranker = SimilarRanker(model).set_corpus(table.texts, labels, vectors)
    query = "vpn connection fails at home"
    ranked = ranker.rank(query, "vpn", embedder.embed([query])[0], limit=None)
    assert len(ranked) == len(labels) and {0, 1} <= {row for row, _ in ranked}
    assert table.fine_labels[ranked[0][0]] == "2|20|200"
