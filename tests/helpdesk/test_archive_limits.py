"""Zip-based uploads are measured from their central directory before anything opens them, then read
through in chunks that count what really comes out (helpdesk/archives.py, decision 0025).

Each limit refuses with its own code; real office files (docx, xlsx, odt, a docx embedding a
workbook) pass; files that are not zips pass untouched. The API side (nothing stored, the ticket
or knowledge base unchanged) is in tests/tickets/test_attachments_api.py and
tests/knowledge/test_documents.py; peak memory in test_upload_memory.py.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from helpdesk import archives
from tests.helpdesk.test_settings import start
from tests.helpdesk.upload_samples import (
    MIB,
    deflated,
    docx_bomb,
    many_members,
    odt_bytes,
    stored,
    with_member,
    xlsx_bytes,
    zeros,
    zip_of,
)
from tests.helpers import PDF, PNG, docx_bytes, zip_bytes

DEFAULTS = archives.Limits(unpacked_bytes=100 * MIB, member_bytes=50 * MIB, members=10_000, ratio=100)


def refusal(data: bytes, limits: archives.Limits = DEFAULTS) -> str:
    """The code check_archive refuses `data` with; "" when it passes."""
    try:
        archives.check_archive(io.BytesIO(data), limits=limits)
    except archives.UnsafeArchive as error:
        assert error.status == 422 and error.detail.startswith("The file was refused: ")
        return error.code
    return ""


def limits(**changes: int) -> archives.Limits:
    return archives.Limits(**{**DEFAULTS.__dict__, **changes})


# --- Real files pass ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(docx_bytes("A real Word file."), id="docx"),
        pytest.param(xlsx_bytes(), id="xlsx"),
        pytest.param(odt_bytes(), id="odt"),
        pytest.param(zip_bytes(), id="zip"),
        pytest.param(
            with_member(docx_bytes("A chart"), stored("word/embeddings/Workbook1.xlsx", xlsx_bytes())), id="docx+xlsx"
        ),
        pytest.param(zip_of([]), id="empty-zip"),
    ],
)
def test_real_office_files_pass(data):
    assert refusal(data) == ""


@pytest.mark.parametrize("data", [PDF, PNG, b"plain text", b"PK", b""], ids=["pdf", "png", "text", "short", "empty"])
def test_files_that_are_not_zips_pass_untouched_and_are_left_at_their_start(data):
    file = io.BytesIO(data)
    archives.check_archive(file, limits=DEFAULTS)
    assert file.tell() == 0


def test_the_defaults_come_from_settings(settings):
    assert archives.Limits.from_settings() == DEFAULTS
    settings.ARCHIVE_MAX_RATIO = 5
    assert archives.Limits.from_settings().ratio == 5


# --- Each limit, from the directory -----------------------------------------------------------------


def test_a_member_compressed_beyond_the_ratio_is_refused():
    assert refusal(zip_of([zeros("word/document.xml", 2)])) == "archive_ratio"  # 2 MiB at ~1,000:1
    assert refusal(zip_of([zeros("word/document.xml", 2)]), limits(ratio=2000)) == ""


def test_small_members_are_not_held_to_the_ratio():
    """A template's styles.xml is 30:1; below 1 MiB the ratio alone refuses nothing."""
    assert refusal(zip_of([zeros("word/styles.xml", 1)])) == ""


def test_a_member_larger_than_the_member_limit_is_refused():
    data = zip_of([stored("word/media/photo.jpg", bytes(range(256)) * 12)])  # 3,072 bytes, stored
    assert refusal(data, limits(member_bytes=3072)) == ""
    assert refusal(data, limits(member_bytes=3071)) == "archive_member_too_large"


def test_more_in_all_than_the_total_limit_is_refused():
    members = [stored(f"word/media/photo{n}.jpg", bytes(range(256)) * 8) for n in range(4)]  # 4 x 2,048 bytes
    assert refusal(zip_of(members), limits(unpacked_bytes=8192)) == ""
    assert refusal(zip_of(members), limits(unpacked_bytes=8191)) == "archive_too_large"


def test_more_members_than_the_limit_is_refused():
    members = [stored(f"part{n}.xml", b"<a/>") for n in range(11)]
    assert refusal(zip_of(members), limits(members=11)) == ""
    assert refusal(zip_of(members), limits(members=10)) == "archive_too_many_members"


def test_a_directory_of_many_entries_is_refused_before_zipfile_reads_it(monkeypatch):
    """190,000 directory entries in 10 MB made zipfile build 84 MB of objects: they are counted first."""

    def never(*args, **kwargs):
        raise AssertionError("zipfile parsed the directory")

    monkeypatch.setattr(archives.zipfile, "ZipFile", never)
    assert refusal(many_members(20_000)) == "archive_too_many_members"


def test_the_bomb_at_the_upload_limit_is_refused_from_its_directory():
    bomb = docx_bomb(docx_bytes("Quarterly report"), upload_bytes=10 * MIB)
    assert len(bomb) <= 10 * MIB
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(member.file_size for member in archive.infolist()) > 9 * 1024 * MIB
    assert refusal(bomb) == "archive_ratio"
    assert refusal(bomb, limits(ratio=2000)) == "archive_member_too_large"
    assert refusal(bomb, limits(ratio=2000, member_bytes=2048 * MIB)) == "archive_too_large"


# --- What the directory does not say ------------------------------------------------------------


def test_a_member_that_holds_more_than_its_directory_declares_is_refused():
    """5 MiB of zeros declared as 1,000 bytes: reading stops at the declared size and the CRC fails."""
    assert refusal(zip_of([zeros("word/document.xml", 5).declaring(1000)])) == "archive_unreadable"


def test_reading_stops_as_soon_as_more_comes_out_than_declared():
    class Endless(io.RawIOBase):
        def __init__(self):
            self.given = 0

        def read(self, size: int = -1) -> bytes:
            self.given += size
            return bytes(size)

    stream = Endless()
    with pytest.raises(archives.UnsafeArchive) as refused:
        for _ in archives.capped_chunks(stream, declared=100_000):
            pass
    assert refused.value.code == "archive_unreadable"
    assert stream.given <= 100_000 + archives.CHUNK_BYTES


def test_a_member_that_holds_less_than_declared_is_refused():
    with pytest.raises(archives.UnsafeArchive):
        list(archives.capped_chunks(io.BytesIO(b"x" * 10), declared=11))


def test_a_nested_bomb_is_refused_though_its_outer_member_is_plain():
    inner = zip_of([zeros("xl/worksheets/sheet1.xml", 3)])
    outer = with_member(docx_bytes("A chart"), stored("word/embeddings/Workbook1.xlsx", inner))
    assert refusal(outer) == "archive_ratio"


def test_nested_archives_draw_on_the_same_total():
    inner = zip_of([stored(f"sheet{n}.xml", bytes(range(256)) * 8) for n in range(4)])  # 8,192 bytes unpacked
    outer = zip_of([stored("word/document.xml", b"<w:document/>"), stored("embedded.xlsx", inner)])
    unpacked = 13 + len(inner) + 8192
    assert refusal(outer, limits(unpacked_bytes=unpacked)) == ""
    assert refusal(outer, limits(unpacked_bytes=unpacked - 1)) == "archive_too_large"


def test_archives_nested_deeper_than_office_files_are_refused():
    level = zip_of([stored("sheet.xml", b"<a/>")])
    for depth in range(archives.MAX_NESTING):
        level = zip_of([deflated(f"level{depth}.zip", level)])
    assert refusal(level) == ""
    assert refusal(zip_of([deflated("one-more.zip", level)])) == "archive_nested"


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_methods_office_files_never_use_are_refused(method):
    """zipfile unpacks these without a bound on each read's output."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert refusal(buffer.getvalue()) == "archive_unreadable"


def test_encrypted_members_are_refused():
    entry = stored("word/document.xml", b"<w:document/>")
    data = bytearray(zip_of([entry]))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flags_at
        data[at] |= archives.ENCRYPTED
    assert refusal(bytes(data)) == "archive_unreadable"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"PK\x03\x04" + b"\x00" * 60, id="no-directory"),
        pytest.param(zip_bytes()[:-30], id="cut-short"),
        pytest.param(zip_of([stored("a.xml", b"<a/>" * 100)]).replace(b"<a/><a/>", b"<b/><a/>", 1), id="crc-wrong"),
    ],
)
def test_a_damaged_zip_is_refused_not_passed_on(data):
    """What cannot be measured is not handed to libmagic, a parser or a scanner (which may read it
    member by member without the directory)."""
    assert refusal(data) == "archive_unreadable"


# --- Settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,named",
    [
        ({"ARCHIVE_MAX_RATIO": "a lot"}, "ARCHIVE_MAX_RATIO"),
        ({"ARCHIVE_MAX_MEMBER_BYTES": "2048", "ARCHIVE_MAX_UNPACKED_BYTES": "1024"}, "ARCHIVE_MAX_MEMBER_BYTES"),
    ],
)
def test_a_wrong_limit_stops_start_up_naming_the_variable(overrides, named, tmp_path):
    result = start({"DEBUG": "true", **overrides}, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and named in last_line, result.stderr[-800:]
