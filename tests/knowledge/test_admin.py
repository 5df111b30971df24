"""Django admin for the knowledge base: version history inline, edits through the services (new
version, stale forms refused), publish/archive/revert actions, filters, and who gets in."""

import pytest

from knowledge import services
from knowledge.models import Article, ArticleVersion, Category, Status, Visibility
from tests.helpers import browser_for

pytestmark = pytest.mark.django_db

LIST = "/admin/knowledge/article/"


def change_url(article) -> str:
    return f"{LIST}{article.pk}/change/"


def form_data(article, **overrides) -> dict:
    data = {
        "title": article.title,
        "slug": article.slug,
        "summary": article.summary,
        "body": article.body,
        "category": article.category_id or "",
        "tags": ", ".join(article.tags),
        "visibility": article.visibility,
        "change_note": "",
        "version": article.version,
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_leads_and_admins_get_in_others_do_not(people, kb):
    for who in ("lead", "admin"):
        page = browser_for(people[who]).get(LIST).content.decode()
        assert "VPN vendor escalation" in page and "VPN on Linux" in page
    for who in ("employee", "agent"):
        assert browser_for(people[who]).get(LIST).status_code == 302


def test_filters_by_category_status_and_visibility(people, kb, categories):
    lead = browser_for(people["lead"])
    page = lead.get(LIST, {"status__exact": "draft"}).content.decode()
    assert "VPN on Linux" in page and "Connect to the VPN" not in page
    page = lead.get(LIST, {"visibility__exact": Visibility.AGENTS}).content.decode()
    assert "VPN gateway restart" in page and "Connect to the VPN" not in page
    page = lead.get(LIST, {"category__id__exact": categories["vpn"].pk}).content.decode()
    assert "Connect to the VPN" in page and "VPN gateway restart" not in page


def test_the_change_page_shows_the_version_history(people, kb):
    article = services.article_update(
        actor=people["lead"], article=kb["public"], version=1, body="New text", change_note="Clarified the steps"
    )
    page = browser_for(people["lead"]).get(change_url(article)).content.decode()
    assert "version history" in page.lower() and "Clarified the steps" in page and "Created." in page


def test_an_edit_makes_a_version_and_a_stale_form_is_refused(people, kb):
    article = kb["public"]
    lead = browser_for(people["lead"])
    response = lead.post(change_url(article), form_data(article, body="Edited in admin", change_note="admin edit"))
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    assert (article.body, article.version, article.change_note) == ("Edited in admin", 2, "admin edit")
    assert ArticleVersion.objects.filter(article=article).count() == 2
    stale = form_data(article, body="From an old form", version=1)
    lead.post(change_url(article), stale, follow=True)
    article.refresh_from_db()
    assert (article.body, article.version) == ("Edited in admin", 2)


def test_adding_an_article_in_admin_goes_through_the_services(people, categories):
    data = {
        "title": "Badge does not open the door",
        "slug": "",
        "summary": "",
        "body": "Hold the badge flat for two seconds.",
        "category": categories["hardware"].pk,
        "tags": "badges, doors",
        "visibility": Visibility.EVERYONE,
        "change_note": "",
        "version": "",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
    }
    response = browser_for(people["lead"]).post(f"{LIST}add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get(title="Badge does not open the door")
    assert (article.status, article.tags, article.author) == (Status.DRAFT, ["badges", "doors"], people["lead"])
    assert ArticleVersion.objects.filter(article=article, number=1).exists()


def test_bulk_publish_archive_and_revert(people, kb):
    lead = browser_for(people["lead"])
    lead.post(LIST, {"action": "publish", "_selected_action": [kb["draft"].pk]})
    kb["draft"].refresh_from_db()
    assert kb["draft"].status == Status.PUBLISHED
    lead.post(LIST, {"action": "archive", "_selected_action": [kb["public"].pk, kb["agents"].pk]})
    assert set(Article.objects.filter(status=Status.ARCHIVED).values_list("title", flat=True)) == {
        "Connect to the VPN",
        "VPN gateway restart",
        "Old VPN client",
    }
    article = services.article_update(actor=people["lead"], article=kb["leads"], version=1, title="Renamed")
    article = services.article_update(actor=people["lead"], article=article, version=2, title="Renamed again")
    lead.post(LIST, {"action": "revert", "_selected_action": [article.pk], "version": ""})
    article.refresh_from_db()
    assert (article.title, article.version) == ("Renamed", 4)
    lead.post(LIST, {"action": "revert", "_selected_action": [article.pk], "version": "1"})
    article.refresh_from_db()
    assert (article.title, article.version, article.change_note) == (
        "VPN vendor escalation",
        5,
        "Reverted to version 1.",
    )


def test_categories_in_admin_keep_one_level(people, categories):
    lead = browser_for(people["lead"])
    response = lead.post(
        "/admin/knowledge/category/add/",
        {"name": "Too deep", "slug": "too-deep", "parent": categories["vpn"].pk, "description": ""},
    )
    assert response.status_code == 200  # the form refuses a parent that is not top-level
    assert not Category.objects.filter(name="Too deep").exists()
    response = lead.post(
        "/admin/knowledge/category/add/",
        {"name": "Wi-Fi", "slug": "wi-fi", "parent": categories["network"].pk, "description": ""},
    )
    assert response.status_code == 302
    assert Category.objects.get(name="Wi-Fi").parent == categories["network"]


def test_tags_are_edited_as_comma_separated_text(people, kb):
    article = kb["public"]
    lead = browser_for(people["lead"])
    assert 'name="tags" value="vpn, remote"' in lead.get(change_url(article)).content.decode()
    response = lead.post(change_url(article), form_data(article, tags=" VPN, Remote  Access ,vpn,"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.tags == ["vpn", "remote access"]
    response = lead.post(change_url(article), form_data(article, tags="x" * 51))
    assert response.status_code == 200 and "too long" in response.content.decode()  # a form error, not a 500
    article.refresh_from_db()
    assert article.tags == ["vpn", "remote access"]


def test_bulk_actions_report_what_the_services_refused(people, kb):
    response = browser_for(people["lead"]).post(
        LIST, {"action": "revert", "_selected_action": [kb["public"].pk], "version": ""}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reverted 0 article(s)." in page and "Skipped Connect to the VPN: It has only one version." in page
