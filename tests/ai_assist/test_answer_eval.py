"""`manage.py ai_eval answer` on a tiny BEIR-format fixture with known answers
(tests/ai_assist/data/kb_tiny, written for these tests): run as a command in its own process, as a
user would, so its throwaway database and index are its own and nothing is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ai_assist.ml import qa_eval
from tests.ai_assist.conftest import DATA
from tests.helpers import ROOT

TINY = DATA / "kb_tiny"


def test_ai_eval_answer_measures_the_chatbot_end_to_end(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "CHROMA_URL"}}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="helpdesk.settings.main")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "ai_eval",
            "answer",
            "--corpus",
            str(TINY / "corpus.jsonl"),
            "--queries",
            str(TINY / "queries.jsonl"),
            "--qrels",
            str(TINY / "qrels.tsv"),
            "--unanswerable",
            str(TINY / "unanswerable.jsonl"),
            "--json",
            "-v0",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table, last = result.stdout.rsplit("\n", 2)[0], result.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert "R@1" in table and "baseline" in table and "citation_valid" in table
    assert (figures["articles"], figures["queries"], figures["unanswerable_queries"]) == (5, 6, 3)
    assert figures["R@1"] == figures["R@5"] == figures["MRR@10"] == 1.0
    assert figures["answered"] == 1.0 and figures["answer_hit"] == 1.0
    assert figures["no_answer"] == 1.0 and figures["citation_valid"] == 1.0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert set(figures["baseline"]) == {"R@1", "R@5", "MRR@10", "model"}
    assert not (tmp_path / "ai").exists()  # a throwaway index, not VAR_DIR's


def test_a_file_that_is_not_beir_names_its_line(tmp_path):
    bad = tmp_path / "queries.jsonl"
    bad.write_text('{"_id": "q1", "text": "fine"}\nnot json\n')
    with pytest.raises(qa_eval.BadFile, match=r"queries.jsonl:2: not JSON"):
        qa_eval.read_jsonl(bad, ("_id", "text"))
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query\tdoc\n")
    with pytest.raises(qa_eval.BadFile, match="header"):
        qa_eval.read_qrels(qrels)


def test_measures_of_a_ranking_and_of_an_answer():
    assert qa_eval.ranking_measures([["b", "a"], ["c"]], [{"a"}, {"a"}]) == {"R@1": 0.0, "R@5": 0.5, "MRR@10": 0.25}
    assert qa_eval.holds_answer("The  colour printer is HERON [1].", ["heron"])
    assert not qa_eval.holds_answer("No answer.", ["heron", ""])
