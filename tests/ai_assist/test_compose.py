"""The extractive composer (ai_assist.ml.compose): pure code, small fixtures with known answers."""

from __future__ import annotations

import subprocess
import sys

from ai_assist.ml.compose import Composer, Passage, compose, split_units, stem
from tests.helpers import ROOT

PASSWORD = Passage(
    id="a1",
    kind="article",
    title="Reset your password",
    text=(
        "Reset your password\n\n"
        "If you forgot your password, you can reset it yourself at any time.\n\n"
        "1. Open https://id.example.com and choose Forgot password.\n"
        "2. Enter your work email address.\n"
        "3. Follow the link in the email within 15 minutes.\n"
        "4. Choose a new password of at least 12 characters.\n\n"
        "The service desk never asks for your password."
    ),
    score=0.71,
)
VPN = Passage(
    id="a2",
    kind="article",
    title="Connect to the VPN",
    text=(
        "Connect to the VPN\n\nThe VPN client is GlobalProtect. Use the portal vpn.example.com. "
        "If the VPN drops every hour, update the client to version 6.2 or later."
    ),
    score=0.42,
)
PRINTER_TICKET = Passage(
    id="t9",
    kind="ticket",
    title="Printer on floor 3 jams",
    text="Printer on floor 3 jams\nThe printer jams on every job. Reply: we replaced the fuser unit; it prints again.",
    score=0.38,
)


def test_a_how_to_question_gets_the_steps_in_order_each_cited():
    answer = compose("How do I reset my password?", [PASSWORD, VPN])
    assert answer.answered
    assert [(c.n, c.passage.id) for c in answer.citations] == [(1, "a1")]
    lines = answer.text.splitlines()
    assert lines[0] == "Here are the steps from “Reset your password”:"
    assert lines[1:] == [
        "1. Open https://id.example.com and choose Forgot password. [1]",
        "2. Enter your work email address. [1]",
        "3. Follow the link in the email within 15 minutes. [1]",
        "4. Choose a new password of at least 12 characters. [1]",
    ]


def test_a_factual_question_gets_the_sentence_that_answers_it():
    answer = compose("my vpn keeps dropping every hour", [VPN, PASSWORD])
    assert answer.answered and [c.passage.id for c in answer.citations] == ["a2"]
    assert "update the client to version 6.2 or later. [1]" in answer.text
    assert "GlobalProtect" not in answer.text  # a sentence that does not answer stays out


def test_a_question_the_passages_do_not_answer_gets_the_honest_no_answer():
    for question in ("How do I book a parking space at the Lisbon office?", "help", "", "the and of"):
        answer = compose(question, [PASSWORD, VPN])
        assert not answer.answered and answer.citations == ()
        assert answer.text == Composer.no_answer
    assert not compose("How do I reset my password?", []).answered


def test_a_second_source_is_cited_only_when_it_adds_something_and_numbers_follow_first_use():
    lasts = Passage(
        id="a5", kind="article", title="Laptop battery life", text="A laptop battery lasts 8 hours.", score=0.6
    )
    replace = Passage(
        id="t4", kind="ticket", title="Old laptop battery", text="We replace a laptop battery after 3 years.", score=0.5
    )
    answer = compose("How long does a laptop battery last, and when do you replace it?", [lasts, replace, PASSWORD])
    assert [(c.n, c.passage.kind, c.passage.id) for c in answer.citations] == [
        (1, "article", "a5"),
        (2, "ticket", "t4"),
    ]
    assert answer.text.splitlines() == [
        "Here is what I found:",
        "A laptop battery lasts 8 hours. [1] We replace a laptop battery after 3 years. [2]",
    ]
    again = Passage(id="a6", kind="article", title="Battery", text="A laptop battery lasts about 8 hours.", score=0.4)
    alone = compose("How long does a laptop battery last?", [lasts, again])
    assert [c.passage.id for c in alone.citations] == ["a5"]  # the second one adds nothing new
    ticket = compose("the printer jams on every job", [PRINTER_TICKET, PASSWORD])
    assert [c.passage.id for c in ticket.citations] == ["t9"]
    assert ticket.text.startswith("Here is what I found in a resolved ticket:")


def test_chunks_of_one_article_share_one_number():
    first = Passage(id="a7", kind="article", title="Laptop battery", text="The battery lasts 8 hours.", score=0.6)
    second = Passage(
        id="a7", kind="article", title="Laptop battery", text="Replace the battery after 3 years.", score=0.5
    )
    answer = Composer(min_coverage=0.3).compose(
        "how long does the laptop battery last and when to replace", [first, second]
    )
    assert [c.n for c in answer.citations] == [1]
    assert "[2]" not in answer.text


def test_citation_marks_in_the_source_text_are_not_copied():
    cited = Passage(
        id="a3", kind="article", title="Guest Wi-Fi", text="The guest Wi-Fi password changes daily [4].", score=1
    )
    answer = compose("guest wi-fi password", [cited])
    assert answer.text.endswith("The guest Wi-Fi password changes daily. [1]")
    assert "[4]" not in answer.text


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


def test_the_composer_imports_no_django():
    code = "import sys, ai_assist.ml.compose; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)
