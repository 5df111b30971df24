"""How much one upload raises the server's peak memory, measured in a process of its own.

    .venv/bin/python tests/helpdesk/upload_memory.py ticket:docx-bomb kb:docx-bomb ...

Run from the checkout (tests/helpdesk/test_upload_memory.py runs it). It sets up a throwaway
SQLite database in a temporary VAR_DIR under the test settings, a ticket and a lead, and sends one
small real .docx to each endpoint, so every module is imported and every cache is warm. Then, for
each case, it forks: the child posts the case's file once through Django's test client and prints
one JSON line with the answer, how many files it stored, and its peak RSS (ru_maxrss, KiB on
Linux) before and after.

Why fork: a process started by a large one (pytest) inherits that parent's peak in ru_maxrss, so a
small rise would not show. A forked child starts from its own current size, so each case is
measured from the same baseline and one case's peak never hides the next.

Cases are `<endpoint>:<file>`: endpoint `ticket` (an attachment) or `kb` (a document import);
file `docx-bomb` (a .docx just under MAX_UPLOAD_BYTES that unpacks to ~10 GiB), `docx-300mib`
(a 300 KB .docx whose document part unpacks to 300 MiB) or `many-members` (a 10 MB zip of
190,000 directory entries).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "helpdesk.settings.test"
for name in ("DATABASE_URL", "REDIS_URL", "CHROMA_URL", "CLAMAV_URL", "HELPDESK_TEST_VAR_DIR"):
    os.environ[name] = ""  # empty, so a .env cannot set them: SQLite in the run's own VAR_DIR
os.environ["AI_AUTO_ROUTE"] = "false"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from accounts.models import Role  # noqa: E402
from tests.factories import DepartmentFactory, TicketFactory, UserFactory  # noqa: E402
from tests.helpdesk import upload_samples  # noqa: E402
from tests.helpers import bearer_client, docx_bytes, post_file, stored_keys  # noqa: E402

MB = 1024 * 1024


def files(upload_limit: int) -> dict:
    """Each kind of file: the name it is uploaded under, and how to make it."""
    template = docx_bytes("Quarterly report")
    samples = upload_samples
    return {
        "docx-bomb": ("report.docx", lambda: samples.docx_bomb(template, upload_bytes=upload_limit)),
        "docx-300mib": ("report.docx", lambda: samples.with_member(template, samples.zeros("word/document.xml", 300))),
        "many-members": ("report.docx", lambda: samples.many_members(190_000)),
        # Just within the limits of knowledge.documents: what parsing may cost at most.
        "docx-tags": ("report.docx", lambda: samples.docx_of_tags(template, 75_000)),
        "pdf-pages": ("report.pdf", lambda: samples.pdf_of_pages([samples.text_page("Hi") + b" " * MB] * 500)),
        "pdf-stream": ("report.pdf", lambda: samples.pdf_of_pages([b" " * (200 * MB)])),
        "html-tags": ("report.html", lambda: b"<html><body>" + b'<p class="note" title="a title">word ' * 19_990),
        "html-text": ("report.html", lambda: b"<html><body><p>" + b"word " * (2 * MB // 5 - 100)),
        "text": ("report.txt", lambda: b"Title\n" + b"word and more words\n" * 39_900),
        "markdown": ("report.md", lambda: b"# Title\n\n" + b"- item *x* `y`\n" * 53_000),
    }


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def release_free_memory() -> None:
    """Give freed heap back to the system, so the baseline holds only live objects and the request
    cannot hide its use in memory that earlier work freed but the process still held."""
    gc.collect()
    ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def measure(case: str, client, url: str, name: str, data: bytes) -> None:
    """Post `data` once in a forked child and print what it cost; the parent waits for it."""
    connections.close_all()  # the child opens its own database connection
    release_free_memory()  # the child's peak starts at the size it is forked with
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        files_before = len(stored_keys())
        before = peak_kib()
        response = post_file(client, url, name, data)
        after = peak_kib()
        print(
            json.dumps(
                {
                    "case": case,
                    "upload_bytes": len(data),
                    "status": response.status_code,
                    "code": response.json().get("code"),
                    "new_files_stored": len(stored_keys()) - files_before,
                    "peak_before_kib": before,
                    "peak_after_kib": after,
                    "peak_rise_mb": round((after - before) / 1024, 1),
                }
            ),
            flush=True,
        )
    finally:
        os._exit(0)


def main(cases: list[str]) -> None:
    from django.conf import settings

    setup_test_environment()  # as pytest-django does: the test client's host is allowed, email stays local
    call_command("migrate", verbosity=0, interactive=False)
    department = DepartmentFactory(name="Network")
    lead = UserFactory(email="lead@example.com", role=Role.LEAD, department=department)
    employee = UserFactory(email="employee@example.com")
    ticket = TicketFactory(requester=employee, department=department)
    endpoints = {
        "ticket": (bearer_client(employee), f"/api/v1/tickets/{ticket.pk}/attachments/"),
        "kb": (bearer_client(lead), "/api/v1/kb/documents/"),
    }
    for client, url in endpoints.values():  # warm up: imports, caches, the first query of each kind
        response = post_file(client, url, "warm-up.docx", docx_bytes("Warm-up"))
        assert response.status_code == 201, response.content[:300]
    makers = files(settings.MAX_UPLOAD_BYTES)
    for case in cases:
        endpoint, _, kind = case.partition(":")
        client, url = endpoints[endpoint]
        name, make = makers[kind]
        measure(case, client, url, name, make())


if __name__ == "__main__":
    main(sys.argv[1:])
