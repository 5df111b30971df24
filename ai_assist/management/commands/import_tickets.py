"""manage.py import_tickets PATH.csv: load historical, labelled tickets (idempotent)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai_assist.importing import import_csv
from ai_assist.management.commands._columns import add_column_arguments, columns_from
from ai_assist.ml.data import ColumnsMissing


class Command(BaseCommand):
    help = (
        "Import historical tickets from a CSV: the label names the department (created when missing), finer "
        "labels become the category, status resolved, idempotent by the external id. Bad rows are reported "
        "with their line number and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file.")
        add_column_arguments(parser)
        parser.add_argument(
            "--department-prefix", default="Category ", help='Department name = prefix + label (default "Category ").'
        )
        parser.add_argument("--id-prefix", default="", help="Prefix of the external ids (to keep two sources apart).")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        quiet = options["verbosity"] < 1
        try:
            report = import_csv(
                path,
                columns=columns_from(options),
                department_prefix=options["department_prefix"],
                id_prefix=options["id_prefix"],
                progress=lambda rows: tqdm(rows, desc="Importing", unit="ticket", disable=quiet),
                index_progress=lambda batches: tqdm(batches, desc="Indexing", unit="batch of 256", disable=quiet),
            )
        except ColumnsMissing as exc:
            raise CommandError(str(exc)) from None
        for line, message in report.errors:
            self.stderr.write(f"{path}:{line}: skipped: {message}")
        if report.departments_created:
            self.stdout.write(f"Departments created: {', '.join(report.departments_created)}")
        summary = f"{report.created} imported, {report.existing} already there, {len(report.errors)} rows skipped."
        self.stdout.write(self.style.SUCCESS(summary))
