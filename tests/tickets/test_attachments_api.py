"""/api/v1/tickets/{id}/attachments/: upload checks (EICAR, size, type, names) and signed, expiring downloads."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from helpdesk import events
from tests.helpdesk.upload_samples import odt_bytes, stored, with_member, xlsx_bytes, zeros
from tests.helpers import (
    DOCX_TYPE,
    EICAR,
    PDF,
    PNG,
    assert_problem,
    captured_events,
    docx_bytes,
    matrix,
    post_file,
    stored_keys,
    zip_bytes,
)
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

# anonymous, employee (the requester), agent_other, agent, lead, admin
UPLOAD = [401, 201, 404, 201, 201, 201]
LIST = [401, 200, 404, 200, 200, 200]

# The head of a Windows program: DOS stub, then a PE header for i386.
WINDOWS_EXE = (
    bytes.fromhex("4d5a90000300000004000000ffff0000b8" + "00" * 43 + "80000000")
    + b"\x0e\x1f\xba\x0e\x00\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.\r\r\n$"
    + b"\x00" * 7
    + b"PE\x00\x00"
    + bytes.fromhex("4c010300")
    + b"\x00" * 200
)


@pytest.fixture
def ticket(people, department):
    return services.ticket_create(
        requester=people["employee"], title="Screen flickers", description="See photo.", department=department
    )


def url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/attachments/"


@pytest.mark.parametrize("who,expected", matrix(UPLOAD))
def test_upload_matrix(client_for, ticket, who, expected):
    response = post_file(client_for(who), url(ticket), "photo.png", PNG, "image/png")
    assert response.status_code == expected
    ticket.refresh_from_db()
    assert ticket.attachment_count == len(ticket.attachments) == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert (body["name"], body["size"], body["content_type"]) == ("photo.png", len(PNG), "image/png")


@pytest.mark.parametrize("who,expected", matrix(LIST))
def test_list_matrix(client_for, people, ticket, who, expected):
    post_file(client_for("employee"), url(ticket), "photo.png", PNG, "image/png")
    response = client_for(who).get(url(ticket))
    assert response.status_code == expected
    if expected == 200:
        [attachment] = response.json()["results"]
        assert attachment["download_url"].startswith(f"{url(ticket)}{attachment['id']}/download/?signature=")


def test_upload_then_download_without_a_token(client_for, ticket):
    created = post_file(client_for("employee"), url(ticket), "photo.png", PNG, "image/png").json()
    shown = client_for("agent").get(f"/api/v1/tickets/{ticket.pk}/").json()["attachments"]
    assert [a["id"] for a in shown] == [created["id"]]
    response = APIClient().get(shown[0]["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="photo.png"'
    assert response["Cache-Control"] == "private, no-store"


def test_eicar_is_refused_and_nothing_is_stored(client_for, ticket):
    for name, content_type in [("eicar.com", "application/octet-stream"), ("report.pdf", "application/pdf")]:
        response = post_file(client_for("employee"), url(ticket), name, EICAR, content_type)
        assert_problem(response, 422, "malware_detected")
    ticket.refresh_from_db()
    assert ticket.attachments == [] and ticket.attachment_count == 0
    assert stored_keys("tickets") == []


def test_too_large_is_413(client_for, ticket, settings):
    settings.MAX_UPLOAD_BYTES = 2048
    response = post_file(client_for("employee"), url(ticket), "log.txt", b"a" * 4096, "text/plain")
    assert_problem(response, 413, "payload_too_large")
    assert stored_keys("tickets") == []


@pytest.mark.parametrize(
    "name,content",
    [
        ("invoice.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("archive.zip", zip_bytes()),  # a damaged one is refused before its type: test_archive_limits.py
        ("tool.exe", WINDOWS_EXE),
    ],
)
def test_types_off_the_allowlist_are_415_whatever_the_name(client_for, ticket, name, content):
    response = post_file(client_for("employee"), url(ticket), name, content, "application/pdf")
    assert_problem(response, 415, "unsupported_media_type")
    assert stored_keys("tickets") == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\windows\\evil.txt", "/abs/path/notes.txt"])
def test_a_path_in_the_file_name_never_reaches_storage(client_for, ticket, name):
    response = post_file(client_for("employee"), url(ticket), name, b"plain text\n", "text/plain")
    assert response.status_code == 201
    body = response.json()
    assert "/" not in body["name"] and "\\" not in body["name"] and ".." not in body["name"]
    assert stored_keys() == [f"tickets/{ticket.pk}/{body['id']}"]


def test_json_instead_of_multipart_is_415(client_for, ticket):
    response = client_for("employee").post(url(ticket), {"file": "x"}, format="json")
    assert_problem(response, 415)


def test_missing_file_is_400(client_for, ticket):
    response = client_for("employee").post(url(ticket), {}, format="multipart")
    assert "file" in assert_problem(response, 400)["errors"]


def test_upload_emits_attachment_added(client_for, ticket):
    with captured_events(events.AttachmentAdded) as seen:
        created = post_file(client_for("agent"), url(ticket), "photo.png", PNG, "image/png").json()
    assert [event.attachment_id for event in seen] == [created["id"]]


def test_download_link_expires(client_for, ticket):
    link = post_file(client_for("employee"), url(ticket), "photo.png", PNG, "image/png").json()["download_url"]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert_problem(APIClient().get(link), 410, "link_expired")


@pytest.mark.parametrize("tamper", ["signature", "other_ticket", "no_signature"])
def test_tampered_links_are_refused(client_for, people, department, ticket, tamper):
    link = post_file(client_for("employee"), url(ticket), "photo.png", PNG, "image/png").json()["download_url"]
    if tamper == "signature":
        link = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    elif tamper == "other_ticket":
        other = services.ticket_create(requester=people["employee"], title="O", description="O", department=department)
        link = link.replace(ticket.pk, other.pk)
    else:
        link = link.split("?")[0]
    assert APIClient().get(link).status_code == 404


def test_link_of_a_deleted_ticket_is_dead(client_for, people, ticket):
    link = post_file(client_for("employee"), url(ticket), "photo.png", PNG, "image/png").json()["download_url"]
    services.ticket_delete(actor=people["admin"], ticket=Ticket.objects.get(pk=ticket.pk))
    assert_problem(APIClient().get(link), 404)


def test_upload_is_rate_limited(client_for, ticket, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload_user": "1/m"}
    employee = client_for("employee")
    assert post_file(employee, url(ticket), "photo.png", PNG, "image/png").status_code == 201
    assert_problem(post_file(employee, url(ticket), "photo.png", PNG, "image/png"), 429, "rate_limited")


def test_docx_and_pdf_pass_whatever_they_are_called(client_for, ticket):
    employee = client_for("employee")
    response = post_file(employee, url(ticket), "steps.docx", docx_bytes("Steps to reproduce"))
    assert response.json()["content_type"] == DOCX_TYPE
    assert post_file(employee, url(ticket), "x.bin", PDF).json()["content_type"] == "application/pdf"


# --- Compressed files: measured before anything opens them (decision 0025) -----------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT_TYPE = "application/vnd.oasis.opendocument.text"


def _bomb() -> bytes:
    """A .docx of some 50 KB whose document part unpacks to 20 MiB of zeros (about 1,000:1)."""
    return with_member(docx_bytes(), zeros("word/document.xml", 20))


def test_a_compression_bomb_is_refused_before_it_is_sniffed_and_nothing_is_stored(client_for, ticket, monkeypatch):
    from helpdesk import files

    def no_sniffing(*args, **kwargs):
        raise AssertionError("libmagic saw the archive before its limits were checked")

    monkeypatch.setattr(files.magic, "from_buffer", no_sniffing)
    version = Ticket.objects.get(pk=ticket.pk).version
    response = post_file(client_for("employee"), url(ticket), "report.docx", _bomb(), DOCX_TYPE)
    problem = assert_problem(response, 422, "archive_ratio")
    assert "1,0" in problem["detail"] and "100:1" in problem["detail"]
    current = Ticket.objects.get(pk=ticket.pk)
    assert (current.attachments, current.attachment_count, current.version) == ([], 0, version)
    assert stored_keys() == []


@pytest.mark.parametrize(
    "setting,value,code",
    [
        ("ARCHIVE_MAX_MEMBERS", 5, "archive_too_many_members"),
        ("ARCHIVE_MAX_MEMBER_BYTES", 200_000, "archive_member_too_large"),
        ("ARCHIVE_MAX_UNPACKED_BYTES", 500_000, "archive_too_large"),
        ("ARCHIVE_MAX_RATIO", 10, "archive_ratio"),
    ],
)
def test_each_archive_limit_comes_from_settings_and_has_its_own_code(
    client_for, ticket, settings, setting, value, code
):
    """python-docx's own template: 17 members, 820 KB unpacked, styles at 30:1 in 350 KB parts."""
    data = docx_bytes("Steps to reproduce")
    employee = client_for("employee")
    setattr(settings, setting, value)
    if setting == "ARCHIVE_MAX_RATIO":
        data = with_member(data, zeros("word/media/image1.png", 2))
    assert_problem(post_file(employee, url(ticket), "steps.docx", data), 422, code)
    assert stored_keys() == []


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("steps.docx", docx_bytes("Steps to reproduce"), DOCX_TYPE),
        ("numbers.xlsx", xlsx_bytes(), XLSX_TYPE),
        ("notes.odt", odt_bytes(), ODT_TYPE),
        (
            "chart.docx",
            with_member(docx_bytes("A chart"), stored("word/embeddings/Book1.xlsx", xlsx_bytes())),
            DOCX_TYPE,
        ),
    ],
)
def test_office_files_within_the_limits_are_still_accepted(client_for, ticket, name, data, content_type):
    response = post_file(client_for("employee"), url(ticket), name, data)
    assert response.status_code == 201, response.content
    assert (response.json()["content_type"], response.json()["size"]) == (content_type, len(data))


def test_a_damaged_zip_is_refused_before_its_type(client_for, ticket):
    """It cannot be measured, and a reader that walks the members without the directory could unpack it."""
    response = post_file(client_for("employee"), url(ticket), "report.docx", b"PK\x03\x04" + b"\x00" * 60)
    assert_problem(response, 422, "archive_unreadable")
    assert stored_keys() == []
