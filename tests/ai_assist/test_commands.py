"""import_tickets, train_router and both evaluations, on small fixtures with known answers."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Department
from ai_assist import retrieval, routing, store
from ai_assist.importing import IMPORT_EMAIL
from tests.ai_assist.conftest import DATA
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue(), err.getvalue()


def test_import_is_idempotent_creates_departments_and_keeps_finer_labels(embedder):
    out, err = run("import_tickets", str(DATA / "it_tickets_sample.csv"))
    assert "200 imported, 0 already there, 0 rows skipped" in out and err == ""
    assert set(Department.objects.values_list("name", flat=True)) == {f"Category {n}" for n in (4, 5, 6, 7)}
    first = Ticket.objects.get(external_id="24")  # the sample's first row: category 7, sub-categories 1 and 87
    assert (first.department.name, first.category, first.status) == ("Category 7", "1/87", Status.RESOLVED)
    assert first.requester.email == IMPORT_EMAIL and not first.requester.is_active
    assert len(retrieval.ticket_corpus().ids()) == 200  # indexed in one batch at the end
    out, _ = run("import_tickets", str(DATA / "it_tickets_sample.csv"))
    assert "0 imported, 200 already there" in out
    assert Ticket.objects.count() == 200


def test_a_bad_row_is_reported_with_its_line_and_skipped(tmp_path, embedder):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,subject,text,team\na1,VPN,vpn drops,Network\na2,,,Network\na3,Printer,jammed,\na4,Printer,jammed,Hardware\n"
    )
    out, err = run(
        "import_tickets",
        str(bad),
        "--id-col",
        "id",
        "--title-col",
        "subject",
        "--body-col",
        "text",
        "--label-col",
        "team",
        "--department-prefix",
        "",
    )
    assert "2 imported, 0 already there, 2 rows skipped" in out
    assert f"{bad}:3: skipped: empty subject and text" in err
    assert f"{bad}:4: skipped: empty team" in err
    assert set(Ticket.objects.values_list("external_id", "category")) == {("a1", ""), ("a4", "")}
    with pytest.raises(CommandError, match="no column title, body, ticket_id, category"):
        run("import_tickets", str(bad))


def test_train_router_learns_from_history_and_routes_with_it(embedder):
    out, _ = run("train_router")
    assert "Not enough history" in out
    run("import_tickets", str(DATA / "it_tickets_sample.csv"))
    out, _ = run("train_router")
    assert "Router trained on 200 tickets of 4 departments" in out
    assert store.models_path().is_file()
    models = store.current_models()
    assert models.name == "stacked-svm-knn-v1" and models.label_model is not None
    sample = Ticket.objects.get(external_id="24")
    decision = routing.route_text(title=sample.title, description=sample.description, actor=None, with_similar=False)
    assert decision.department.name.startswith("Category ")
    assert 0 < decision.confidence <= 1


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_ai_eval_route_on_a_tiny_fixture(embedder):
    out, err = run(
        "ai_eval", "route", "--train", str(DATA / "tiny_train.csv"), "--test", str(DATA / "tiny_test.csv"), "--json"
    )
    assert "tiny_test.csv:6: skipped: empty title and body" in err
    assert "accuracy" in out.splitlines()[2]  # the table comes first
    result = _last_json(out)
    assert result["test_rows"] == 4 and result["accuracy"] == 1.0 and result["macro_f1"] == 1.0
    for key in ("coverage", "accuracy_non_abstained", "ece"):
        assert 0.0 <= result[key] <= 1.0
        assert 0.0 <= result["baseline"][key] <= 1.0
    assert result["baseline"]["accuracy"] == 1.0 and result["baseline"]["model"] == "tfidf-1-2gram-logreg"
    assert result["abstain_below"] == 0.85


def test_ai_eval_similar_on_a_tiny_fixture(embedder):
    out, _ = run(
        "ai_eval", "similar", "--train", str(DATA / "tiny_train.csv"), "--test", str(DATA / "tiny_test.csv"), "--json"
    )
    result = _last_json(out)
    assert result["queries"] == 3  # the fourth test ticket's labels exist nowhere in train: skipped
    assert (result["P@1"], result["P@5"], result["MRR"]) == (1.0, 1.0, 1.0)
    assert result["MAP@20"] == pytest.approx(1.0)  # 7 relevant each, all ranked first
    assert set(result["baseline"]) >= {"P@1", "P@5", "MRR", "MAP@20", "queries"}
    assert result["baseline"]["queries"] == 3
