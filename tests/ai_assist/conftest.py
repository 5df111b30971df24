"""AI tests: each test gets its own AI directory (trained models, embedding caches, the index's
generation stamps) and an empty vector index. The index lives in one embedded Chroma per test run
(per xdist worker), whose collections are dropped after each test: opening a new Chroma per test cost
more than most tests. A test about the embedded index itself (where its files are, another process
writing them) is marked `own_chroma` and gets a Chroma of its own under its AI directory. The
embedding model is the process's singleton (the ONNX export: helpdesk/settings/test.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from ai_assist import retrieval, store
from ai_assist.retrieval import chroma

DATA = Path(__file__).parent / "data"


class SharedChroma:
    """This worker's embedded Chroma, in a folder of the run, opened as the product opens it. Opened
    again if a test closed every embedded client (chroma._reopen_embedded clears Chroma's cache)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._client = None

    def client(self):
        if self._client is not None:
            try:
                self._client.heartbeat()
            except Exception:  # closed under us: open it again
                self._client = None
        if self._client is None:
            with override_settings(AI_DIR=self.folder, CHROMA_URL=""):
                chroma.reset_client()
                self._client = chroma.client()
                chroma.reset_client()
        return self._client

    def empty(self) -> None:
        client = self.client()
        for each in client.list_collections():
            client.delete_collection(each if isinstance(each, str) else each.name)


@pytest.fixture(scope="session")
def shared_chroma(tmp_path_factory) -> SharedChroma:
    return SharedChroma(tmp_path_factory.mktemp("shared-ai"))


@pytest.fixture(autouse=True)
def ai_dir(request, settings, tmp_path, shared_chroma):
    settings.AI_DIR = tmp_path / "ai"
    settings.AI_AUTO_ROUTE = True
    settings.AI_ROUTER_ABSTAIN_BELOW = 0.85
    own = request.node.get_closest_marker("own_chroma") is not None
    retrieval.reset()
    store.forget()
    if not own:
        shared_chroma.empty()
        chroma._client = shared_chroma.client()
    yield settings.AI_DIR
    retrieval.reset()
    store.forget()
    if not own:
        shared_chroma.empty()


@pytest.fixture(scope="session")
def embedder():
    from ai_assist import embeddings

    return embeddings.embedder()


@pytest.fixture
def committed(django_capture_on_commit_callbacks, ai_consumers):
    """Run what the code defers to after commit (routing, indexing), as production does: with the
    AI's consumers on (tests/conftest.py)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run
