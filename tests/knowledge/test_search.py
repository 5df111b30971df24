"""GET /api/v1/kb/search/: ranking on a known set, visibility and status, filters, highlighted and
escaped snippets, a constant number of queries, limits. Runs on the configured database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge import services
from knowledge.models import Article, Status, Visibility
from tests.factories import ArticleFactory
from tests.helpers import WHO, assert_problem, matrix
from tests.knowledge.conftest import write

pytestmark = pytest.mark.django_db

URL = "/api/v1/kb/search/"


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def ranked(people):
    lead = people["lead"]
    return {
        "all_title": write(lead, title="Printer setup", body="Add it from the print server in Settings."),
        "all_body": write(
            lead,
            title="Office guide",
            body="Kitchen rules. Parking. The printer on floor two needs a one-time setup by the helpdesk. "
            "Printer paper is in the cupboard; printer toner too.",
        ),
        "some_title": write(lead, title="Printer drivers", body="Download the drivers from the portal."),
        "some_body": write(
            lead, title="Floor plan", body="The printer is by the window. Printer, printer, printer everywhere."
        ),
        "other": write(lead, title="Lunch menu", body="Soup on Mondays."),
    }


def test_all_words_rank_above_some_and_title_above_body(client_for, ranked):
    order = titles(client_for("employee").get(URL, {"q": "printer setup"}))
    assert order == ["Printer setup", "Office guide", "Printer drivers", "Floor plan"]
    rows = client_for("employee").get(URL, {"q": "printer setup"}).json()["results"]
    assert [row["all_words"] for row in rows] == [True, True, False, False]
    assert rows[0]["score"] > rows[1]["score"] and rows[2]["score"] > rows[3]["score"]


def test_a_title_hit_outranks_many_body_hits(client_for, ranked):
    order = titles(client_for("employee").get(URL, {"q": "printer"}))
    assert set(order[:2]) == {"Printer setup", "Printer drivers"}
    assert set(order[2:]) == {"Office guide", "Floor plan"}


def test_words_are_stemmed_and_case_and_stop_words_do_not_matter(client_for, ranked):
    assert titles(client_for("employee").get(URL, {"q": "How do I SET UP the PRINTERS"}))[0] == "Printer setup"
    assert "Printer drivers" in titles(client_for("employee").get(URL, {"q": "driver"}))


def test_highlights_are_marked_and_everything_else_escaped(client_for, people):
    write(
        people["lead"],
        title="VPN <b>bold</b> & co",
        body="Run <script>alert(1)</script> then open the **VPN** client [portal](https://vpn.example.com).",
    )
    row = client_for("employee").get(URL, {"q": "vpn"}).json()["results"][0]
    assert row["title_html"] == "<mark>VPN</mark> &lt;b&gt;bold&lt;/b&gt; &amp; co"
    snippet = row["snippet_html"]
    assert "<script>" not in snippet  # escaped (SQLite, MongoDB) or dropped as markup (PostgreSQL)
    assert "<mark>VPN</mark>" in snippet and "**" not in snippet and "https://" not in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_highlight_sentinels_in_stored_text_are_removed(client_for, people):
    article = write(people["lead"], title="Odd \ue000 title", body="Text \ue001 with vpn")
    assert "\ue000" not in article.title and "\ue001" not in article.body
    row = client_for("employee").get(URL, {"q": "vpn"}).json()["results"][0]
    assert row["snippet_html"].count("<mark>") == row["snippet_html"].count("</mark>") == 1


@pytest.mark.parametrize("who", WHO)
def test_search_returns_only_what_the_role_may_read(client_for, kb, who):
    response = client_for(who).get(URL, {"q": "vpn"})
    if who == "anonymous":
        assert_problem(response, 401)
        return
    found = {row["id"] for row in response.json()["results"]}
    published = {"employee": {"public"}, "agent_other": {"public", "agents"}, "agent": {"public", "agents"}}
    expected = published.get(who, {"public", "agents", "leads"})
    assert found == {kb[name].pk for name in expected}
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize("who,expected", matrix([401, 0, 0, 0, 1, 1]))
def test_drafts_are_searchable_by_leads_and_admins_only(client_for, kb, who, expected):
    response = client_for(who).get(URL, {"q": "vpn linux", "status": "draft"})
    if who == "anonymous":
        assert_problem(response, 401)
        return
    assert [row["id"] for row in response.json()["results"]] == [kb["draft"].pk][:expected]


def test_archived_and_draft_are_not_searched_by_default(client_for, kb):
    found = {row["id"] for row in client_for("admin").get(URL, {"q": "vpn client"}).json()["results"]}
    assert kb["archived"].pk not in found and kb["draft"].pk not in found
    archived = client_for("admin").get(URL, {"q": "retired", "status": "archived"}).json()["results"]
    assert [row["id"] for row in archived] == [kb["archived"].pk]


def test_an_employee_never_finds_an_agents_only_article_on_the_same_words(client_for, people):
    lead = people["lead"]
    write(lead, title="Guest Wi-Fi password", body="Ask reception for the guest Wi-Fi password.")
    write(
        lead,
        title="Guest Wi-Fi password rotation",
        body="Agents rotate the guest Wi-Fi password every morning.",
        visibility=Visibility.AGENTS,
    )
    assert titles(client_for("employee").get(URL, {"q": "guest wi-fi password"})) == ["Guest Wi-Fi password"]
    assert len(titles(client_for("agent").get(URL, {"q": "guest wi-fi password"}))) == 2


def test_visibility_is_applied_before_ranking_and_paging(client_for, people):
    """Many better matches the employee may not read must not push theirs off the first page."""
    lead = people["lead"]
    for n in range(30):
        write(lead, title=f"Laptop laptop request {n}", body="laptop laptop", visibility=Visibility.AGENTS)
    mine = write(lead, title="Coffee machine", body="If the laptop charger is missing, ask.")
    response = client_for("employee").get(URL, {"q": "laptop", "page_size": 5})
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert response.json()["count"] == 1


def test_filters_category_with_subcategories_and_tags(client_for, kb, categories):
    agent = client_for("agent")
    in_network = {
        row["id"] for row in agent.get(URL, {"q": "vpn", "category": categories["network"].pk}).json()["results"]
    }
    assert in_network == {kb["public"].pk, kb["agents"].pk}  # VPN is a subcategory of Network
    in_vpn = {row["id"] for row in agent.get(URL, {"q": "vpn", "category": categories["vpn"].pk}).json()["results"]}
    assert in_vpn == {kb["public"].pk}
    tagged = {row["id"] for row in agent.get(URL, {"q": "vpn", "tags": "vpn,gateway"}).json()["results"]}
    assert tagged == {kb["agents"].pk}
    assert agent.get(URL, {"q": "vpn", "tags": "gate"}).json()["count"] == 0


def test_pages_and_counts(client_for, people):
    for n in range(7):
        write(people["lead"], title=f"Monitor flicker {n}", body="Check the monitor cable.")
    first = client_for("employee").get(URL, {"q": "monitor", "page_size": 3}).json()
    last = client_for("employee").get(URL, {"q": "monitor", "page_size": 3, "page": 3}).json()
    assert first["count"] == 7 and len(first["results"]) == 3 and first["next"]
    assert len(last["results"]) == 1 and last["next"] is None
    seen = {
        row["id"]
        for page in (1, 2, 3)
        for row in client_for("employee").get(URL, {"q": "monitor", "page_size": 3, "page": page}).json()["results"]
    }
    assert len(seen) == 7


def test_pages_across_the_two_tiers(client_for, people):
    for n in range(4):
        write(people["lead"], title=f"Docking station {n}", body="Plug the dock into the monitor.")
        write(people["lead"], title=f"Docking note {n}", body="Only the dock.")
    employee = client_for("employee")
    pages = [employee.get(URL, {"q": "dock monitor", "page_size": 3, "page": page}).json() for page in (1, 2, 3)]
    flags = [row["all_words"] for page in pages for row in page["results"]]
    assert flags == [True] * 4 + [False] * 4
    assert len({row["id"] for page in pages for row in page["results"]}) == 8
    assert all(page["count"] == 8 for page in pages)


def test_bad_queries_are_400(client_for, kb):
    employee = client_for("employee")
    assert "q" in assert_problem(employee.get(URL), 400)["errors"]
    assert "q" in assert_problem(employee.get(URL, {"q": "   ...  "}), 400)["errors"]
    assert "status" in assert_problem(employee.get(URL, {"q": "vpn", "status": "gone"}), 400)["errors"]
    assert employee.get(URL, {"q": "nothing-matches-this-zzzz"}).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_search_costs_a_constant_number_of_queries(client_for, people):
    employee = client_for("employee")
    lead = people["lead"]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = employee.get(URL, {"q": "printer toner", "page_size": 5})
            assert response.status_code == 200 and response.json()["results"]
        return len(captured)

    for n in range(10):
        write(lead, title=f"Printer toner {n}", body="Toner is in the cupboard.")
        write(lead, title=f"Printer {n}", body="Only one of the words.")
    few = queries()
    Article.objects.bulk_create(
        ArticleFactory.build(
            title=f"Printer note {n}",
            body="Printer toner and paper. " * (n % 5 + 1),
            author=lead,
            status=Status.PUBLISHED if n % 4 else Status.DRAFT,
            visibility=Visibility.EVERYONE if n % 3 else Visibility.AGENTS,
        )
        for n in range(1200)
    )
    # Sign-in, the count, the ranked page, the rows, the highlights (SQLite); PostgreSQL adds a
    # SET LOCAL per search query (and savepoints inside the test's transaction).
    assert queries() == few <= (7 if connection.vendor == "sqlite" else 12)


def test_the_search_limit(client_for, kb, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "kb_search_user": "2/m"}
    employee = client_for("employee")
    assert employee.get(URL, {"q": "vpn"}).status_code == 200
    assert employee.get(URL, {"q": "vpn"}).status_code == 200
    problem = assert_problem(employee.get(URL, {"q": "vpn"}), 429, "rate_limited")
    assert problem["status"] == 429


def test_edits_deletes_and_status_reach_the_index_at_once(client_for, people, kb):
    lead = people["lead"]
    employee = client_for("employee")
    services.article_update(actor=lead, article=kb["public"], version=1, body="Use the zebra gateway.")
    assert titles(employee.get(URL, {"q": "zebra"})) == ["Connect to the VPN"]
    services.article_archive(actor=lead, article=kb["public"])
    assert titles(employee.get(URL, {"q": "zebra"})) == []
    services.article_publish(actor=lead, article=kb["public"])
    services.article_delete(actor=lead, article=kb["public"])
    assert titles(employee.get(URL, {"q": "zebra"})) == []
