"""/api/v1/kb/: the role matrix of every endpoint, visibility in every read path, and the writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from helpdesk import events
from knowledge import services
from knowledge.models import Article, ArticleTag, ArticleVersion, Category, Status, Visibility
from tests.factories import ArticleFactory
from tests.helpers import WHO, assert_problem, captured_events, delivered, matrix
from tests.knowledge.conftest import READS, write

pytestmark = pytest.mark.django_db

URL = "/api/v1/kb/articles/"
CATEGORIES = "/api/v1/kb/categories/"

# anonymous, employee, agent_other, agent, lead, admin
READ_PUBLIC = [401, 200, 200, 200, 200, 200]
READ_AGENTS = [401, 404, 200, 200, 200, 200]
READ_LEADS = [401, 404, 404, 404, 200, 200]
READ_DRAFT = [401, 404, 404, 404, 200, 200]
CREATE = [401, 403, 403, 403, 201, 201]
EDIT_PUBLIC = [401, 403, 403, 403, 200, 200]
EDIT_AGENTS = [401, 404, 403, 403, 200, 200]
DELETE_PUBLIC = [401, 403, 403, 403, 204, 204]
PUBLISH_DRAFT = [401, 404, 404, 404, 200, 200]
ARCHIVE_PUBLIC = [401, 403, 403, 403, 200, 200]


def detail(article) -> str:
    return f"{URL}{article.pk}/"


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("who", WHO)
def test_list_shows_exactly_what_the_role_may_read(client_for, kb, who):
    response = client_for(who).get(URL)
    if who == "anonymous":
        assert_problem(response, 401)
        return
    assert ids(response) == {kb[name].pk for name in READS[who]}


@pytest.mark.parametrize(
    "name,expected",
    [("public", READ_PUBLIC), ("agents", READ_AGENTS), ("leads", READ_LEADS), ("draft", READ_DRAFT)],
)
@pytest.mark.parametrize("index", range(len(WHO)))
def test_detail_matrix(client_for, kb, name, expected, index):
    who, status = matrix(expected)[index]
    response = client_for(who).get(detail(kb[name]))
    assert response.status_code == status
    if status == 404:
        assert_problem(response, 404, "not_found")
    elif status == 200:
        body = response.json()
        assert body["id"] == kb[name].pk and body["body"]
        assert body["actions"]["can_edit"] == (who in ("lead", "admin"))


def test_archived_articles_are_for_leads_and_admins(client_for, kb):
    for who in ("employee", "agent"):
        assert client_for(who).get(detail(kb["archived"])).status_code == 404
    assert client_for("lead").get(detail(kb["archived"])).json()["status"] == "archived"


@pytest.mark.parametrize("who,expected", matrix(CREATE))
def test_create_matrix(client_for, people, categories, who, expected):
    body = {
        "title": "Printer jams on tray 2",
        "body": "Open tray 2, remove the paper, fan it, put it back.",
        "category": categories["hardware"].pk,
        "tags": ["Printers", "printers", " Paper "],
        "visibility": "agents",
    }
    response = client_for(who).post(URL, body, format="json")
    assert response.status_code == expected
    if expected == 201:
        shown = response.json()
        article = Article.objects.get(pk=shown["id"])
        assert (article.status, article.version, article.author) == (Status.DRAFT, 1, people[who])
        assert (shown["visibility"], shown["tags"], shown["slug"]) == (
            "agents",
            ["printers", "paper"],
            "printer-jams-on-tray-2",
        )
        assert article.tags_text == "|printers|paper|"
        assert set(ArticleTag.objects.filter(article=article).values_list("tag", flat=True)) == {"printers", "paper"}
        assert ArticleVersion.objects.filter(article=article, number=1).exists()
    else:
        assert not Article.objects.exists()


def test_create_rejects_unknown_fields_and_bad_values(client_for, categories):
    lead = client_for("lead")
    body = {"title": "T", "body": "B", "status": "published"}
    assert_problem(lead.post(URL, body, format="json"), 400, "validation_error")
    problem = assert_problem(lead.post(URL, {"title": "T", "body": "B", "visibility": "nobody"}, format="json"), 400)
    assert "visibility" in problem["errors"]
    problem = assert_problem(lead.post(URL, {"title": "  ", "body": "B"}, format="json"), 400)
    assert "title" in problem["errors"]
    assert_problem(lead.post(URL, {"title": "T", "body": "B", "category": "nope"}, format="json"), 400)
    assert not Article.objects.exists()


def test_slugs_are_unique_and_explicit_ones_are_checked(client_for):
    lead = client_for("lead")
    first = lead.post(URL, {"title": "Reset MFA", "body": "x"}, format="json").json()
    second = lead.post(URL, {"title": "Reset MFA", "body": "y"}, format="json").json()
    assert first["slug"] == "reset-mfa" and second["slug"].startswith("reset-mfa-") and second["slug"] != "reset-mfa"
    problem = assert_problem(lead.post(URL, {"title": "Z", "body": "z", "slug": "reset-mfa"}, format="json"), 400)
    assert problem["errors"] == {"slug": ["Already taken."]}


@pytest.mark.parametrize(
    "name,expected", [("public", EDIT_PUBLIC), ("agents", EDIT_AGENTS)], ids=["public", "agents-only"]
)
@pytest.mark.parametrize("index", range(len(WHO)))
def test_edit_matrix(client_for, kb, name, expected, index):
    who, status = matrix(expected)[index]
    article = kb[name]
    response = client_for(who).patch(detail(article), {"version": 1, "title": "Renamed"}, format="json")
    assert response.status_code == status
    article.refresh_from_db()
    assert (article.title == "Renamed") == (status == 200)
    assert article.version == (2 if status == 200 else 1)


def test_patch_needs_the_version_and_a_stale_one_is_409(client_for, kb):
    lead = client_for("lead")
    article = kb["public"]
    problem = assert_problem(lead.patch(detail(article), {"title": "No version"}, format="json"), 400)
    assert "version" in problem["errors"]
    assert lead.patch(detail(article), {"version": 1, "title": "First"}, format="json").json()["version"] == 2
    assert_problem(lead.patch(detail(article), {"version": 1, "title": "Second"}, format="json"), 409, "stale_version")
    article.refresh_from_db()
    assert (article.title, article.version) == ("First", 2)
    assert_problem(lead.patch(detail(article), {"version": 2, "bogus": 1}, format="json"), 400, "validation_error")


def test_an_edit_that_changes_nothing_makes_no_version(client_for, kb):
    article = kb["public"]
    response = client_for("lead").patch(detail(article), {"version": 1, "title": article.title}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 1
    assert ArticleVersion.objects.filter(article=article).count() == 1


@pytest.mark.parametrize("who,expected", matrix(DELETE_PUBLIC))
def test_delete_matrix(client_for, kb, who, expected):
    article = kb["public"]
    response = client_for(who).delete(detail(article))
    assert response.status_code == expected
    gone = not Article.objects.filter(pk=article.pk).exists()
    assert gone == (expected == 204)
    if gone:
        assert not ArticleVersion.objects.filter(article_id=article.pk).exists()
        assert not ArticleTag.objects.filter(article_id=article.pk).exists()


@pytest.mark.parametrize("who,expected", matrix(PUBLISH_DRAFT))
def test_publish_matrix(client_for, kb, who, expected):
    response = client_for(who).post(f"{detail(kb['draft'])}publish/")
    assert response.status_code == expected
    kb["draft"].refresh_from_db()
    assert (kb["draft"].status == Status.PUBLISHED) == (expected == 200)
    if expected == 200:
        assert response.json()["published_at"]


@pytest.mark.parametrize("who,expected", matrix(ARCHIVE_PUBLIC))
def test_archive_matrix(client_for, kb, who, expected):
    response = client_for(who).post(f"{detail(kb['public'])}archive/")
    assert response.status_code == expected
    kb["public"].refresh_from_db()
    assert (kb["public"].status == Status.ARCHIVED) == (expected == 200)


def test_publish_and_archive_moves(client_for, kb):
    lead = client_for("lead")
    assert_problem(lead.post(f"{detail(kb['public'])}publish/"), 409, "invalid_transition")
    assert_problem(lead.post(f"{detail(kb['archived'])}archive/"), 409, "invalid_transition")
    assert lead.post(f"{detail(kb['archived'])}publish/").json()["status"] == "published"
    assert client_for("employee").get(detail(kb["archived"])).status_code == 200


def test_events_and_audit_entries(client_for, kb, people):
    with captured_events(events.ArticleEvent) as seen, delivered():
        lead = client_for("lead")
        created = lead.post(URL, {"title": "Badge lost", "body": "Call reception."}, format="json").json()
        lead.patch(f"{URL}{created['id']}/", {"version": 1, "body": "Call security."}, format="json")
        lead.post(f"{URL}{created['id']}/publish/")
        lead.post(f"{URL}{created['id']}/archive/")
        lead.delete(f"{URL}{created['id']}/")
    assert [(event.name, getattr(event, "fields", None)) for event in seen] == [
        ("article.created", None),
        ("article.updated", ("body",)),
        ("article.published", None),
        ("article.archived", None),
        ("article.deleted", None),
    ]
    assert {event.title for event in seen} == {"Badge lost"}  # article.deleted says what the others say
    logged = list(
        AuditEntry.objects.filter(object_id=created["id"]).order_by("at", "id").values_list("action", flat=True)
    )
    assert logged == ["article.created", "article.updated", "article.published", "article.archived", "article.deleted"]
    entry = AuditEntry.objects.get(object_id=created["id"], action="article.updated")
    assert entry.object_type == "article" and entry.actor == people["lead"] and entry.details["fields"] == ["body"]


def test_list_filters_never_widen_visibility(client_for, kb, categories):
    employee, lead = client_for("employee"), client_for("lead")
    assert ids(employee.get(URL, {"status": "draft"})) == set()
    assert ids(employee.get(URL, {"visibility": "agents"})) == set()
    assert ids(lead.get(URL, {"status": "draft"})) == {kb["draft"].pk}
    assert ids(lead.get(URL, {"visibility": "leads"})) == {kb["leads"].pk}
    # A category includes its subcategory.
    assert ids(lead.get(URL, {"category": categories["network"].pk, "status": "published"})) == {
        kb["public"].pk,
        kb["agents"].pk,
        kb["leads"].pk,
    }
    assert ids(employee.get(URL, {"category": categories["network"].pk})) == {kb["public"].pk}
    assert ids(lead.get(URL, {"tags": "vpn,gateway"})) == {kb["agents"].pk}
    assert ids(lead.get(URL, {"tags": "VPN"})) == {kb["public"].pk, kb["agents"].pk, kb["leads"].pk, kb["archived"].pk}
    assert ids(lead.get(URL, {"tags": "vp"})) == set()  # whole tags only
    assert ids(lead.get(URL, {"q": "gateway restart"})) == {kb["agents"].pk}
    assert ids(lead.get(URL, {"author": "me"})) == {a.pk for a in kb.values()}
    assert ids(lead.get(URL, {"slug": kb["public"].slug})) == {kb["public"].pk}


def test_list_costs_a_constant_number_of_queries(client_for, people, categories):
    lead = client_for("lead")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert lead.get(URL, {"page_size": 50}).status_code == 200
        return len(captured)

    write(people["lead"], title="One", body="x", category=categories["vpn"], tags=["a"])
    few = queries()
    ArticleFactory.create_batch(60, author=people["admin"], category=categories["hardware"], tags=["x"])
    assert queries() == few <= 4


# --- Categories ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who,expected", matrix([401, 200, 200, 200, 200, 200]))
def test_category_list_matrix_counts_only_readable_articles(client_for, kb, who, expected):
    response = client_for(who).get(CATEGORIES, {"page_size": 100})
    assert response.status_code == expected
    if expected == 200:
        counts = {row["name"]: row["article_count"] for row in response.json()["results"]}
        network = len({"agents", "leads"} & READS[who])
        assert counts == {"Hardware": 0, "Network": network, "VPN": 1}


@pytest.mark.parametrize("who,expected", matrix([401, 403, 403, 403, 201, 201]))
def test_category_create_matrix(client_for, categories, who, expected):
    body = {"name": "Printers", "parent": categories["hardware"].pk}
    response = client_for(who).post(CATEGORIES, body, format="json")
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["parent"]["name"] == "Hardware" and response.json()["slug"] == "printers"


def test_categories_nest_one_level_and_in_use_ones_stay(client_for, kb, categories):
    lead = client_for("lead")
    problem = assert_problem(
        lead.post(CATEGORIES, {"name": "Deep", "parent": categories["vpn"].pk}, format="json"), 400
    )
    assert "parent" in problem["errors"]
    problem = assert_problem(
        lead.patch(f"{CATEGORIES}{categories['network'].pk}/", {"parent": categories["hardware"].pk}, format="json"),
        400,
    )
    assert "parent" in problem["errors"]
    assert_problem(lead.post(CATEGORIES, {"name": "network"}, format="json"), 400)  # names are unique
    assert_problem(lead.delete(f"{CATEGORIES}{categories['vpn'].pk}/"), 409, "category_in_use")
    assert_problem(lead.delete(f"{CATEGORIES}{categories['network'].pk}/"), 409, "category_in_use")
    assert lead.delete(f"{CATEGORIES}{categories['hardware'].pk}/").status_code == 204
    assert not Category.objects.filter(name="Hardware").exists()
    renamed = lead.patch(f"{CATEGORIES}{categories['vpn'].pk}/", {"name": "VPN access"}, format="json")
    assert renamed.json()["name"] == "VPN access"
    assert ids(lead.get(CATEGORIES, {"parent": "none"})) == {categories["network"].pk}


# --- Tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", WHO)
def test_tags_count_only_readable_articles(client_for, kb, who):
    response = client_for(who).get("/api/v1/kb/tags/")
    if who == "anonymous":
        assert_problem(response, 401)
        return
    counts = {row["tag"]: row["count"] for row in response.json()["results"]}
    expected: dict[str, int] = {}
    for name in READS[who]:
        for tag in kb[name].tags:
            expected[tag] = expected.get(tag, 0) + 1
    assert counts == expected


def test_tags_follow_edits(client_for, kb):
    lead = client_for("lead")
    lead.patch(detail(kb["public"]), {"version": 1, "tags": ["wifi"]}, format="json")
    counts = {row["tag"]: row["count"] for row in client_for("employee").get("/api/v1/kb/tags/").json()["results"]}
    assert counts == {"wifi": 1}
    assert client_for("lead").get("/api/v1/kb/tags/", {"status": "archived"}).json()["results"] == [
        {"tag": "vpn", "count": 1}
    ]
    assert_problem(client_for("lead").get("/api/v1/kb/tags/", {"status": "bogus"}), 400)


def test_visibility_changes_apply_at_once(client_for, kb):
    lead = client_for("lead")
    lead.patch(detail(kb["public"]), {"version": 1, "visibility": "leads"}, format="json")
    assert client_for("employee").get(detail(kb["public"])).status_code == 404
    assert client_for("agent").get(detail(kb["public"])).status_code == 404
    kb["public"].refresh_from_db()
    assert kb["public"].visibility == Visibility.LEADS


def test_services_refuse_non_writers_whatever_calls_them(people, kb):
    from helpdesk.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.article_publish(actor=people["agent"], article=kb["draft"])
    with pytest.raises(NotAllowed):
        services.category_create(actor=people["employee"], name="Mine")


def test_the_schema_documents_every_kb_operation(schema):
    paths = schema["paths"]
    for path in [
        "/api/v1/kb/categories/",
        "/api/v1/kb/categories/{id}/",
        "/api/v1/kb/articles/",
        "/api/v1/kb/articles/{id}/",
        "/api/v1/kb/articles/{id}/publish/",
        "/api/v1/kb/articles/{id}/archive/",
        "/api/v1/kb/articles/{id}/revert/",
        "/api/v1/kb/articles/{id}/versions/",
        "/api/v1/kb/articles/{id}/versions/{number}/",
        "/api/v1/kb/articles/{id}/attachments/{attachment_id}/download/",
        "/api/v1/kb/search/",
        "/api/v1/kb/tags/",
        "/api/v1/kb/documents/",
    ]:
        assert path in paths, path
