"""Re-create what derives from articles: lost version rows, tag rows and the search index."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from knowledge import services


class Command(BaseCommand):
    help = "Repair the knowledge base's derived data (version rows, tag rows, full-text index)."

    def handle(self, *args, **options):
        quiet = options.get("verbosity", 1) < 1
        report = services.articles_rebuild_derived(
            progress=lambda items: tqdm(items, desc="Articles", unit="article", disable=quiet)
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{report['articles']} articles: {report['versions_recreated']} version rows re-created, "
                f"{report['tags']} tags synced, search index rebuilt."
            )
        )
