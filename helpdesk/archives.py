"""Zip-based uploads (docx, xlsx, pptx, odt, ods) measured before anything unpacks them.

A zip's central directory says how large each member becomes once unpacked. `check_archive` reads
it first and refuses, before libmagic, python-docx or a scanner opens the file, an archive with too
many members, a member too large or compressed too well, or too much in all (the ARCHIVE_MAX_*
settings). The directory is only the archive's own word, so every member is then unpacked in
chunks, nested packages (a chart's workbook inside a slide deck) included, counting what really
comes out: reading stops as soon as a member gives more than it declared, or the whole upload more
than the limit. Memory stays at one chunk. Refusals are 422 with a code naming the limit.
See docs/decisions/0025-upload-archive-limits.md.
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings

from helpdesk.errors import DomainError

CHUNK_BYTES = 64 * 1024
ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
DIRECTORY_ENTRY = b"PK\x01\x02"
# Below this a member unpacks to little whatever its ratio (python-docx's own styles.xml is 30:1),
# and the member count and total still bound how many such members add up.
RATIO_FLOOR_BYTES = 1024 * 1024
# The upload, a package embedded in it (an Excel chart in a Word file), and one inside that.
MAX_NESTING = 2
# Office Open XML and OpenDocument members are stored or deflated. zipfile unpacks bzip2 and LZMA
# without an output bound per call, so one small read could produce gigabytes.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
ENCRYPTED = 0x1  # general purpose flag bit 0
SPOOL_BYTES = 1024 * 1024  # a nested archive larger than this is checked from a temporary file
# What a damaged member makes zipfile and zlib raise while it is read.
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


class UnsafeArchive(DomainError):
    status, code, title = 422, "unsafe_archive", "Compressed file refused"


@dataclass(frozen=True)
class Limits:
    unpacked_bytes: int
    member_bytes: int
    members: int
    ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            unpacked_bytes=settings.ARCHIVE_MAX_UNPACKED_BYTES,
            member_bytes=settings.ARCHIVE_MAX_MEMBER_BYTES,
            members=settings.ARCHIVE_MAX_MEMBERS,
            ratio=settings.ARCHIVE_MAX_RATIO,
        )


@dataclass
class _Budget:
    """What the upload may still unpack; nested archives draw on the same budget."""

    limits: Limits
    bytes_left: int
    members_left: int

    def take_members(self, count: int) -> None:
        if count > self.members_left:
            raise _too_many_members(self.limits)
        self.members_left -= count

    def check_declared(self, declared: int) -> None:
        if declared > self.bytes_left:
            raise _too_large(self.limits, "would unpack")

    def take_bytes(self, count: int) -> None:
        if count > self.bytes_left:
            raise _too_large(self.limits, "unpacks")
        self.bytes_left -= count


def looks_like_zip(head: bytes) -> bool:
    """Whether these first bytes start a zip archive (every Office and OpenDocument file does)."""
    return head.startswith(ZIP_STARTS)


def check_archive(file: IO[bytes], *, limits: Limits | None = None) -> None:
    """Refuse (UnsafeArchive) a zip that would unpack to too much; any other file passes untouched.

    The file is read from its start and left there.
    """
    limits = limits or Limits.from_settings()
    file.seek(0)
    try:
        if looks_like_zip(file.read(len(ZIP_STARTS[0]))):
            _check(file, _Budget(limits, limits.unpacked_bytes, limits.members), depth=0)
    finally:
        file.seek(0)


def member_chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's bytes, a chunk at a time; UnsafeArchive as soon as more come out than it declared."""
    with archive.open(member) as stream:
        yield from capped_chunks(stream, declared=member.file_size)


def capped_chunks(stream: IO[bytes], *, declared: int) -> Iterator[bytes]:
    """Chunks of `stream` up to `declared` bytes; a stream that gives more or fewer is refused."""
    produced = 0
    while chunk := stream.read(CHUNK_BYTES):
        produced += len(chunk)
        if produced > declared:
            raise _unreadable("a packed file inside it holds more than its archive declares")
        yield chunk
    if produced != declared:
        raise _unreadable("a packed file inside it holds less than its archive declares")


# --- Checking -----------------------------------------------------------------------------------


def _check(file: IO[bytes], budget: _Budget, *, depth: int) -> None:
    # zipfile builds an object of some 450 bytes per directory entry: count them before it does.
    _bound_directory_entries(file, budget)
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            _check_directory(members, budget)
            for member in members:
                _unpack(archive, member, budget, depth=depth)
    except READ_ERRORS as error:
        raise _unreadable("it is a zip archive (as .docx and .xlsx files are) that cannot be read through") from error


def _bound_directory_entries(file: IO[bytes], budget: _Budget) -> None:
    """Refuse before zipfile parses the directory when the file cannot hold few enough entries:
    each entry starts with a signature, so counting signatures over-counts, never under-counts."""
    file.seek(0)
    found, tail = 0, b""
    while chunk := file.read(CHUNK_BYTES):
        window = tail + chunk
        found += window.count(DIRECTORY_ENTRY) - tail.count(DIRECTORY_ENTRY)
        tail = window[-(len(DIRECTORY_ENTRY) - 1) :]
    if found > budget.members_left:
        raise _too_many_members(budget.limits)
    file.seek(0)


def _check_directory(members: list[zipfile.ZipInfo], budget: _Budget) -> None:
    """The limits on what the central directory declares, before a byte is unpacked."""
    budget.take_members(len(members))
    for member in members:
        _check_member(member, budget.limits)
    budget.check_declared(sum(member.file_size for member in members))


def _check_member(member: zipfile.ZipInfo, limits: Limits) -> None:
    if member.flag_bits & ENCRYPTED:
        raise _unreadable("a packed file inside it is encrypted, so it cannot be checked")
    if member.compress_type not in METHODS:
        raise _unreadable("a packed file inside it uses a compression method office files do not use")
    if member.file_size > RATIO_FLOOR_BYTES and member.file_size > limits.ratio * member.compress_size:
        ratio = member.file_size // max(member.compress_size, 1)
        raise _refused(
            "archive_ratio",
            f"a packed file inside it unpacks to {ratio:,} times its stored size; "
            f"the limit is {limits.ratio}:1 for packed files over {_size(RATIO_FLOOR_BYTES)}",
        )
    if member.file_size > limits.member_bytes:
        raise _refused(
            "archive_member_too_large",
            f"a packed file inside it unpacks to {_size(member.file_size)}; the limit is "
            f"{_size(limits.member_bytes)} per packed file",
        )


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: _Budget, *, depth: int) -> None:
    """Read a member through, counting; a member that is itself a zip is checked the same way."""
    chunks = member_chunks(archive, member)
    first = next(chunks, b"")
    budget.take_bytes(len(first))
    if not looks_like_zip(first):
        for chunk in chunks:
            budget.take_bytes(len(chunk))
        return
    if depth >= MAX_NESTING:
        raise _refused(
            "archive_nested",
            f"it holds archives nested more than {MAX_NESTING} deep, which no office file needs",
        )
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as nested:
        nested.write(first)
        for chunk in chunks:
            budget.take_bytes(len(chunk))
            nested.write(chunk)
        _check(nested, budget, depth=depth + 1)


def _refused(code: str, reason: str) -> UnsafeArchive:
    return UnsafeArchive(f"The file was refused: {reason}.", code=code)


def _unreadable(reason: str) -> UnsafeArchive:
    return _refused("archive_unreadable", reason)


def _too_many_members(limits: Limits) -> UnsafeArchive:
    return _refused(
        "archive_too_many_members",
        f"it holds more than {limits.members:,} packed files, the limit for compressed files such as .docx",
    )


def _too_large(limits: Limits, verb: str) -> UnsafeArchive:
    return _refused(
        "archive_too_large",
        f"it {verb} to more than {_size(limits.unpacked_bytes)}, the limit for compressed files such as .docx",
    )


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):,.0f} MiB" if count >= 1024 * 1024 else f"{count:,} bytes"
