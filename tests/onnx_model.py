"""The test run's ONNX export of the embedding model (what production serves with, decision 0020).

helpdesk/settings/test.py names the folder (AI_ONNX_MODEL_DIR, under ~/.cache/helpdesk-ai-tests/,
keyed by the exporter's source and the model's version); `ensure_exported` writes it the first time
and every later run, and every xdist worker, reuses it. Two processes that find it missing at once
(two workers, two runs) export one after the other under a file lock, and the export is written
beside the folder and renamed into place, so nobody ever reads half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

from ai_assist.ml.embed_onnx import is_exported


def ensure_exported(directory: Path, model: str = "") -> Path:
    """`directory` holds a complete export of `model` ("" = the packaged MiniLM) when this returns."""
    if is_exported(directory):
        return directory
    from ai_assist.ml.onnx_export import export

    directory.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{directory}.lock", timeout=600):
        if is_exported(directory):  # another process exported it while we waited
            return directory
        if directory.exists():  # an incomplete folder left by something else: never read it
            shutil.rmtree(directory)
        scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            export(scratch, model, progress=lambda _line: None)
            os.replace(scratch, directory)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return directory
