"""Article retrieval runs in the engines (decision 0035): Chroma's HNSW index for the vector leg,
the database's full-text search for the keyword leg, no copy of the knowledge base per process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from ai_assist import chat, embeddings, retrieval
from ai_assist.retrieval import articles as articles_module
from knowledge import services as kb
from knowledge.models import Article, Visibility
from knowledge.policies import ai_readable_articles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUESTION = "How do I pair the Jabra headset with Teams?"
BODY = "Hold the Jabra button for five seconds until the light blinks blue, then choose it in Teams settings."

OTHER_PROCESS = """
import sys, django
django.setup()
from ai_assist import retrieval
from ai_assist.retrieval.articles import article_units
from types import SimpleNamespace
# A writer in another process: the article's units, written as the index writes them.
article = SimpleNamespace(pk=sys.argv[1], version=1, visibility=10, category_id=None, title="Jabra headset",
                          summary="", body=sys.argv[2], status="published")
retrieval.article_corpus()._write([article])
"""


@pytest.mark.own_chroma  # the embedded index's own folder under AI_DIR, written by a second process
def test_a_write_in_another_process_is_found_by_the_next_search_without_a_re_read(
    settings, tmp_path, people, embedder, monkeypatch
):
    article = kb.article_publish(
        actor=people["lead"], article=kb.article_create(actor=people["lead"], title="Jabra headset", body=BODY)
    )  # in the database; the AI's consumers are off here, so not indexed
    corpus = retrieval.article_corpus()
    vector = embeddings.embed_one(QUESTION)
    printer = kb.article_publish(
        actor=people["lead"],
        article=kb.article_create(actor=people["lead"], title="Printer jams", body="Open tray 2 and remove the paper."),
    )
    corpus.upsert(printer)
    before = corpus.search(reader=people["employee"], embedding=vector, question=QUESTION)
    assert [hit.id for hit in before] == [printer.pk]  # this process has the index open, and read it
    reads = []
    monkeypatch.setattr(
        "ai_assist.retrieval.chroma.read_all", lambda *args, **kwargs: reads.append(args) or {"ids": []}
    )

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.main", "DEBUG": "true", "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, article.pk, BODY], env=env, check=True, timeout=120)

    found = corpus.search(reader=people["employee"], embedding=vector, question=QUESTION)
    assert [hit.id for hit in found][:1] == [article.pk]
    assert "Hold the Jabra button" in found[0].text
    assert reads == []  # no whole-collection read: the search asked Chroma
    assert not hasattr(corpus, "_snapshot") or corpus._snapshot is None


def test_no_process_holds_the_knowledge_base():
    assert not hasattr(articles_module, "ChunkSnapshot")


article_spec = st.fixed_dictionaries(
    {
        "visibility": st.sampled_from([Visibility.EVERYONE, Visibility.AGENTS, Visibility.LEADS]),
        "status": st.sampled_from(["published", "published", "draft", "archived"]),
    }
)


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(article_spec, min_size=1, max_size=6), role=st.sampled_from(list(Role)))
def test_every_cited_article_is_one_the_reader_may_read(people, embedder, specs, role):
    from django.db import transaction

    with transaction.atomic():
        corpus = retrieval.article_corpus()
        corpus.drop()
        made = []
        for n, spec in enumerate(specs):
            article = kb.article_create(
                actor=people["lead"],
                title=f"Jabra headset {n}",
                body=f"{BODY} Reference JX{n}.",
                visibility=spec["visibility"],
            )
            if spec["status"] != "draft":
                article = kb.article_publish(actor=people["lead"], article=article)
            if spec["status"] == "archived":
                article = kb.article_archive(actor=people["lead"], article=article)
            corpus.upsert(article)
            made.append(article.pk)
        reader = UserFactory(role=role)
        readable = set(Article.objects.filter(ai_readable_articles(reader), pk__in=made).values_list("pk", flat=True))
        answer = chat.ask(user=reader, message=QUESTION)
        cited = {c["id"] for c in answer.citations if c["kind"] == "article"}
        sourced = {s["id"] for s in answer.sources if s["kind"] == "article"}
        assert cited <= readable and sourced <= readable
        assert bool(cited) == bool(readable)  # what it may read, it finds
        for pk in set(made) - readable:
            assert f"JX{made.index(pk)}." not in answer.text
        transaction.set_rollback(True)


def test_the_keyword_leg_finds_only_what_the_ai_may_read_for_the_reader(people):
    from knowledge import selectors

    lead = people["lead"]

    def article(title, visibility=Visibility.EVERYONE, publish=True):
        made = kb.article_create(actor=lead, title=title, body=f"{BODY} Code ZX-4471.", visibility=visibility)
        return kb.article_publish(actor=lead, article=made) if publish else made

    everyone, agents = article("Jabra for all"), article("Jabra for agents", Visibility.AGENTS)
    article("Jabra draft", publish=False)

    def found(who):
        return [hit.article_id for hit in selectors.ai_keyword_hits(user=people[who], text="ZX-4471 jabra", limit=10)]

    assert found("employee") == [everyone.pk]
    assert set(found("agent")) == set(found("lead")) == {everyone.pk, agents.pk}  # never the draft, even for a lead


def test_an_employee_finds_the_article_for_everyone_behind_many_nearer_ones_for_agents(people, embedder, monkeypatch):
    """The unfiltered query is over-fetched; when the units the reader may read are crowded out of
    it, a filtered query finds them."""
    monkeypatch.setattr(articles_module, "NEAREST_UNITS", 2)
    monkeypatch.setattr(articles_module, "OVERFETCH", 2)
    lead, corpus = people["lead"], retrieval.article_corpus()

    def article(title, body, visibility):
        made = kb.article_create(actor=lead, title=title, body=body, visibility=visibility)
        made = kb.article_publish(actor=lead, article=made)
        corpus.upsert(made)
        return made

    for n in range(6):
        article(f"Jabra for agents {n}", "To pair the Jabra headset with Teams, hold its button.", Visibility.AGENTS)
    everyone = article("Spare headsets", "Every meeting room keeps a spare headset in its drawer.", Visibility.EVERYONE)
    vector = embeddings.embed_one(QUESTION)
    assert [hit.id for hit in corpus.search(reader=people["employee"], embedding=vector)] == [everyone.pk]
    assert everyone.pk not in [hit.id for hit in corpus.search(reader=people["agent"], embedding=vector)]  # nearer
