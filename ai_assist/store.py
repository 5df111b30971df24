"""Where the trained models live (VAR_DIR/ai/models.joblib) and the process's loaded copy.

Loaded once per process and re-read only when `train_router` wrote a new file. With no trained
file, routing starts cold from the departments' descriptions.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from django.conf import settings

from ai_assist import embeddings
from ai_assist.ml.pipeline import Models, cold_start_models

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: tuple[tuple, Models] | None = None
_unusable: set[tuple] = set()  # trained files (by path, time and size) already found unusable


def models_path() -> Path:
    return settings.AI_DIR / "models.joblib"


def _file_key(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return ("file", str(path), stat.st_mtime_ns, stat.st_size)


def current_models() -> Models | None:
    """The trained models, or the cold start from department descriptions, or None (no
    departments at all). A trained file that cannot serve (another format, another embedding
    model) is reported once and routing starts cold until `train_router` writes a good one."""
    global _loaded
    path = models_path()
    key = _file_key(path)
    if key is not None and key not in _unusable:
        loaded = _loaded
        if loaded is not None and loaded[0] == key:
            return loaded[1]
        with _lock:
            if _loaded is None or _loaded[0] != key:
                models, problem = _load(path)
                if problem is None:
                    _loaded = (key, models)
                    logger.info("Router loaded: trained on %d tickets at %s.", models.trained_on, models.trained_at)
                else:
                    logger.error("%s; routing starts cold from the department descriptions until then.", problem)
                    _unusable.add(key)
            if key not in _unusable:
                return _loaded[1]
    cold_key, build = _cold_key()
    if cold_key is None:
        return None
    loaded = _loaded
    if loaded is not None and loaded[0] == cold_key:
        return loaded[1]
    with _lock:
        if _loaded is None or _loaded[0] != cold_key:
            _loaded = (cold_key, build())
        return _loaded[1]


def _load(path: Path) -> tuple[Models | None, str | None]:
    try:
        models = Models.load(path)
    except Exception as exc:
        return None, f"{path} cannot be used ({exc}): run manage.py train_router"
    if models.embedding_model and models.embedding_model != embeddings.model_name():
        return None, (
            f"{path} was trained with embeddings of {models.embedding_model} but AI_EMBEDDING_MODEL is "
            f"{embeddings.model_name()}: run manage.py train_router"
        )
    return models, None


def _cold_key():
    from accounts.models import Department

    departments = list(Department.objects.order_by("id").values_list("id", "name", "description"))
    if not departments:
        return None, None
    digest = hashlib.sha256(repr(departments).encode()).hexdigest()

    def build() -> Models:
        texts = [f"{name}. {description}" for _, name, description in departments]
        return cold_start_models(
            labels=[pk for pk, _, _ in departments],
            description_embeddings=embeddings.embedder().embed(texts),
            embedding_model=embeddings.model_name(),
        )

    return ("cold", digest), build


def forget() -> None:
    """Drop the loaded copy (tests; after deleting the file)."""
    global _loaded
    _loaded = None
    _unusable.clear()
