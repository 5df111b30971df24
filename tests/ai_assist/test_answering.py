"""The answer pipeline's pure pieces (ai_assist.ml.markers, ai_assist.ml.passages, ai_assist.ml.text)
and its citation check on plain text: one marker parser for every text, and the text preparation
the extractive answerer cuts units with."""

from __future__ import annotations

import subprocess
import sys

from ai_assist.answering.citations import keep_citations, only_listed
from ai_assist.ml import markers
from ai_assist.ml.passages import Passage
from ai_assist.ml.text import split_units, stem
from tests.helpers import ROOT

PASSAGES = [Passage(f"a{n}", "article", f"Article {n}", "", 0.5) for n in (1, 2)]


def test_the_one_parser_reads_markers_in_order_of_first_use():
    assert markers.numbers_in("Open the portal [2]. Then sign in [1], as before [2].") == [2, 1]
    assert markers.numbers_in("Error [404] and a list [x]") == []  # not a marker: 1-2 digits only


def test_a_removed_marker_takes_its_space_with_it():
    kept = markers.keep_only("Open the portal [1]. Ask a lead [2].", lambda n: n == 1)
    assert kept == "Open the portal [1]. Ask a lead."


def test_a_quoted_unit_is_cited_once_with_its_own_marks_removed():
    cited = markers.cite("The guest Wi-Fi password changes daily [4].", 1)
    assert cited == "The guest Wi-Fi password changes daily. [1]"


def test_a_model_keeps_only_markers_naming_a_passage_it_was_shown():
    text, cited = keep_citations("Use the portal [2], or call HR [7]. See [1].", PASSAGES)
    assert text == "Use the portal [2], or call HR. See [1]."
    assert [(n, p.id) for n, p in cited] == [(2, "a2"), (1, "a1")]


def test_a_text_keeps_only_the_markers_of_its_citations():
    assert only_listed("Steps [1] and more [2].", [{"n": 2}]) == "Steps and more [2]."
    assert only_listed("A summary that says [3].", []) == "A summary that says."


def test_units_and_stems():
    assert split_units("# Title\nOne. Two!\n- a step\n  that goes on\n- next\nAfter.") == [
        ("Title", None),
        ("One.", None),
        ("Two!", None),
        ("a step that goes on", 1),
        ("next", 1),
        ("After.", None),
    ]
    assert [stem(w) for w in ("passwords", "resetting", "printed", "policies", "class")] == [
        "password",
        "reset",
        "print",
        "policy",
        "class",
    ]


def test_the_pure_pieces_import_no_django():
    code = (
        "import sys, ai_assist.ml.markers, ai_assist.ml.passages, ai_assist.ml.answer; "
        "assert not any(m.startswith('django') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)
