"""Uploads: sniffed, size-limited, scanned (EICAR, ClamAV) and stored only under keys we make."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import time_machine
from django.core.files import File
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import TemporaryUploadedFile

from helpdesk import files
from helpdesk.api.errors import problem_exception_handler
from helpdesk.errors import Conflict, Invalid, NotFound
from tests.helpers import DOCX_TYPE, EICAR, PDF, PNG, ROOT, docx_bytes, uploaded_file, zip_bytes

KEY = "tickets/65f0c0ffee00000000000001/65f0c0ffee000000000000a1"


@pytest.fixture
def uploads(settings, tmp_path) -> Path:
    """The "attachments" storage as files in tmp_path/uploads; no ClamAV unless a test sets one."""
    root = tmp_path / "uploads"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    settings.CLAMAV_URL = ""
    return root


def stored(root: Path) -> list[str]:
    """Every file anywhere under root, as relative paths."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def temporary_upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> TemporaryUploadedFile:
    """An upload Django spooled to disk (larger than FILE_UPLOAD_MAX_MEMORY_SIZE), read in chunks."""
    uploaded = TemporaryUploadedFile(name, content_type, len(data), None)
    uploaded.write(data)
    uploaded.seek(0)
    return uploaded


# --- Scanning: EICAR ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,claimed",
    [("eicar.com", "application/octet-stream"), ("report.pdf", "application/pdf"), ("photo.png", "image/png")],
)
def test_eicar_is_refused_whatever_it_claims_to_be_and_nothing_is_stored(uploads, name, claimed):
    with pytest.raises(files.MalwareDetected) as caught:
        files.store_upload(uploaded_file(name, EICAR, claimed), key=KEY)
    assert (caught.value.status, caught.value.code) == (422, "malware_detected")
    assert stored(uploads) == []


def test_eicar_inside_a_larger_file_across_a_chunk_boundary_is_refused(uploads):
    data = b"a" * (files.CHUNK_BYTES - 20) + EICAR + b"\n" + b"b" * files.CHUNK_BYTES
    with pytest.raises(files.MalwareDetected):
        files.store_upload(temporary_upload("notes.txt", data, "text/plain"), key=KEY)
    assert stored(uploads) == []


# --- Size and type ------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_413_and_the_limit_itself_passes(uploads, settings):
    settings.MAX_UPLOAD_BYTES = 2048
    with pytest.raises(files.PayloadTooLarge) as caught:
        files.store_upload(uploaded_file("big.txt", b"x" * 2049), key=KEY)
    assert (caught.value.status, caught.value.code) == (413, "payload_too_large")
    with pytest.raises(files.PayloadTooLarge):  # counted while reading, too
        files.check_upload(File(io.BytesIO(b"y" * 5000), name="big.txt"), max_bytes=4096)
    assert stored(uploads) == []
    assert files.store_upload(uploaded_file("fits.txt", b"x" * 2048), key=KEY).size == 2048


def test_an_empty_file_is_400(uploads):
    with pytest.raises(Invalid) as caught:
        files.store_upload(uploaded_file("empty.txt", b""), key=KEY)
    assert (caught.value.status, caught.value.code) == (400, "empty_file")
    assert stored(uploads) == []


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", id="html"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
        pytest.param(zip_bytes(), id="zip"),
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200, id="exe"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, id="elf"),
        pytest.param(b"#!/bin/sh\nrm -rf /\n", id="shell-script"),
    ],
)
def test_a_type_not_on_the_list_is_415_even_when_named_and_labelled_pdf(uploads, data):
    with pytest.raises(files.UnsupportedFileType) as caught:
        files.store_upload(uploaded_file("invoice.pdf", data, "application/pdf"), key=KEY)
    assert (caught.value.status, caught.value.code) == (415, "unsupported_media_type")
    assert stored(uploads) == []


@pytest.mark.parametrize(
    "name,data,sniffed",
    [
        ("pixel.png", PNG, "image/png"),
        ("report.pdf", PDF, "application/pdf"),
        ("notes.txt", "Wi-Fi down on floor 3 — since 9:00.\n".encode(), "text/plain"),
        ("export.csv", b"id,title\n1,VPN\n2,Printer\n", "text/csv"),
        ("event.json", json.dumps({"ticket": 1, "tags": ["vpn"]}).encode(), "application/json"),
        ("steps.docx", docx_bytes(), DOCX_TYPE),
    ],
)
def test_allowed_types_are_stored_under_the_key_with_the_sniffed_type(uploads, name, data, sniffed):
    result = files.store_upload(uploaded_file(name, data, "text/html"), key=KEY)  # the client's claim is ignored
    assert result == files.StoredFile(
        name=name, size=len(data), content_type=sniffed, sha256=hashlib.sha256(data).hexdigest(), key=KEY
    )
    assert stored(uploads) == [KEY]
    assert (uploads / KEY).read_bytes() == data
    with files.open_stored(KEY) as handle:
        assert handle.read() == data


def test_a_large_upload_spooled_to_disk_is_checked_and_stored(uploads):
    data = ("A line of a long log file.\n" * 20_000).encode()  # ~540 kB: many chunks
    result = files.store_upload(temporary_upload("vpn.log", data, "text/plain"), key=KEY)
    assert (result.size, result.content_type) == (len(data), "text/plain")
    assert (uploads / KEY).read_bytes() == data


def test_allowed_types_can_be_narrowed_per_call_and_by_setting(uploads, settings):
    with pytest.raises(files.UnsupportedFileType):
        files.check_upload(uploaded_file("pixel.png", PNG), allowed_types={"application/pdf"})
    settings.ATTACHMENT_ALLOWED_TYPES = ["text/plain"]
    with pytest.raises(files.UnsupportedFileType):
        files.check_upload(uploaded_file("report.pdf", PDF))
    assert files.check_upload(uploaded_file("a.txt", b"plain words\n")).content_type == "text/plain"


class RecordingStorage(InMemoryStorage):
    """Remembers the content type each save was given (S3Storage writes it as the object's ContentType)."""

    content_types: list = []

    def _save(self, name, content):
        RecordingStorage.content_types.append(getattr(content, "content_type", None))
        return super()._save(name, content)


def test_the_storage_is_given_the_sniffed_content_type_not_the_clients(settings):
    settings.STORAGES = {**settings.STORAGES, "attachments": {"BACKEND": f"{__name__}.RecordingStorage"}}
    settings.CLAMAV_URL = ""
    RecordingStorage.content_types = []
    files.store_upload(uploaded_file("pixel.png", PNG, "text/html"), key=KEY)
    assert RecordingStorage.content_types == ["image/png"]


# --- Names and keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\evil\\x.txt", "x.txt"),
        ("/var/lib/secret.pdf", "secret.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("folder/", "file"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("\x00\x01\x1f", "file"),
        ("new\r\nline\x00.txt", "newline.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override would show "exe.pdf"
        ("  two\u2028  spaces\t.txt ", "two spaces.txt"),  # a tab is a control character
        ("Überweisung März.pdf", "Überweisung März.pdf"),
    ],
)
def test_display_name_is_a_safe_base_name(raw, shown):
    assert files.display_name(raw) == shown


def test_display_name_is_at_most_255_characters_and_keeps_the_extension():
    assert files.display_name("a" * 300) == "a" * 255
    long_pdf = files.display_name("b" * 300 + ".pdf")
    assert len(long_pdf) == 255 and long_pdf.endswith("b.pdf")


@pytest.mark.parametrize("name", ["../../etc/passwd", "C:\\evil\\x.txt", "/etc/cron.d/job", "..\\..\\x.txt"])
def test_a_path_in_the_file_name_never_reaches_storage(uploads, tmp_path, name):
    result = files.store_upload(uploaded_file(name, b"root:x:0:0:root:/root:/bin/bash\n", "text/plain"), key=KEY)
    assert result.key == KEY
    assert result.name == files.display_name(name) and "/" not in result.name and "\\" not in result.name
    assert stored(uploads) == [KEY]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [f"uploads/{KEY}"]


def test_keys_are_made_by_us_and_checked():
    assert files.attachment_key(prefix="tickets", owner_id="t1", attachment_id="a1") == "tickets/t1/a1"
    for bad in [("..", "a1"), ("t1", "../a1"), ("t1", "a/../../b"), ("t 1", "a1"), ("t1", ""), ("t1", "a1.exe")]:
        with pytest.raises(ValueError):
            files.attachment_key(prefix="tickets", owner_id=bad[0], attachment_id=bad[1])


def test_store_refuses_a_key_it_did_not_make(uploads):
    for key in ["../evil", "/etc/passwd", "tickets/../../x", "tickets//x", ""]:
        with pytest.raises(ValueError):
            files.store_upload(uploaded_file("a.txt", b"hello\n"), key=key)
    assert stored(uploads) == []


def test_a_taken_key_is_409_and_the_first_file_stays(uploads):
    files.store_upload(uploaded_file("a.txt", b"first\n"), key=KEY)
    with pytest.raises(Conflict) as caught:
        files.store_upload(uploaded_file("b.txt", b"second\n"), key=KEY)
    assert caught.value.code == "key_taken"
    assert stored(uploads) == [KEY]
    assert (uploads / KEY).read_bytes() == b"first\n"


def test_open_and_delete(uploads):
    files.store_upload(uploaded_file("a.txt", b"hello\n"), key=KEY)
    files.delete_stored(KEY)
    assert stored(uploads) == []
    files.delete_stored(KEY)  # already gone: fine
    with pytest.raises(NotFound) as caught:
        files.open_stored(KEY)
    assert caught.value.code == "file_missing"


# --- ClamAV -------------------------------------------------------------------------------------

MARKER = b"HELPDESK-FAKE-CLAMD-MARKER"


class FakeClamd:
    """A clamd that speaks INSTREAM: it reassembles the chunks and answers by a marker in the bytes."""

    def __init__(self, listener: socket.socket, reply: str = "normal"):
        self.listener = listener
        self.reply = reply  # normal | error | hang-up
        self.commands: list[bytes] = []
        self.streams: list[bytes] = []
        self.chunk_sizes: list[list[int]] = []
        self.stopped = threading.Event()
        listener.settimeout(0.1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                self.handle(connection.makefile("rb"), connection)

    def handle(self, stream, connection):
        command = b""
        while not command.endswith(b"\0"):
            byte = stream.read(1)
            if not byte:
                return
            command += byte
        self.commands.append(command)
        data, sizes = bytearray(), []
        while True:
            (length,) = struct.unpack("!I", stream.read(4))
            if length == 0:
                break
            sizes.append(length)
            data += stream.read(length)
        self.streams.append(bytes(data))
        self.chunk_sizes.append(sizes)
        if self.reply == "hang-up":
            return
        if self.reply == "error":
            connection.sendall(b"INSTREAM size limit exceeded. ERROR\0")
        elif MARKER in data:
            connection.sendall(b"stream: Helpdesk.Fake.Marker FOUND\0")
        else:
            connection.sendall(b"stream: OK\0")

    def stop(self):
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture(params=["unix", "tcp"])
def fake_clamd(request, settings, tmp_path):
    """Start a fake clamd (on a unix socket in tmp_path, or on 127.0.0.1) and point CLAMAV_URL at it."""
    servers = []

    def start(reply: str = "normal") -> FakeClamd:
        if request.param == "unix":
            path = tmp_path / f"clamd{len(servers)}.sock"
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            settings.CLAMAV_URL = f"unix://{path}"
        else:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            settings.CLAMAV_URL = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        listener.listen(4)
        servers.append(FakeClamd(listener, reply))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_clamd_found_is_422_and_nothing_is_stored(uploads, fake_clamd):
    clamd = fake_clamd()
    data = b"an innocent looking note\n" + MARKER + b"\n"
    with pytest.raises(files.MalwareDetected) as caught:
        files.store_upload(uploaded_file("note.txt", data, "text/plain"), key=KEY)
    assert caught.value.status == 422
    assert clamd.commands == [b"zINSTREAM\0"] and clamd.streams == [data]
    assert stored(uploads) == []


def test_clamd_ok_is_stored_and_the_stream_is_framed_in_chunks(uploads, fake_clamd):
    clamd = fake_clamd()
    data = ("A clean line of a log file.\n" * 10_000).encode()  # ~280 kB
    files.store_upload(temporary_upload("clean.log", data, "text/plain"), key=KEY)
    assert clamd.commands == [b"zINSTREAM\0"]
    assert clamd.streams == [data]  # reassembled from its length-prefixed chunks, byte for byte
    assert len(clamd.chunk_sizes[0]) > 1 and max(clamd.chunk_sizes[0]) <= files.CHUNK_BYTES
    assert stored(uploads) == [KEY]


@pytest.mark.parametrize("reply", ["error", "hang-up"])
def test_clamd_that_does_not_scan_is_503_and_nothing_is_stored(uploads, fake_clamd, reply):
    fake_clamd(reply)
    with pytest.raises(files.ScannerUnavailable) as caught:
        files.store_upload(uploaded_file("clean.txt", b"clean words\n", "text/plain"), key=KEY)
    assert (caught.value.status, caught.value.code) == (503, "scanner_unavailable")
    assert caught.value.headers["Retry-After"]
    assert stored(uploads) == []


@pytest.mark.parametrize("url_of", [lambda tmp: f"unix://{tmp}/nobody-listens.sock", lambda tmp: "tcp://127.0.0.1:9"])
def test_unreachable_clamd_fails_closed_with_503(uploads, settings, tmp_path, url_of):
    settings.CLAMAV_URL = url_of(tmp_path)
    settings.CLAMAV_TIMEOUT_SECONDS = 2
    with pytest.raises(files.ScannerUnavailable):
        files.store_upload(uploaded_file("clean.txt", b"clean words\n", "text/plain"), key=KEY)
    assert stored(uploads) == []


def test_eicar_is_refused_before_clamd_is_asked(uploads, fake_clamd):
    clamd = fake_clamd()
    with pytest.raises(files.MalwareDetected):
        files.store_upload(uploaded_file("eicar.txt", EICAR), key=KEY)
    assert clamd.streams == []


CLAMD = shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")


@pytest.mark.skipif(
    not CLAMD,
    reason="ClamAV's clamd is not installed (apt-get install clamav-daemon); the fake clamd tests cover the protocol",
)
def test_a_real_clamd_with_its_own_signature(uploads, settings, tmp_path):
    infected = b"Helpdesk AI test sample: a real clamd must call this file Test.Sig.\n"
    clean = b"Helpdesk AI test sample: nothing to see here.\n"
    database = tmp_path / "db"
    database.mkdir()
    (database / "test.hdb").write_text(f"{hashlib.md5(infected).hexdigest()}:{len(infected)}:Test.Sig\n")
    sock = tmp_path / "clamd.sock"
    config = tmp_path / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"LocalSocket {sock}",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {tmp_path}",
                f"PidFile {tmp_path / 'clamd.pid'}",
                f"LogFile {tmp_path / 'clamd.log'}",
                "LogVerbose yes",
                "",
            ]
        )
    )
    log = (tmp_path / "clamd.out").open("wb")
    clamd = subprocess.Popen([CLAMD, f"--config-file={config}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _clamd_pongs(sock):
            assert clamd.poll() is None, (tmp_path / "clamd.out").read_text()[-2000:]
            assert time.monotonic() < deadline, "clamd did not answer PING within 60 s"
            time.sleep(0.2)
        settings.CLAMAV_URL = f"unix://{sock}"

        with pytest.raises(files.MalwareDetected):
            files.store_upload(uploaded_file("sample.txt", infected, "text/plain"), key=KEY)
        assert stored(uploads) == []
        assert files.clamd_scan([infected[:10], infected[10:]], url=settings.CLAMAV_URL, timeout=10).startswith(
            "Test.Sig"
        )

        assert files.store_upload(uploaded_file("clean.txt", clean, "text/plain"), key=KEY).key == KEY
        assert stored(uploads) == [KEY]
    finally:
        clamd.terminate()
        try:
            clamd.wait(10)
        except subprocess.TimeoutExpired:
            clamd.kill()
            clamd.wait(10)
        log.close()


def _clamd_pongs(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(path))
            client.sendall(b"zPING\0")
            return client.recv(64).startswith(b"PONG")
    except OSError:
        return False


# --- Download links -----------------------------------------------------------------------------


def test_a_download_link_round_trips():
    token = files.sign_download(owner_id="t1", attachment_id="a1", user_id="u1")
    assert files.read_download(token) == files.DownloadGrant(owner_id="t1", attachment_id="a1", user_id="u1")
    assert "/" not in token and "+" not in token  # fits in a URL path


def test_a_download_link_expires_after_the_ttl(settings):
    settings.ATTACHMENT_URL_TTL_SECONDS = 300
    with time_machine.travel("2026-03-01 09:00:00+00:00", tick=False) as traveller:
        token = files.sign_download(owner_id="t1", attachment_id="a1", user_id="u1")
        traveller.shift(299)
        assert files.read_download(token).attachment_id == "a1"
        traveller.shift(2)
        with pytest.raises(files.LinkExpired) as caught:
            files.read_download(token)
        assert (caught.value.status, caught.value.code) == (410, "link_expired")
        assert files.read_download(token, max_age=3600).user_id == "u1"


def test_a_tampered_or_foreign_link_is_a_bad_link():
    token = files.sign_download(owner_id="t1", attachment_id="a1", user_id="u1")
    payload, _, signature = token.rpartition(":")
    forged = files.sign_download(owner_id="t1", attachment_id="a2", user_id="u1").rpartition(":")[0]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in [forged + ":" + signature, payload + ":" + flipped, "nonsense", ""]:
        with pytest.raises(files.BadLink) as caught:
            files.read_download(bad)
        assert (caught.value.status, caught.value.code) == (404, "bad_link")
    with pytest.raises(files.BadLink):  # a link for one kind of file does not open another kind
        files.read_download(token, kind="knowledge")


# --- Rendering and settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "error,status,code",
    [
        (files.PayloadTooLarge("x"), 413, "payload_too_large"),
        (files.UnsupportedFileType("x"), 415, "unsupported_media_type"),
        (files.MalwareDetected("x"), 422, "malware_detected"),
        (files.ScannerUnavailable("x", headers={"Retry-After": "30"}), 503, "scanner_unavailable"),
        (files.LinkExpired("x"), 410, "link_expired"),
        (files.BadLink("x"), 404, "bad_link"),
    ],
)
def test_file_errors_render_as_problem_details(error, status, code):
    response = problem_exception_handler(error, {})
    body = json.loads(response.content)
    assert response.status_code == status and response["Content-Type"] == "application/problem+json"
    assert (body["status"], body["code"], body["title"]) == (status, code, error.title)
    if status == 503:
        assert response["Retry-After"] == "30"


def settings_of(env_overrides: dict, code: str, var_dir: Path) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() with the production settings and its own VAR_DIR."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ATTACHMENT", "CLAMAV"))}
    env.update({"DEBUG": "true", "VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "helpdesk.settings.main"})
    env.update(env_overrides)
    program = "import django; django.setup(); from django.conf import settings; " + code
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_attachments_storage_is_files_under_var_dir_by_default(tmp_path):
    result = settings_of(
        {},
        "from django.core.files.storage import storages; s = storages['attachments'];"
        "print(type(s).__name__, s.location, settings.ATTACHMENT_URL_TTL_SECONDS, repr(settings.CLAMAV_URL))",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert result.stdout.split() == ["FileSystemStorage", str(tmp_path.resolve() / "uploads"), "300", "''"]


def test_the_attachments_storage_is_s3_when_a_bucket_is_set(tmp_path):
    result = settings_of(
        {
            "ATTACHMENTS_S3_BUCKET": "helpdesk-attachments",
            "ATTACHMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "ATTACHMENTS_S3_REGION": "eu-central-1",
            "ATTACHMENTS_S3_ACCESS_KEY_ID": "minio",
            "ATTACHMENTS_S3_SECRET_ACCESS_KEY": "minio-secret",
        },
        "from django.core.files.storage import storages; s = storages['attachments'];"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.region_name, s.access_key, s.file_overwrite)",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert result.stdout.split() == [
        "S3Storage",
        "helpdesk-attachments",
        "http://127.0.0.1:9000",
        "eu-central-1",
        "minio",
        "False",
    ]


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"CLAMAV_URL": "http://clamd:3310"}, "CLAMAV_URL"),
        ({"CLAMAV_URL": "tcp://clamd"}, "CLAMAV_URL"),
        ({"CLAMAV_URL": "unix://relative.sock"}, "CLAMAV_URL"),
        ({"ATTACHMENT_ALLOWED_TYPES": "image/png,pdf"}, "ATTACHMENT_ALLOWED_TYPES"),
        ({"ATTACHMENT_URL_TTL_SECONDS": "5m"}, "ATTACHMENT_URL_TTL_SECONDS"),
        ({"ATTACHMENTS_S3_BUCKET": "b", "ATTACHMENTS_S3_ACCESS_KEY_ID": "k"}, "ATTACHMENTS_S3_SECRET_ACCESS_KEY"),
        ({"ATTACHMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}, "ATTACHMENTS_S3_BUCKET"),
    ],
)
def test_a_wrong_upload_setting_stops_start_up_naming_the_variable(overrides, named, tmp_path):
    result = settings_of(overrides, "print('started')", tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and named in last_line, result.stderr[-800:]
