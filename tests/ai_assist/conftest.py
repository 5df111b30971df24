"""AI tests: each test gets its own AI directory (models, Chroma index); the embedding model is
the process's singleton, loaded once per test session (about 5 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_assist import retrieval, store

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def ai_dir(settings, tmp_path):
    settings.AI_DIR = tmp_path / "ai"
    settings.AI_AUTO_ROUTE = True
    settings.AI_ROUTER_ABSTAIN_BELOW = 0.85
    retrieval.reset()
    store.forget()
    yield settings.AI_DIR
    retrieval.reset()
    store.forget()


@pytest.fixture(scope="session")
def embedder():
    from ai_assist import embeddings

    return embeddings.embedder()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the code defers to after commit (routing, indexing), as production does."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run
