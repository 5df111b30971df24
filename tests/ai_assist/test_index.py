"""The vector index: rebuilt from the database, kept current by domain events."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from ai_assist import retrieval
from ai_assist.retrieval import chroma
from ai_assist.retrieval.tickets import TICKETS
from tickets import services
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.ai_consumers]  # routing and the index hear the events


def _ids() -> set[str]:
    return set(retrieval.ticket_corpus().ids())


def _writes(settings) -> int:
    """How many writes the ticket collection's write log holds (ai_assist.retrieval.chroma)."""
    path = settings.AI_DIR / "chroma" / f"{TICKETS}.writes"
    return path.stat().st_size if path.exists() else 0


def test_reindex_rebuilds_the_ticket_index_from_the_database(people, department, embedder):
    kept = services.ticket_create(requester=people["employee"], title="Printer", description="jammed")
    gone = services.ticket_create(requester=people["employee"], title="Old", description="deleted one")
    Ticket.objects.filter(pk=gone.pk).update(deleted_at=kept.created_at)
    retrieval.ticket_corpus().upsert([gone])  # stale: the index still has it
    call_command("reindex", "--only", "tickets", verbosity=0)
    assert _ids() == {kept.pk}
    meta = retrieval.ticket_corpus().collection().get(ids=[kept.pk], include=["metadatas"])["metadatas"][0]
    assert meta["requester"] == people["employee"].pk and meta["visibility"] == "triage" and meta["status"] == "new"


def test_events_keep_the_index_current(people, department, committed, settings, embedder):
    settings.AI_AUTO_ROUTE = False
    ticket = committed(
        services.ticket_create, requester=people["employee"], title="VPN drops", description="every hour"
    )
    assert _ids() == {ticket.pk}
    writes = _writes(settings)
    committed(services.comment_add, actor=people["admin"], ticket=ticket, body="zebra firmware", internal=True)
    committed(services.comment_add, actor=people["employee"], ticket=ticket, body="also the wifi is slow")
    assert _writes(settings) > writes  # other processes learn of it before their next query
    document = retrieval.ticket_corpus().collection().get(ids=[ticket.pk], include=["documents"])["documents"][0]
    assert "wifi is slow" in document and "zebra" not in document  # internal notes are never indexed
    ticket.refresh_from_db()
    committed(
        services.ticket_update, actor=people["admin"], ticket=ticket, department=department, category="vpn/client"
    )
    stored = retrieval.ticket_corpus().collection().get(include=["metadatas"])["metadatas"]
    assert [meta["label"] for meta in stored] == [f"{department.pk}|vpn|client"]
    ticket.refresh_from_db()
    committed(services.ticket_delete, actor=people["admin"], ticket=ticket)
    assert _ids() == set()
    ticket.refresh_from_db()
    committed(services.ticket_restore, actor=people["admin"], ticket=ticket)
    assert _ids() == {ticket.pk}


def test_published_articles_are_chunked_with_their_metadata(people, committed, embedder):
    from knowledge import services as kb
    from tests.factories import CategoryFactory

    category = CategoryFactory(name="VPN")
    article = kb.article_create(
        actor=people["lead"], title="Fix VPN drops", body="Step. " * 400, category=category, visibility=20
    )
    assert retrieval.article_corpus().collection().count() == 0  # a draft is not indexed
    committed(kb.article_publish, actor=people["lead"], article=article)
    stored = retrieval.article_corpus().collection().get(include=["metadatas", "documents"])
    assert len(stored["ids"]) > 1  # long enough to be split
    assert {m["article_id"] for m in stored["metadatas"]} == {article.pk}
    assert {(m["version"], m["visibility"], m["category"]) for m in stored["metadatas"]} == {
        (article.version, 20, "VPN")
    }
    article.refresh_from_db()
    committed(kb.article_archive, actor=people["lead"], article=article)
    assert retrieval.article_corpus().collection().count() == 0
    article.refresh_from_db()
    committed(kb.article_publish, actor=people["lead"], article=article)
    retrieval.article_corpus().drop()
    call_command("reindex", "--only", "kb", verbosity=0)
    assert retrieval.article_corpus().collection().count() == len(stored["ids"])


def test_reindex_if_stale_rebuilds_an_index_cut_the_old_way_and_leaves_a_current_one(people, committed, embedder):
    from knowledge import services as kb

    article = kb.article_create(actor=people["lead"], title="Reset a password", body="Open the portal. Choose reset.")
    committed(kb.article_publish, actor=people["lead"], article=article)
    ticket = committed(services.ticket_create, requester=people["employee"], title="VPN", description="drops")
    corpus = retrieval.article_corpus()
    current = corpus.collection().get(include=["embeddings", "documents", "metadatas"])
    corpus.drop()  # as an upgrade finds it: the same units under the ids of an older cut
    corpus.collection().add(
        ids=[unit_id.replace(":s", ":") for unit_id in current["ids"]],
        embeddings=current["embeddings"],
        documents=current["documents"],
        metadatas=current["metadatas"],
    )
    retrieval.ticket_corpus().delete([ticket.pk])  # a ticket written while the index was away
    out = StringIO()
    call_command("reindex", "--if-stale", stdout=out)
    assert sorted(corpus.collection().get()["ids"]) == sorted(current["ids"])
    assert _ids() == {ticket.pk}
    assert "Indexed 1 tickets" in out.getvalue()

    out = StringIO()
    call_command("reindex", "--if-stale", stdout=out)
    assert out.getvalue().splitlines() == ["The ticket index is current.", "The knowledge-base index is current."]


@pytest.mark.own_chroma  # the embedded index's own folder under AI_DIR
def test_chroma_runs_embedded_without_telemetry_or_over_http(settings, monkeypatch):
    assert chroma.client().get_settings().anonymized_telemetry is False
    assert (settings.AI_DIR / "chroma").is_dir()
    calls = {}

    def fake_http_client(**kwargs):
        calls.update(kwargs)
        return "http-client"

    import chromadb

    monkeypatch.setattr(chromadb, "HttpClient", fake_http_client)
    settings.CHROMA_URL = "https://chroma.internal:8443"
    retrieval.reset()
    assert chroma.client() == "http-client"
    assert (calls["host"], calls["port"], calls["ssl"]) == ("chroma.internal", 8443, True)
    assert calls["settings"].anonymized_telemetry is False
    retrieval.reset()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (the `chroma` command of the chromadb package) on a free port."""
    import shutil
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    command = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(command).is_file():
        pytest.skip("the chromadb package's `chroma` command is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [command, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Chroma server did not answer within 10 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_over_a_chroma_server_the_index_rebuilds_and_ranks_only_visible_tickets(
    settings, chroma_server, people, department, client_for, embedder
):
    settings.CHROMA_URL = chroma_server
    retrieval.reset()
    try:
        retrieval.ticket_corpus().drop()
        mine = services.ticket_create(requester=people["employee"], title="VPN drops", description="every hour")
        other = services.ticket_create(requester=people["admin"], title="VPN drops too", description="every hour")
        call_command("reindex", "--only", "tickets", verbosity=0)
        import chromadb

        host, port = chroma_server.rsplit(":", 1)
        on_server = chromadb.HttpClient(host=host.removeprefix("http://"), port=int(port))
        assert on_server.get_collection(TICKETS).count() == 2  # the vectors live on the server
        assert _ids() == {mine.pk, other.pk}
        found = client_for("employee").post(
            "/api/v1/ai/similar/", {"title": "VPN drops", "description": "hourly"}, format="json"
        )
        assert [item["ticket"]["id"] for item in found.json()] == [mine.pk]
        admin_found = client_for("admin").post(
            "/api/v1/ai/similar/", {"title": "VPN drops", "description": "hourly"}, format="json"
        )
        assert {item["ticket"]["id"] for item in admin_found.json()} == {mine.pk, other.pk}
    finally:
        retrieval.ticket_corpus().drop()
        retrieval.reset()


OTHER_PROCESS = """
import sys, django
from types import SimpleNamespace
import numpy as np
django.setup()
from ai_assist import retrieval
ticket = SimpleNamespace(pk=sys.argv[1], public_text="vpn drops", title="VPN", description="", department_id=None,
                         requester_id="", assignee_id="", status="new", category="", deleted_at=None)
retrieval.ticket_corpus().upsert([ticket], vectors=np.eye(1, 384, dtype=np.float32))
"""


@pytest.mark.own_chroma  # the embedded index's own folder under AI_DIR
def test_another_process_writing_the_embedded_index_is_seen_without_a_shared_cache(settings, tmp_path):
    # e.g. `manage.py import_tickets` in a second terminal while `make run` serves.
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    import numpy as np

    assert tmp_path / "ai" == settings.AI_DIR
    mine = SimpleNamespace(
        pk="mine",
        public_text="printer",
        title="P",
        description="",
        department_id=None,
        requester_id="",
        assignee_id="",
        status="new",
        category="",
        deleted_at=None,
    )
    retrieval.ticket_corpus().upsert([mine], vectors=np.eye(1, 384, dtype=np.float32))
    assert _ids() == {"mine"}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.main", "DEBUG": "true", "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    for other in ("theirs", "theirs-too"):
        subprocess.run([sys.executable, "-c", OTHER_PROCESS, other], env=env, check=True, timeout=120)
        assert other in _ids()
    assert _ids() == {"mine", "theirs", "theirs-too"}


def test_a_collection_larger_than_one_read_is_read_page_by_page(monkeypatch):
    """One unpaged read of 200,000 records exceeds SQLite's variable limit inside Chroma."""
    monkeypatch.setattr(chroma, "READ_PAGE", 3)
    corpus = retrieval.article_corpus()
    corpus.collection().upsert(
        ids=[f"a{n}:1:0" for n in range(7)],
        embeddings=np.eye(7, 384, dtype=np.float32),
        documents=[f"unit {n}" for n in range(7)],
        metadatas=[{"article_id": f"a{n}", "visibility": 10, "chunk": 0, "block": 0, "title": "t"} for n in range(7)],
    )
    read = chroma.read_all(corpus.name, ["embeddings", "documents"])
    assert sorted(read["ids"]) == [f"a{n}:1:0" for n in range(7)]
    assert read["embeddings"].shape == (7, 384) and read["documents"][read["ids"].index("a3:1:0")] == "unit 3"
    assert np.allclose(read["embeddings"][read["ids"].index("a3:1:0")], np.eye(7, 384)[3])
