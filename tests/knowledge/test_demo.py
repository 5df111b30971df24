"""seed_demo's knowledge base: original articles in several categories and visibilities, idempotent."""

import pytest

from accounts.models import User
from knowledge import selectors
from knowledge.models import Article, ArticleVersion, Category, Status, Visibility
from tests.helpers import seed_demo_data

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_published_articles_once():
    seed_demo_data()
    count = Article.objects.count()
    assert count >= 10 and Article.objects.filter(status=Status.PUBLISHED).count() == count
    assert Category.objects.filter(parent__isnull=False).exists()  # one nested category
    assert Article.objects.values("category").distinct().count() >= 5
    visibilities = set(Article.objects.values_list("visibility", flat=True))
    assert visibilities == {Visibility.EVERYONE, Visibility.AGENTS, Visibility.LEADS}
    assert ArticleVersion.objects.count() == count
    seed_demo_data()
    assert Article.objects.count() == count and ArticleVersion.objects.count() == count


def test_demo_articles_are_found_by_who_may_read_them():
    seed_demo_data()
    employee = User.objects.get(email="employee@example.com")
    agent = User.objects.get(email="agent.network@example.com")
    titles = [r["article"]["title"] for r in selectors.search_hits_for(user=employee, q="reset password")[0:5]]
    assert titles[0] == "Reset a forgotten password"
    vpn_employee = {r["article"]["title"] for r in selectors.search_hits_for(user=employee, q="vpn session")[0:20]}
    vpn_agent = {r["article"]["title"] for r in selectors.search_hits_for(user=agent, q="vpn session")[0:20]}
    assert "Reset a user's stuck VPN session" in vpn_agent - vpn_employee
    lost = {r["article"]["title"] for r in selectors.search_hits_for(user=agent, q="lost laptop")[0:20]}
    assert "Lost or stolen laptop: lead checklist" not in lost
