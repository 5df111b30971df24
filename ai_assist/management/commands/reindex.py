"""manage.py reindex [--only kb|tickets] [--if-stale]: rebuild the vector index from the database."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_assist import retrieval

SAMPLE = 50  # the newest rows whose records --if-stale looks for


class Command(BaseCommand):
    help = "Rebuild the Chroma index (tickets and knowledge-base articles) from the database."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=["kb", "tickets"], help="Rebuild one part only.")
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help=(
                "Rebuild a part only when its newest rows are missing from the index (an upgrade that "
                "changed how it is cut, or writes made while it was away); `make run` and the compose "
                "stack's migrate step run this."
            ),
        )

    def handle(self, *args, only: str | None = None, if_stale: bool = False, **options):
        quiet = options["verbosity"] < 1
        if only in (None, "tickets"):
            from tickets.models import Ticket

            tickets = Ticket.objects.filter(deleted_at__isnull=True)
            corpus = retrieval.ticket_corpus()
            if if_stale and corpus.current(list(tickets.order_by("-updated_at")[:SAMPLE])):
                self.stdout.write("The ticket index is current.")
            else:
                done = corpus.rebuild(
                    tickets.order_by("id").iterator(chunk_size=500),
                    total=tickets.count(),
                    progress=lambda total: tqdm(total=total, desc="Tickets", unit="ticket", disable=quiet),
                )
                self.stdout.write(self.style.SUCCESS(f"Indexed {done} tickets."))
        if only in (None, "kb"):
            from knowledge import policies
            from knowledge.models import Article

            articles = Article.objects.filter(policies.articles_ai_reads()).select_related("category")
            corpus = retrieval.article_corpus()
            if if_stale and corpus.current(list(articles.order_by("-updated_at")[:SAMPLE])):
                self.stdout.write("The knowledge-base index is current.")
            else:
                total = articles.count()
                chunks = corpus.rebuild(
                    articles.order_by("id"),
                    progress=lambda rows: tqdm(rows, total=total, desc="Articles", unit="article", disable=quiet),
                )
                self.stdout.write(self.style.SUCCESS(f"Indexed {chunks} chunks of {total} published articles."))
