"""manage.py export_onnx [--out DIR] [--if-missing]: export the embedding model to ONNX, once.

The onnx runtime (AI_EMBEDDING_RUNTIME, ai_assist/ml/embed_onnx.py) serves from the export; it needs
no torch, and neither does the export (ai_assist/ml/onnx_export.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ai_assist.ml.embed_model import PACKAGED_MODEL
from ai_assist.ml.embed_onnx import exported_name


class Command(BaseCommand):
    help = (
        "Export the embedding model (AI_EMBEDDING_MODEL, default the packaged all-MiniLM-L6-v2) to ONNX "
        "for the onnx runtime. No torch: the packages of requirements-export.txt, from this venv when it has "
        "them, else installed into a temporary one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", help="Directory to write to (default: AI_ONNX_MODEL_DIR).")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing when an export of the configured model is there, or AI_EMBEDDING_RUNTIME is torch.",
        )

    def handle(self, *args, out: str | None = None, if_missing: bool = False, **options):
        from ai_assist.ml.embed import can_export
        from ai_assist.ml.onnx_export import ExportError, export_atomically, export_in_own_venv

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
            if can_export(settings.AI_EMBEDDING_MODEL):
                meta = export_atomically(target, settings.AI_EMBEDDING_MODEL, progress=progress)
            else:  # the serving venv (make run, the runtime set): the exporter's packages are not in it
                export_in_own_venv(target, settings.AI_EMBEDDING_MODEL, progress=progress)
                meta = json.loads((Path(target) / "embedder.json").read_text())
        except ExportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Exported {meta['name']} ({meta['dim']} dimensions) to {target}."))
