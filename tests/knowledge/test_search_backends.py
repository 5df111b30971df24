"""The search adapter's parts that need no database: query parsing, safe highlighting, and the
MongoDB pipelines (checked as built, since no MongoDB server runs here)."""

import importlib

import pytest

from helpdesk.search_words import fts5_phrases
from knowledge.search import mongodb
from knowledge.search.base import START, STOP, Scope, mark_terms, marked_to_html, parse_query

migration = importlib.import_module("knowledge.migrations.0002_search_index")


def test_parse_query_keeps_words_drops_stop_words_and_duplicates():
    assert parse_query("How do I reset MY password? password!").terms == ("reset", "password")
    assert parse_query("wi-fi_guest").terms == ("wi", "fi", "guest")
    assert parse_query("the").terms == ("the",)  # nothing but stop words: keep them
    assert parse_query("  ... ").terms == ()
    assert len(parse_query(" ".join(f"w{n}" for n in range(30))).terms) == 10
    assert parse_query('"vpn" OR NEAR(a b)').terms == ("vpn", "near", "b")  # FTS5 syntax is just words


def test_fts5_match_expressions_quote_every_term():
    assert fts5_phrases(("vpn", "near"), "OR") == '"vpn" OR "near"'
    assert fts5_phrases(("a", "b"), "AND") == '"a" AND "b"'


@pytest.mark.parametrize(
    "marked,html",
    [
        (f"{START}VPN{STOP} <b>&", "<mark>VPN</mark> &lt;b&gt;&amp;"),
        (f"{START}open", "<mark>open</mark>"),  # unbalanced: closed
        (f"a{STOP}b{START}{STOP}", "ab"),
        (f"{START}{START}x{STOP}{STOP}", "<mark>x</mark>"),
    ],
)
def test_marked_text_becomes_safe_html(marked, html):
    assert marked_to_html(marked) == html


def test_markdown_noise_is_dropped_from_snippets():
    text = f"## Steps\n1. Open **{START}VPN{STOP}** [portal](https://x.example) `cmd`"
    assert marked_to_html(text, markdown=True) == "Steps Open <mark>VPN</mark> portal cmd"


def test_the_python_highlighter_marks_word_prefixes_and_cuts_a_window():
    assert mark_terms("Printers and a printer", ("printer",)) == f"{START}Printers{STOP} and a {START}printer{STOP}"
    text = " ".join(f"w{n}" for n in range(100)) + " vpn " + " ".join(f"x{n}" for n in range(100))
    snippet = mark_terms(text, ("vpn",), window=10)
    assert snippet.startswith("…") and snippet.endswith("…") and f"{START}vpn{STOP}" in snippet
    assert len(snippet.split()) <= 11


SCOPE = Scope(statuses=("published",), max_visibility=20, category_ids=("c1", "c2"), tags=("vpn", "wi.fi"))


def test_mongodb_pipeline_filters_before_ranking_and_ranks_all_words_first():
    query = parse_query("reset VPN password")
    pipeline = mongodb.ranked_pipeline(query, SCOPE, offset=20, limit=10)
    match = pipeline[0]["$match"]
    assert match["$text"] == {"$search": "reset vpn password"}
    assert match["status"] == {"$in": ["published"]} and match["visibility"] == {"$lte": 20}
    assert match["category_id"] == {"$in": ["c1", "c2"]}
    assert match["$and"] == [
        {"tags_text": {"$regex": r"\|vpn\|", "$options": "i"}},
        {"tags_text": {"$regex": r"\|wi\.fi\|", "$options": "i"}},
    ]
    fields = pipeline[1]["$addFields"]
    assert fields["score"] == {"$meta": "textScore"}
    assert len(fields["all_words"]["$and"]) == 3
    assert pipeline[2] == {"$sort": {"all_words": -1, "score": -1, "_id": 1}}
    assert pipeline[3:5] == [{"$skip": 20}, {"$limit": 10}]
    # The scope is in the first stage, the only one that may use $text: nothing is filtered after the limit.
    assert all("$match" not in stage for stage in pipeline[1:])


def test_mongodb_single_word_and_count_pipelines():
    query = parse_query("vpn")
    pipeline = mongodb.ranked_pipeline(query, Scope(statuses=("published",), max_visibility=10), offset=0, limit=5)
    assert pipeline[1]["$addFields"]["all_words"] is True
    assert "category_id" not in pipeline[0]["$match"] and "$and" not in pipeline[0]["$match"]
    assert mongodb.count_pipeline(query, SCOPE) == [mongodb.match_stage(query, SCOPE), {"$count": "n"}]


def test_the_migration_creates_the_index_the_adapter_expects():
    assert migration.MONGO_TEXT_INDEX == mongodb.TEXT_INDEX
    assert mongodb.TEXT_INDEX["weights"]["title"] > mongodb.TEXT_INDEX["weights"]["body"]


def test_the_mongodb_backend_runs_the_pipeline_through_raw_aggregate(monkeypatch):
    """No server here: fake the collection and raw_aggregate, and check what the backend sends."""
    from types import SimpleNamespace

    from django_mongodb_backend import queryset as mongo_queryset

    sent = {}

    class FakeCollection:
        def aggregate(self, pipeline):
            sent["count"] = pipeline
            return iter([{"n": 2}])

    def raw_aggregate(self, pipeline, using=None):
        sent["ranked"] = pipeline
        return [SimpleNamespace(pk="a1", score=3.5, all_words=True), SimpleNamespace(pk="a2", score=1.0, all_words=0)]

    monkeypatch.setattr(mongodb, "connection", SimpleNamespace(get_collection=lambda name: FakeCollection()))
    monkeypatch.setattr(mongo_queryset.MongoQuerySet, "raw_aggregate", raw_aggregate)
    backend = mongodb.MongoSearch()
    query = parse_query("vpn password")
    assert backend.count(query, SCOPE) == 2
    hits = backend.ranked(query, SCOPE, offset=0, limit=25)
    assert [(h.article_id, h.score, h.all_words) for h in hits] == [("a1", 3.5, True), ("a2", 1.0, False)]
    assert sent["count"] == mongodb.count_pipeline(query, SCOPE)
    assert sent["ranked"] == mongodb.ranked_pipeline(query, SCOPE, offset=0, limit=25)
    assert backend.count(query, Scope(statuses=(), max_visibility=10)) == 0  # nothing readable: no query
