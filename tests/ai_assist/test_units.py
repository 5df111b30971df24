"""The chatbot's unit of retrieval (ai_assist.ml.answer.units_of_article and the article scoring):
units follow the document's structure. Pure tests on small texts, then the heading regression on
real embeddings (the packaged MiniLM), pure and through the article index."""

from __future__ import annotations

import numpy as np
import pytest

from ai_assist.ml.answer import (
    MAX_UNIT_CHARS,
    PASSAGE_WORDS,
    Answerer,
    HybridIndex,
    build_sources,
    source_score,
    top_sources,
    units_of,
    units_of_article,
)


def sentences(text: str) -> list[tuple[str, int, str]]:
    return [(u.text, u.block, u.section) for u in units_of_article(text) if not u.passage]


def passages(text: str) -> list[tuple[str, str]]:
    return [(u.text, u.section) for u in units_of_article(text) if u.passage]


# --- Cutting ----------------------------------------------------------------------------------


def test_markdown_headings_start_sections_and_each_unit_carries_its_heading_trail():
    text = (
        "An introduction before any heading.\n\n"
        "# Installing\n\nRead this first, it is short.\n\n"
        "## Network settings\n\nSet the proxy in the settings file.\n\n"
        "### Behind a firewall\n\nOpen port 8443 for the agent.\n\n"
        "## Storage ##\n\nKeep 20 GB free on the data disk.\n\n"
        "# Using it\n\nSign in with your work account."
    )
    assert sentences(text) == [
        ("An introduction before any heading.", 0, ""),
        ("Read this first, it is short.", 0, "Installing"),
        ("Set the proxy in the settings file.", 0, "Installing > Network settings"),
        ("Open port 8443 for the agent.", 0, "Installing > Network settings > Behind a firewall"),
        ("Keep 20 GB free on the data disk.", 0, "Installing > Storage"),  # a heading closed by #s
        ("Sign in with your work account.", 0, "Using it"),  # a level-1 heading ends the others
    ]
    unit = next(u for u in units_of_article(text) if u.text.startswith("Open port"))
    assert unit.indexed == "Installing > Network settings > Behind a firewall: Open port 8443 for the agent."


def test_setext_html_numbered_and_bold_headings_are_headings_too():
    text = (
        "Getting started\n===============\n\nThe first steps take five minutes.\n\n"
        "Accounts\n--------\nEvery person signs in with an email address.\n\n"
        "<h3>Passwords <small>(staff)</small></h3>\nStaff passwords expire yearly.\n\n"
        "2.3 Proxy settings\nThe proxy is read from the environment.\n\n"
        "Chapter 4 Backups\nBackups run every night at two.\n\n"
        "**Restoring**\nA restore takes about an hour."
    )
    assert sentences(text) == [
        ("The first steps take five minutes.", 0, "Getting started"),
        ("Every person signs in with an email address.", 0, "Getting started > Accounts"),
        ("Staff passwords expire yearly.", 0, "Getting started > Accounts > Passwords (staff)"),
        ("The proxy is read from the environment.", 0, "Getting started > 2.3 Proxy settings"),
        ("Backups run every night at two.", 0, "Chapter 4 Backups"),
        ("A restore takes about an hour.", 0, "Chapter 4 Backups > Restoring"),
    ]


def test_what_only_looks_like_a_heading_stays_text():
    text = (
        "```bash\n# not a heading: a comment in code\nmake run\n```\n\n"
        "1.5 GB of memory is enough for the whole stack.\n\n"
        "A line in **bold** inside a sentence is not a heading.\n\n"
        "This sentence is long enough and ends with a period, then a rule.\n\n---\n\nAfter the rule."
    )
    found = sentences(text)
    assert all(section == "" for _, _, section in found)
    texts = " ".join(t for t, _, _ in found)
    for kept in ("# not a heading: a comment in code", "make run", "1.5 GB of memory", "After the rule."):
        assert kept in texts
    assert "```" not in texts and "---" not in texts


def test_lists_items_are_one_unit_each_and_lists_are_numbered_in_the_article():
    text = (
        "## Steps\n"
        "1. Open the portal.\n"
        "2. Enter your email\n"
        "   address and press Next.\n\n"
        "3. Approve the request in the app.\n\n"
        "Then wait a minute for the email to arrive.\n\n"
        "## Checks\n"
        "- The account is active.\n"
        "* The password is new.\n"
    )
    assert sentences(text) == [
        ("Open the portal.", 1, "Steps"),
        ("Enter your email address and press Next.", 1, "Steps"),  # an indented line continues it
        ("Approve the request in the app.", 1, "Steps"),  # a blank line between items: one list
        ("Then wait a minute for the email to arrive.", 0, "Steps"),
        ("The account is active.", 2, "Checks"),  # a heading ends a list; the next is list 2
        ("The password is new.", 2, "Checks"),
    ]


def test_a_paragraph_wrapped_across_lines_is_cut_into_its_sentences_not_its_lines():
    text = "The garage opens at 7:00 on working\ndays and closes at 22:00. Visitors pay 5 euros\na day at the machine."
    assert [t for t, _, _ in sentences(text)] == [
        "The garage opens at 7:00 on working days and closes at 22:00.",
        "Visitors pay 5 euros a day at the machine.",
    ]


def test_table_rows_are_units_and_short_pieces_join_the_next_one():
    text = "## Limits\n| setting | what it says | default |\n|---|---|---|\n| `IMAP_POLL_SECONDS` | 60 |\nHi. See it."
    assert sentences(text) == [
        ("| setting | what it says | default |", 0, "Limits"),
        ("| `IMAP_POLL_SECONDS` | 60 |", 0, "Limits"),
        ("Hi. See it.", 0, "Limits"),  # each under 25 characters: joined, and kept at the section's end
    ]


def test_flat_text_keeps_the_sentences_units_of_gives_and_adds_passages():
    flat = " ".join(f"Sentence number {n} of a flat article says something about topic {n}." for n in range(40))
    assert [t for t, _, _ in sentences(flat)] == [t for t, _ in units_of(flat)]
    assert all(section == "" for _, section in passages(flat))


def test_a_long_section_gets_passages_of_its_words_in_order_each_with_the_trail():
    body = " ".join(f"Check number {n} of the procedure tests the valve marked V{n}." for n in range(60))
    text = f"# Maintenance\n\n## Valves\n\n{body}\n\n## Filters\n\nChange the filter every month."
    found = passages(text)
    valves = [t for t, section in found if section == "Maintenance > Valves"]
    assert len(valves) == -(-len(body.split()) // PASSAGE_WORDS) >= 4
    assert all(len(t.split()) <= PASSAGE_WORDS for t in valves)
    assert " ".join(valves).split() == body.split()  # every word once, in order; no section crossed
    assert found[-1] == ("Change the filter every month.", "Maintenance > Filters")
    unit = next(u for u in units_of_article(text) if u.passage)
    assert unit.indexed.startswith("Maintenance > Valves: Check number 0 of the procedure")


def test_an_over_long_piece_is_cut_at_words_with_nothing_dropped():
    run_on = " ".join(f"cell{n}" for n in range(600))  # a table flattened into one line, no full stop
    found = [t for t, _, _ in sentences(run_on)]
    assert len(found) > 1 and all(len(t) <= MAX_UNIT_CHARS for t in found)
    assert " ".join(found).split() == run_on.split()


def test_an_empty_text_has_no_units_and_headings_alone_are_the_text():
    assert units_of_article("") == []
    assert [(u.text, u.passage) for u in units_of_article("# Only a title\n\n## And a subtitle")] == [
        ("Only a title", False),
        ("And a subtitle", False),
    ]


# --- Scoring ----------------------------------------------------------------------------------


def test_sentences_and_passages_are_each_fused_within_their_kind():
    texts = ["vpn drops", "printer jams", "vpn client version six", "a passage about the vpn client " * 10]
    texts += ["a passage about printers and paper " * 10]
    kinds = np.asarray([0, 0, 0, 1, 1])
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    index = HybridIndex(texts, vectors, kinds=kinds)
    _, fused, _ = index.rank("vpn client", vectors[0], level=0)
    for kind in (0, 1):
        assert abs(float(fused[kinds == kind].mean())) < 1e-5  # z-scores within each kind
    # BM25 statistics of a kind: the passage rows' length does not lengthen the sentences' average.
    alone = HybridIndex(texts[:3], vectors[:3])
    assert np.allclose(index.keyword_scores("vpn client", 0)[:3], alone.keyword_scores("vpn client", 0))


def test_an_article_scores_as_its_best_sentence_plus_its_best_passage():
    owners = ["a", "a", "a", "b", "b", "b"]
    is_passage = np.asarray([False, False, True, False, True, True])
    rows = np.arange(6)
    fused = np.asarray([2.0, 0.1, -1.0, 1.5, 0.5, 0.4], dtype=np.float32)
    rows_of = {"a": np.asarray([0, 1, 2]), "b": np.asarray([3, 4, 5])}
    # By best unit "a" leads (2.0); with its passage, "b" does (1.5 + 0.5 > 2.0 - 1.0).
    assert top_sources(rows, fused, owners, 2) == ["a", "b"]
    assert top_sources(rows, fused, owners, 2, passages=is_passage, rows_of=rows_of) == ["b", "a"]
    assert source_score(fused[[3, 4, 5]], is_passage[[3, 4, 5]]) == pytest.approx(2.0)
    found = build_sources(
        best=["b", "a"],
        titles={"a": "A", "b": "B"},
        rows=rows,
        fused=fused,
        cosine=fused / 4,
        rows_of=rows_of,
        texts=[f"unit {n}" for n in range(6)],
        positions=np.asarray([0, 1, 2, 0, 1, 2]),
        blocks=np.zeros(6, dtype=np.int32),
        limit=2,
        passages=is_passage,
    )
    assert [s.passage.id for s in found] == ["b", "a"]
    assert [u.text for u in found[0].units] == ["unit 3"]  # a passage is never quoted
    assert found[0].passage.score == pytest.approx(2.0) and found[1].passage.score == pytest.approx(1.0)


def test_top_sources_with_passages_is_exact_when_the_heads_are_cut():
    rng = np.random.default_rng(7)
    owners, kinds = [], []
    for article in range(300):
        n_sentences, n_passages = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        owners += [f"a{article}"] * (n_sentences + n_passages)
        kinds += [False] * n_sentences + [True] * n_passages
    is_passage = np.asarray(kinds)
    rows = np.flatnonzero(rng.random(len(owners)) < 0.9)
    fused = rng.normal(size=len(rows)).astype(np.float32)
    rows_of: dict[str, list[int]] = {}
    for row, owner in enumerate(owners):
        rows_of.setdefault(owner, []).append(row)
    arrays = {owner: np.asarray(found) for owner, found in rows_of.items()}
    got = top_sources(rows, fused, owners, 8, passages=is_passage, rows_of=arrays)
    at = np.full(len(owners), -1)
    at[rows] = np.arange(len(rows))
    ranked_kinds = is_passage[rows]
    floors = (float(fused[~ranked_kinds].min()), float(fused[ranked_kinds].min()))
    scores = {}
    for owner, own in arrays.items():
        i = at[own][at[own] >= 0]
        if len(i):
            scores[owner] = source_score(fused[i], ranked_kinds[i], floors)
    assert [round(scores[o], 5) for o in got] == sorted((round(s, 5) for s in scores.values()), reverse=True)[:8]


# --- A question answered by a heading's words (real embeddings) --------------------------------

LISBON = """Welcome to the Lisbon office. This guide covers the building, the desks and the services around them.

## Desks and lockers
Hot desks are on the second and third floors. Lockers are free; ask reception for a key.

## Parking
The garage is under building B and opens at 7:00 on working days.
Visitors pay 5 euros a day at the machine by the exit.
Electric cars charge for free on the bays marked in green.

## Kitchen
Coffee and fruit are free. Please load the dishwasher before you leave."""

OTHERS = {
    "Open day": """The open day is on 12 July from 10:00 to 16:00.
Visitors are welcome all day; parking is limited, so please come by train or bus.
Guided tours of the labs start every hour at the main entrance.""",
    "Hosting an event": """Book the event hall in the facilities app at least two weeks ahead.
Tell reception how many visitors you expect and whether they need parking.
The company pays for coffee; catering costs come from your team's budget.""",
    "Meeting rooms": """Meeting rooms in every office are booked in Outlook.
A room keeps its booking for 15 minutes after the start time.
Cancel a booking you no longer need so that others can use the room.""",
    "Company cars": """Company cars are for the sales team.
Fuel cards are ordered from the fleet team.
Private use of a company car is taxed as a benefit.""",
}
# "Visitors pay 5 euros a day" says nothing of parking: its heading does. Cut sentence by sentence
# without the heading (before issue 23), "Hosting an event" ranked first for the first and the last.
HEADING_QUESTIONS = [
    "How much do visitors pay for parking?",
    "What is the parking fee for visitors?",
    "How much does parking cost for visitors?",
    "What does a visitor pay to park?",
]


def test_a_question_answered_by_a_headings_words_finds_its_article(embedder):
    articles = {"Lisbon office guide": LISBON, **OTHERS}
    units = [(title, unit) for title, body in articles.items() for unit in units_of_article(body)]
    owners = [title for title, _ in units]
    is_passage = np.asarray([unit.passage for _, unit in units])
    texts = [unit.text for _, unit in units]
    index = HybridIndex(
        [unit.indexed for _, unit in units], np.asarray(embedder.embed([u.indexed for _, u in units])), kinds=is_passage
    )
    rows_of: dict[str, list[int]] = {}
    for row, owner in enumerate(owners):
        rows_of.setdefault(owner, []).append(row)
    arrays = {owner: np.asarray(found) for owner, found in rows_of.items()}
    for question in HEADING_QUESTIONS:
        rows, fused, cosine = index.rank(question, np.asarray(embedder.embed([question]))[0], level=0)
        best = top_sources(rows, fused, owners, 5, passages=is_passage, rows_of=arrays)
        assert best[0] == "Lisbon office guide", (question, best)
        found = build_sources(
            best=best,
            titles={title: title for title in articles},
            rows=rows,
            fused=fused,
            cosine=cosine,
            rows_of=arrays,
            texts=texts,
            positions=np.arange(len(texts)),
            blocks=np.zeros(len(texts), dtype=np.int32),
            limit=5,
            passages=is_passage,
        )
        answer = Answerer().answer(question, found)
        assert answer.composed.answered and "5 euros a day" in answer.composed.text, (question, answer)
        assert "Parking:" not in answer.composed.text  # quoted as written, without the trail


@pytest.mark.django_db
@pytest.mark.ai_consumers  # the index hears the articles' events
def test_the_article_index_keeps_the_trail_and_passages_and_ranks_by_them(people, committed, embedder):
    from ai_assist import embeddings, retrieval
    from knowledge import services as kb

    lead = people["lead"]
    for title, body in {"Lisbon office guide": LISBON, **OTHERS}.items():
        committed(kb.article_publish, actor=lead, article=kb.article_create(actor=lead, title=title, body=body))
    corpus = retrieval.article_corpus()
    metadatas = corpus.collection().get(include=["metadatas"])["metadatas"]
    assert any(meta["passage"] for meta in metadatas) and any(meta["section"] == "Parking" for meta in metadatas)
    question = HEADING_QUESTIONS[0]
    found = corpus.rank(reader=people["employee"], question=question, embedding=embeddings.embed_one(question))
    assert found[0].passage.title == "Lisbon office guide"
    quoted = [unit.text for unit in found[0].units]
    assert "Visitors pay 5 euros a day at the machine by the exit." in quoted
    assert not any(text.startswith("Parking") for text in quoted)  # no passage, no trail in what is quoted
