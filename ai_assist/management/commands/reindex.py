"""manage.py reindex [--only kb|tickets]: rebuild the vector index from the database."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_assist import retrieval


class Command(BaseCommand):
    help = "Rebuild the Chroma index (tickets and knowledge-base articles) from the database."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=["kb", "tickets"], help="Rebuild one part only.")

    def handle(self, *args, only: str | None = None, **options):
        quiet = options["verbosity"] < 1
        if only in (None, "tickets"):
            from tickets.models import Ticket

            tickets = Ticket.objects.filter(deleted_at__isnull=True).order_by("id")
            done = retrieval.ticket_corpus().rebuild(
                tickets.iterator(chunk_size=500),
                total=tickets.count(),
                progress=lambda total: tqdm(total=total, desc="Tickets", unit="ticket", disable=quiet),
            )
            self.stdout.write(self.style.SUCCESS(f"Indexed {done} tickets."))
        if only in (None, "kb"):
            from knowledge import policies
            from knowledge.models import Article

            articles = Article.objects.filter(policies.articles_ai_reads()).select_related("category").order_by("id")
            total = articles.count()
            chunks = retrieval.article_corpus().rebuild(
                articles,
                progress=lambda rows: tqdm(rows, total=total, desc="Articles", unit="article", disable=quiet),
            )
            self.stdout.write(self.style.SUCCESS(f"Indexed {chunks} chunks of {total} published articles."))
