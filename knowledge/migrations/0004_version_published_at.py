# A version that was never published is a draft, read by the article's editors only
# (docs/decisions/0023-article-history.md). Existing history is stamped from what the article
# itself records of its latest time live: the version it showed when last published, and every
# version written after that while it stayed published. Earlier periods live are not recorded
# anywhere, so their versions stay unstamped: editors still see them, readers do not (closed, not open).

from django.db import migrations, models


def stamp_published_versions(apps, schema_editor):
    Article = apps.get_model("knowledge", "Article")
    ArticleVersion = apps.get_model("knowledge", "ArticleVersion")
    for article in Article.objects.filter(published_at__isnull=False).only(
        "id", "status", "published_at", "archived_at"
    ):
        versions = ArticleVersion.objects.filter(article_id=article.pk)
        shown_then = versions.filter(created_at__lte=article.published_at).order_by("-number").first()
        live = versions.filter(created_at__gte=article.published_at)
        if article.status != "published":
            ended = article.archived_at if article.archived_at and article.archived_at > article.published_at else None
            live = live.filter(created_at__lte=ended) if ended else live.none()
        numbers = [*live.values_list("number", flat=True), *([shown_then.number] if shown_then else [])]
        versions.filter(number__in=numbers, published_at__isnull=True).update(published_at=article.published_at)


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0003_article_revision_last_event'),
    ]

    operations = [
        migrations.AddField(
            model_name='articleversion',
            name='published_at',
            field=models.DateTimeField(blank=True, help_text='When this version first went live; empty: never published (editors only).', null=True),
        ),
        migrations.RunPython(stamp_published_versions, migrations.RunPython.noop),
    ]
