"""The ticket list's cursor form (keyset pagination, decision 0021): any depth at the cost of the
first page, every ticket exactly once while others write, and a bad cursor is a 400 problem."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.api.pagination import KeysetPagination
from tests.factories import TicketFactory
from tests.helpers import assert_problem
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/"


@pytest.fixture
def many(people, department):
    """60 tickets of the agent's department; 20 of them share one creation time (ties on created_at)."""
    Ticket.objects.bulk_create(
        TicketFactory.build(requester=people["employee"], department=department) for _ in range(60)
    )
    start = timezone.now() - timedelta(days=30)
    for n, pk in enumerate(Ticket.objects.order_by("pk").values_list("pk", flat=True)):
        at = start if n % 3 == 0 else start + timedelta(minutes=n)
        Ticket.objects.filter(pk=pk).update(created_at=at)
    return list(Ticket.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


def walk(client, url, params=None, key="next"):
    """Follow `key` links from url; the ids of every page, in order."""
    pages, response = [], client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body
        pages.append([row["id"] for row in body["results"]])
        if not body[key]:
            return pages
        response = client.get(body[key])


def test_walking_by_cursor_yields_every_ticket_once_while_tickets_are_created(client_for, people, department, many):
    agent = client_for("agent")
    seen, link = [], f"{URL}?cursor=&page_size=7"
    while link:
        body = agent.get(link).json()
        assert len(body["results"]) <= 7
        seen += [row["id"] for row in body["results"]]
        if len(seen) == 14:  # mid-walk: new tickets (the newest, so before the walk's position)
            for n in range(5):
                services.ticket_create(
                    requester=people["employee"], title=f"new {n}", description="d", department=department
                )
        last, link = link, body["next"]
    assert seen == many  # every ticket of the start exactly once, in the list's order

    # And back: `previous` from the last page retraces the list, now with the new tickets in front.
    backwards = [pk for page in reversed(walk(agent, last, key="previous")) for pk in page]
    assert backwards[5:] == many
    assert len(set(backwards[:5]) - set(many)) == 5


def test_oldest_first_walks_the_same_index_the_other_way(client_for, many):
    pages = walk(client_for("agent"), URL, {"cursor": "", "page_size": 9, "ordering": "created_at"})
    assert [pk for page in pages for pk in page] == list(reversed(many))


def test_a_deep_page_by_cursor_costs_the_queries_of_the_first(client_for, people, department, monkeypatch):
    monkeypatch.setattr(KeysetPagination, "max_offset", 100)  # page numbers reach 100 rows here
    Ticket.objects.bulk_create(
        TicketFactory.build(requester=people["employee"], department=department) for _ in range(400)
    )
    order = list(Ticket.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    agent = client_for("agent")
    agent.get(URL)  # warm: SLA policies are cached for a minute, as in production

    # The last page numbers reach hands over to the cursor form.
    body = agent.get(URL, {"page": 4, "page_size": 25}).json()
    assert [row["id"] for row in body["results"]] == order[75:100]
    assert "cursor=" in body["next"] and "page=" not in body["next"]
    assert_problem(agent.get(URL, {"page": 5, "page_size": 25}), 400, "page_too_deep")

    with CaptureQueriesContext(connection) as first:
        assert agent.get(URL, {"cursor": "", "page_size": 25}).status_code == 200
    link, depth = body["next"], 100
    while depth < 350:
        with CaptureQueriesContext(connection) as deep:
            response = agent.get(link)
        body = response.json()
        assert [row["id"] for row in body["results"]] == order[depth : depth + 25]
        assert len(deep) == len(first) == 2  # the user (JWT), the page with its people: no count, no OFFSET
        link, depth = body["next"], depth + 25
    assert "OFFSET" not in deep.captured_queries[-1]["sql"].upper()


def test_the_page_number_count_stops_where_page_numbers_stop(client_for, people, department, monkeypatch):
    """Counting a million rows for page 1 is paid for nothing: page numbers reach max_offset rows."""
    monkeypatch.setattr(KeysetPagination, "max_offset", 50)
    Ticket.objects.bulk_create(
        TicketFactory.build(requester=people["employee"], department=department) for _ in range(80)
    )
    agent = client_for("agent")
    with CaptureQueriesContext(connection) as queries:
        body = agent.get(URL, {"page_size": 10}).json()
    assert body["count"] == 50 and body["count_capped"] is True and len(body["results"]) == 10
    counting = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counting and all("LIMIT 51" in sql.upper() for sql in counting), counting

    Ticket.objects.filter(pk__in=list(Ticket.objects.values_list("pk", flat=True)[:40])).delete()
    body = agent.get(URL, {"page_size": 10, "status": "new"}).json()  # another filter: another count
    assert body["count"] == 40 and body["count_capped"] is False


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],
        lambda t: "x" + t,
        lambda t: "garbage",
        lambda t: "a:b:c",
    ],
)
def test_a_tampered_cursor_is_a_400_problem(client_for, many, mangle):
    agent = client_for("agent")
    token = agent.get(URL, {"cursor": "", "page_size": 5}).json()["next"].split("cursor=")[1]
    from urllib.parse import unquote

    assert_problem(agent.get(URL, {"cursor": mangle(unquote(token))}), 400, "invalid_cursor")


def test_a_cursor_belongs_to_its_order(client_for, many):
    agent = client_for("agent")
    from urllib.parse import parse_qs, urlsplit

    token = parse_qs(urlsplit(agent.get(URL, {"cursor": "", "page_size": 5}).json()["next"]).query)["cursor"][0]
    assert_problem(agent.get(URL, {"cursor": token, "ordering": "created_at"}), 400, "invalid_cursor")
    assert_problem(agent.get(URL, {"cursor": "", "ordering": "-priority"}), 400, "cursor_unsupported_ordering")


def test_the_schema_describes_both_forms(schema):
    operation = schema["paths"][URL]["get"]
    assert {"page", "page_size", "cursor"} <= {p["name"] for p in operation["parameters"]}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in page:
        page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert set(page["required"]) == {"next", "previous", "results"}  # count: page-number form only
    assert {"count", "next", "previous", "results"} <= set(page["properties"])


def test_a_ticket_s_comments_keep_page_numbers(client_for, people, department):
    ticket = services.ticket_create(requester=people["employee"], title="T", description="D", department=department)
    for n in range(3):
        services.comment_add(actor=people["agent"], ticket=ticket, body=f"reply {n}")
    agent = client_for("agent")
    body = agent.get(f"{URL}{ticket.pk}/comments/", {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert_problem(agent.get(f"{URL}{ticket.pk}/comments/", {"cursor": ""}), 400, "cursor_unsupported_ordering")
