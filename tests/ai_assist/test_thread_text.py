"""Pure writing helpers of the agent tools: the word edit distance, the thread summary, the
article drafted from a thread (no Django, no database)."""

from __future__ import annotations

import random

from ai_assist.ml.textdiff import word_edit_distance
from ai_assist.ml.thread import Message, Thread, article_from_thread, open_question, summarise


def reference_distance(before: str, after: str) -> int:
    a, b = before.split(), after.split()
    previous = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other)))
        previous = current
    return previous[-1]


def test_the_word_edit_distance_is_levenshtein_over_words():
    rng = random.Random(7)
    for _ in range(300):
        a = " ".join(rng.choice("abcde") for _ in range(rng.randint(0, 12)))
        b = " ".join(rng.choice("abcde") for _ in range(rng.randint(0, 12)))
        assert word_edit_distance(a, b) == reference_distance(a, b), (a, b)
    assert word_edit_distance("Restart  the\nlaptop.", "Restart the laptop.") == 0  # white space does not count
    assert word_edit_distance("Restart the laptop.", "restart the laptop") == 2  # case and punctuation do


THREAD = Thread(
    title="VPN drops every hour",
    description="Since Monday the VPN disconnects every hour. How can I keep it connected?",
    requester="Ada",
    status="Open",
    priority="high",
    resolved=False,
    assignee="Grace",
    department="Network",
    messages=(
        Message("Grace", False, "Please restart the VPN client. Did it help?"),
        Message("Grace", False, "Gateway certificate expired on the Lisbon node.", internal=True),
        Message("Ada", True, "I reinstalled the client, it still drops. What else can I try?"),
    ),
)


def test_a_summary_has_the_issue_what_was_tried_the_notes_and_the_open_question():
    text = summarise(THREAD).text
    assert text.splitlines()[0].startswith("Issue: VPN drops every hour: Since Monday")
    assert "- I reinstalled the client, it still drops. (Ada)" in text
    assert "Gateway certificate expired on the Lisbon node. (Grace)" in text  # an internal note, for staff
    assert text.endswith("Open question: What else can I try?")
    public = summarise(THREAD.public()).text
    assert "Lisbon" not in public and "internal note" not in public


def test_the_open_question_falls_back_to_the_description_then_the_title():
    assert open_question(Thread("T", "Broken. Why?", "A", "Open", "low", False)) == "Why?"
    assert open_question(Thread("T", "Broken.", "A", "Open", "low", False)) == "T"
    assert open_question(Thread("T", "Broken?", "A", "Resolved", "low", True)) == ""


def test_an_article_from_a_thread_leaves_out_notes_and_contact_details():
    resolved = Thread(
        title="VPN drops every hour",
        description="The VPN drops. Call me on +44 20 7946 0958 or ada@example.com.",
        requester="Ada",
        status="Resolved",
        priority="low",
        resolved=True,
        messages=(
            Message("Grace", False, "Install VPN client 5.2."),
            Message("Grace", False, "OTTER root cause.", internal=True),
        ),
    )
    draft = article_from_thread(resolved)
    assert draft.title == "VPN drops every hour" and draft.summary == "The VPN drops."
    assert "## Solution\n\nInstall VPN client 5.2." in draft.body
    assert "OTTER" not in draft.body
    assert "ada@example.com" not in draft.body and "7946" not in draft.body
