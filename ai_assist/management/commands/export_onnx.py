"""manage.py export_onnx [--out DIR] [--if-missing]: export the embedding model to ONNX, once.

The onnx runtime (AI_EMBEDDING_RUNTIME, ai_assist/ml/embed_onnx.py) serves from the export; it needs
no torch, and neither does the export (ai_assist/ml/onnx_export.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ai_assist.ml.embed import PACKAGED_MODEL
from ai_assist.ml.embed_onnx import exported_name


class Command(BaseCommand):
    help = (
        "Export the embedding model (AI_EMBEDDING_MODEL, default the packaged all-MiniLM-L6-v2) to ONNX "
        "for the onnx runtime. Needs the packages of requirements-export.txt; no torch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", help="Directory to write to (default: AI_ONNX_MODEL_DIR).")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing when an export of the configured model is there, or AI_EMBEDDING_RUNTIME is torch.",
        )

    def handle(self, *args, out: str | None = None, if_missing: bool = False, **options):
        from ai_assist.ml.onnx_export import ExportError, export_atomically

        target = out or str(settings.AI_ONNX_MODEL_DIR)
        if if_missing:
            name = settings.AI_EMBEDDING_MODEL or PACKAGED_MODEL
            if settings.AI_EMBEDDING_RUNTIME == "torch":
                reason = "AI_EMBEDDING_RUNTIME=torch: nothing to export."
            elif exported_name(target) == name:
                reason = f"{name} is already exported in {target}."
            else:
                reason = ""
            if reason:
                if options["verbosity"] >= 1:
                    self.stdout.write(reason)
                return
        progress = self.stdout.write if options["verbosity"] >= 1 else (lambda _line: None)
        try:
            meta = export_atomically(target, settings.AI_EMBEDDING_MODEL, progress=progress)
        except ExportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Exported {meta['name']} ({meta['dim']} dimensions) to {target}."))
