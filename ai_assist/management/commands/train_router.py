"""manage.py train_router: learn routing (and similar-ticket labels) from tickets with a department."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_assist import store
from ai_assist.training import train_from_database


class Command(BaseCommand):
    help = (
        "Train the router from the tickets whose department is known and store it under VAR_DIR/ai/. "
        "With too little history, routing starts cold from the departments' descriptions."
    )

    def handle(self, *args, **options):
        quiet = options["verbosity"] < 1
        report = train_from_database(
            embed_progress=lambda steps: tqdm(steps, desc="Embedding", unit="batch", disable=quiet),
            progress=lambda steps: tqdm(steps, desc="Training (cross-validated folds)", unit="fold", disable=quiet),
        )
        if report.cold:
            self.stdout.write(
                self.style.WARNING(
                    f"Not enough history ({report.tickets} tickets in {report.departments} departments): routing "
                    "uses the departments' descriptions until there is more."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Router trained on {report.tickets} tickets of {report.departments} departments "
                f"({report.models.name}); stored in {store.models_path()}."
            )
        )
