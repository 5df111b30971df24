"""Versioning: every content change is an immutable version; history, diffs, revert, visibility of
old versions, concurrent edits, and re-creating a version row a crash lost."""

import pytest

from helpdesk.errors import Conflict
from knowledge import services
from knowledge.models import Article, ArticleVersion, Visibility
from tests.helpers import WHO, assert_problem, matrix

pytestmark = pytest.mark.django_db

URL = "/api/v1/kb/articles/"


def versions_url(article) -> str:
    return f"{URL}{article.pk}/versions/"


@pytest.fixture
def edited(people, categories):
    """Version 1, published; then 2 (body) and 3 (title, tags, category), each live at once."""
    lead = people["lead"]
    article = services.article_create(
        actor=lead, title="Reset your password", body="Step one.\nStep two.", tags=["passwords"]
    )
    article = services.article_publish(actor=lead, article=article)
    article = services.article_update(
        actor=lead, article=article, version=1, body="Step one.\nStep two, better.\nStep three.", change_note="More"
    )
    article = services.article_update(
        actor=lead,
        article=article,
        version=2,
        title="Reset a forgotten password",
        tags=["passwords", "accounts"],
        category=categories["hardware"],
        change_note="Retitled",
    )
    return article


def test_every_content_change_is_a_version_with_author_time_and_note(people, edited):
    rows = list(ArticleVersion.objects.filter(article=edited).order_by("number"))
    assert [(v.number, v.change_note) for v in rows] == [(1, "Created."), (2, "More"), (3, "Retitled")]
    assert all(v.author == people["lead"] and v.created_at for v in rows)
    assert rows[0].body == "Step one.\nStep two." and rows[2].title == "Reset a forgotten password"
    assert rows[2].category_name == "Hardware" and rows[2].tags == ["passwords", "accounts"]
    assert edited.version == 3
    # Publishing is not a content change.
    assert ArticleVersion.objects.filter(article=edited).count() == 3


def test_versions_are_immutable(edited):
    version = ArticleVersion.objects.get(article=edited, number=1)
    version.title = "Rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        version.save()


@pytest.mark.parametrize("who,expected", matrix([401, 200, 200, 200, 200, 200]))
def test_version_list_matrix(client_for, edited, who, expected):
    response = client_for(who).get(versions_url(edited))
    assert response.status_code == expected
    if expected == 200:
        rows = response.json()["results"]
        assert [row["number"] for row in rows] == [3, 2, 1]
        assert [row["changed"] for row in rows] == [
            ["category", "tags", "title"],
            ["body"],
            ["body", "tags", "title", "visibility"],  # version 1: compared with nothing
        ]
        assert rows[0]["author"]["name"] and rows[0]["change_note"] == "Retitled"


@pytest.mark.parametrize("who,expected", matrix([401, 404, 404, 404, 200, 200]))
def test_versions_of_an_article_you_may_not_read_are_404(client_for, kb, who, expected):
    for path in (versions_url(kb["leads"]), f"{versions_url(kb['leads'])}1/"):
        assert client_for(who).get(path).status_code == expected
    assert client_for(who).get(versions_url(kb["draft"])).status_code == expected


def test_version_detail_has_a_diff_to_the_previous_one(client_for, edited):
    body = client_for("employee").get(f"{versions_url(edited)}2/").json()
    assert body["number"] == 2 and body["body"] == "Step one.\nStep two, better.\nStep three."
    diff = body["diff"]
    assert diff["previous"] == 1 and diff["changed"] == ["body"] and diff["fields"] == {}
    assert "-Step two.\n" in diff["body"] and "+Step two, better.\n" in diff["body"] and "+Step three." in diff["body"]
    third = client_for("employee").get(f"{versions_url(edited)}3/").json()
    assert third["diff"]["fields"]["title"] == {"from": "Reset your password", "to": "Reset a forgotten password"}
    assert third["diff"]["fields"]["tags"] == {"from": ["passwords"], "to": ["passwords", "accounts"]}
    assert third["diff"]["fields"]["category"]["to"]["name"] == "Hardware"
    assert third["category"]["name"] == "Hardware"
    first = client_for("employee").get(f"{versions_url(edited)}1/").json()
    assert first["diff"]["previous"] is None and "+Step one." in first["diff"]["body"]
    assert_problem(client_for("employee").get(f"{versions_url(edited)}9/"), 404)


def test_versions_written_for_a_higher_role_stay_hidden(client_for, people):
    lead = people["lead"]
    article = services.article_create(
        actor=lead, title="Gateway", body="Internal: the admin password is in the vault.", visibility=Visibility.AGENTS
    )
    article = services.article_publish(actor=lead, article=article)
    services.article_update(
        actor=lead, article=article, version=1, body="Public: ask the helpdesk.", visibility=Visibility.EVERYONE
    )
    employee = client_for("employee")
    rows = employee.get(versions_url(article)).json()["results"]
    assert [row["number"] for row in rows] == [2]
    assert rows[0]["changed"] == ["body", "title", "visibility"]  # compared with nothing the employee may see
    assert_problem(employee.get(f"{versions_url(article)}1/"), 404)
    shown = employee.get(f"{versions_url(article)}2/").json()
    assert shown["diff"]["previous"] is None and "vault" not in shown["diff"]["body"]
    assert [row["number"] for row in client_for("agent").get(versions_url(article)).json()["results"]] == [2, 1]


@pytest.mark.parametrize("who,expected", matrix([401, 403, 403, 403, 200, 200]))
def test_revert_matrix_and_effect(client_for, edited, who, expected):
    response = client_for(who).post(f"{URL}{edited.pk}/revert/", {"version": 1}, format="json")
    assert response.status_code == expected
    edited.refresh_from_db()
    if expected == 200:
        body = response.json()
        assert (body["version"], body["title"], body["tags"], body["category"]) == (
            4,
            "Reset your password",
            ["passwords"],
            None,
        )
        assert edited.body == "Step one.\nStep two." and edited.change_note == "Reverted to version 1."
        assert ArticleVersion.objects.filter(article=edited).count() == 4  # history is kept, not rewritten
    else:
        assert edited.version == 3


def test_revert_to_a_missing_version_is_400(client_for, edited):
    problem = assert_problem(client_for("lead").post(f"{URL}{edited.pk}/revert/", {"version": 7}, format="json"), 400)
    assert "version" in problem["errors"]
    assert_problem(client_for("lead").post(f"{URL}{edited.pk}/revert/", {}, format="json"), 400)


def test_concurrent_edits_one_wins_the_other_gets_409(people, edited):
    lead = people["lead"]
    first = Article.objects.get(pk=edited.pk)
    second = Article.objects.get(pk=edited.pk)
    services.article_update(actor=lead, article=first, version=3, body="Mine")
    with pytest.raises(Conflict) as caught:
        services.article_update(actor=lead, article=second, version=3, body="Theirs")
    assert caught.value.code == "stale_version"
    edited.refresh_from_db()
    assert (edited.body, edited.version) == ("Mine", 4)
    assert list(ArticleVersion.objects.filter(article=edited).values_list("number", flat=True).order_by("number")) == [
        1,
        2,
        3,
        4,
    ]


def test_a_version_row_lost_in_a_crash_is_recreated_by_the_next_writer(people, edited):
    """The writer crashed after updating the article and before writing its version row."""
    lead = people["lead"]
    Article.objects.filter(pk=edited.pk).update(body="Crashed writer's text", version=4, change_note="Lost")
    article = Article.objects.get(pk=edited.pk)
    services.article_update(actor=lead, article=article, version=4, body="Next writer's text")
    rows = {v.number: v for v in ArticleVersion.objects.filter(article=edited)}
    assert sorted(rows) == [1, 2, 3, 4, 5]
    assert (rows[4].body, rows[4].change_note) == ("Crashed writer's text", "Lost")
    assert rows[5].body == "Next writer's text"


def test_kb_reindex_repairs_derived_rows(people, edited):
    from django.core.management import call_command

    from knowledge.models import ArticleTag

    Article.objects.filter(pk=edited.pk).update(version=4, tags=["new"], tags_text="|new|")
    ArticleTag.objects.all().delete()
    call_command("kb_reindex", verbosity=0)
    assert ArticleVersion.objects.filter(article=edited, number=4).exists()
    assert list(ArticleTag.objects.filter(article=edited).values_list("tag", flat=True)) == ["new"]
    from knowledge import selectors

    found = selectors.search_hits_for(user=people["employee"], q="forgotten password")
    assert [hit["article"]["id"] for hit in found[0:5]] == [edited.pk]  # the index was rebuilt


@pytest.mark.parametrize("who", WHO)
def test_versions_need_sign_in(client_for, edited, who):
    if who == "anonymous":
        assert_problem(client_for(who).get(versions_url(edited)), 401)


def test_a_version_row_another_writer_already_recreated_is_not_an_error(people, edited):
    """Between our update and our version row, a later writer re-created the same row from the article."""
    from knowledge.services import Content, _record_version

    article = Article.objects.get(pk=edited.pk)
    assert (
        _record_version(article, number=3, content=Content.of(article), author=None, note="", at=article.updated_at)
        is None
    )
    services.article_update(actor=people["lead"], article=article, version=3, body="Still works after it")
    assert ArticleVersion.objects.filter(article=edited).count() == 4


# --- History that was never public stays with the editors (issue 21, decision 0023) ------------

PRIVATE = "Jane Doe's laptop, asset ZK-4471, phone +44 20 7946 0958"


@pytest.fixture
def cleaned(people):
    """A draft that named a person (version 1), cleaned by the lead (version 2), then published."""
    lead = people["lead"]
    article = services.article_create(
        actor=lead, title="Jane Doe cannot print", body=f"Reported for {PRIVATE}: the driver was missing."
    )
    article = services.article_update(
        actor=lead, article=article, version=1, title="Printing fails after an update", body="Reinstall the driver."
    )
    return services.article_publish(actor=lead, article=article)


@pytest.mark.parametrize("who,expected", matrix([401, 404, 404, 404, 200, 200]))
def test_a_version_never_published_is_read_by_editors_only(client_for, cleaned, who, expected):
    client = client_for(who)
    listed = client.get(versions_url(cleaned))
    if who == "anonymous":
        assert listed.status_code == 401
        return
    numbers = [row["number"] for row in listed.json()["results"]]
    assert numbers == ([2, 1] if expected == 200 else [2])
    assert client.get(f"{versions_url(cleaned)}1/").status_code == expected
    shown = client.get(f"{versions_url(cleaned)}2/").json()
    if expected == 200:
        assert shown["diff"]["previous"] == 1 and "Jane" in shown["diff"]["fields"]["title"]["from"]
    else:  # the diff compares with nothing the reader may see: no trace of the draft
        assert shown["diff"]["previous"] is None and "Jane" not in str(shown) and "ZK-4471" not in str(shown)
        for response in (listed, client.get(f"{URL}{cleaned.pk}/"), client.get(f"{URL}?q=Jane")):
            assert "Jane" not in response.content.decode() and "ZK-4471" not in response.content.decode()


def test_editors_see_which_versions_went_live(client_for, cleaned):
    rows = client_for("lead").get(versions_url(cleaned)).json()["results"]
    assert [(row["number"], row["published_at"] is not None) for row in rows] == [(2, True), (1, False)]


def test_search_finds_no_draft_text_for_readers(client_for, cleaned):
    for who in ("employee", "agent"):
        assert client_for(who).get("/api/v1/kb/search/", {"q": "Jane Doe ZK-4471"}).json()["count"] == 0


def test_the_audit_log_of_drafts_is_for_editors_only(client_for, cleaned):
    """The audit API names draft titles (an article's history): leads, who edit articles, and admins."""
    for who in ("employee", "agent"):
        assert client_for(who).get("/api/v1/audit/").status_code in (403, 404)


def test_edits_of_a_live_article_are_published_and_edits_while_archived_are_not_until_republished(people):
    lead = people["lead"]
    article = services.article_publish(
        actor=lead, article=services.article_create(actor=lead, title="VPN", body="Use the client.")
    )
    article = services.article_update(actor=lead, article=article, version=1, body="Use the new client.")
    article = services.article_archive(actor=lead, article=article)
    article = services.article_update(actor=lead, article=article, version=2, body="Draft while archived.")
    article = services.article_update(actor=lead, article=article, version=3, body="Cleaned while archived.")

    def live() -> list[int]:
        versions = ArticleVersion.objects.filter(article=article, published_at__isnull=False)
        return sorted(versions.values_list("number", flat=True))

    assert live() == [1, 2]
    services.article_publish(actor=lead, article=article)
    assert live() == [1, 2, 4]  # version 3 was never live


def test_the_slug_follows_the_title_until_first_published(client_for, people):
    lead = client_for("lead")
    created = lead.post(URL, {"title": "Laptop for Jane Doe", "body": "Set it up."}, format="json").json()
    assert created["slug"] == "laptop-for-jane-doe"
    retitled = lead.patch(
        f"{URL}{created['id']}/", {"version": 1, "title": "Setting up a new laptop"}, format="json"
    ).json()
    assert retitled["slug"] == "setting-up-a-new-laptop"
    reverted = lead.post(f"{URL}{created['id']}/revert/", {"version": 1}, format="json").json()
    assert reverted["slug"] == "laptop-for-jane-doe"  # still a draft: it follows the title back
    lead.patch(f"{URL}{created['id']}/", {"version": 3, "title": "Setting up a new laptop"}, format="json")
    published = lead.post(f"{URL}{created['id']}/publish/").json()
    assert published["slug"] == "setting-up-a-new-laptop" and "jane" not in published["slug"]
    after = lead.patch(f"{URL}{created['id']}/", {"version": 4, "title": "New laptops"}, format="json").json()
    assert after["slug"] == "setting-up-a-new-laptop"  # published: links keep working
    renamed = lead.patch(f"{URL}{created['id']}/", {"version": 5, "slug": "new-laptops"}, format="json").json()
    assert renamed["slug"] == "new-laptops"  # an editor may still rename it on purpose


def test_the_migration_stamps_what_was_live(people):
    """Existing history: the version shown when last published and every later edit while live."""
    import importlib

    from django.apps import apps

    lead = people["lead"]
    article = services.article_create(actor=lead, title="Wi-Fi", body="Draft one.")
    article = services.article_update(actor=lead, article=article, version=1, body="Draft two.")
    article = services.article_publish(actor=lead, article=article)
    services.article_update(actor=lead, article=article, version=2, body="Live edit.")
    archived = services.article_create(actor=lead, title="Old", body="Never published, archived.")
    services.article_archive(actor=lead, article=archived)
    ArticleVersion.objects.update(published_at=None)
    migration = importlib.import_module("knowledge.migrations.0004_version_published_at")
    migration.stamp_published_versions(apps, None)
    stamped = ArticleVersion.objects.filter(published_at__isnull=False)
    assert sorted(stamped.values_list("article_id", "number")) == [(article.pk, 2), (article.pk, 3)]
