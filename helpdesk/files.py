"""Uploaded files: checked, scanned and stored under keys we make; downloaded through signed links.

A file is kept only after `check_upload` said yes: its size is within the limit, a zip-based file
(docx, xlsx, ...) unpacks to little enough (helpdesk.archives, checked before anything opens it),
its type (sniffed from the bytes with libmagic, never the client's word) is on
ATTACHMENT_ALLOWED_TYPES, and the scanners found nothing (the built-in EICAR check always, ClamAV
over clamd's socket when CLAMAV_URL is set; an unreachable clamd fails closed). `store_upload`
runs that check itself, so nothing stores an unchecked file. The client's file name is only ever a
display name. See docs/decisions/0008-attachments.md and 0025-upload-archive-limits.md.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import struct
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import magic
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.urls import reverse
from django.utils import timezone

from helpdesk import archives
from helpdesk.errors import Conflict, DomainError, Invalid, NotFound

logger = logging.getLogger("helpdesk.files")

STORAGE_ALIAS = "attachments"
CHUNK_BYTES = 64 * 1024
SNIFF_BYTES = 256 * 1024  # libmagic decides on the head of a file; OOXML needs its first zip entries
MAX_NAME_LENGTH = 255
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}(?:/[A-Za-z0-9_-]{1,64}){0,7}")

# The EICAR anti-virus test file, in two halves so that this source file is not itself the signature.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR" + b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Request Entity Too Large"  # as the middleware says


class UnsupportedFileType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported Media Type"


class MalwareDetected(DomainError):
    status, code, title = 422, "malware_detected", "Malware detected"


class ScannerUnavailable(DomainError):
    status, code, title = 503, "scanner_unavailable", "Scanner unavailable"


class LinkExpired(DomainError):
    status, code, title = 410, "link_expired", "Link expired"


class BadLink(DomainError):
    status, code, title = 404, "bad_link", "Not found"


@dataclass(frozen=True)
class CheckedFile:
    """What we learned about an upload: its display name and facts measured from its bytes."""

    name: str
    size: int
    content_type: str
    sha256: str


@dataclass(frozen=True)
class StoredFile(CheckedFile):
    """A checked file and the storage key it was saved under."""

    key: str


@dataclass(frozen=True)
class DownloadGrant:
    """What a valid download link says: which file, and to whom the link was issued."""

    owner_id: str
    attachment_id: str
    user_id: str


# --- Names and keys ---------------------------------------------------------------------------


def display_name(raw: str | None) -> str:
    """The client's file name made safe to show: base name only, no control characters, ≤255 chars."""
    name = unicodedata.normalize("NFC", str(raw or "")).replace("\\", "/").rsplit("/", 1)[-1]
    # Control and format characters (NUL, newlines, bidi overrides that fake an extension) go;
    # any kind of space becomes a plain one.
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category.startswith("Z"):
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(char)
    name = " ".join("".join(kept).split())
    if name in {"", ".", ".."}:
        return "file"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH].rstrip()
    return name


def attachment_key(*, prefix: str, owner_id: str, attachment_id: str) -> str:
    """The storage key of an attachment: `{prefix}/{owner_id}/{attachment_id}`, checked."""
    return _checked_key(f"{prefix}/{owner_id}/{attachment_id}")


def _checked_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"Not a storage key we make: {key!r}")
    return key


# --- Checking ---------------------------------------------------------------------------------


def check_upload(
    uploaded: File, *, allowed_types: Iterable[str] | None = None, max_bytes: int | None = None
) -> CheckedFile:
    """Measure, sniff and scan an upload, reading it in chunks; raise a DomainError to refuse it.

    Order: too large (413), empty (400), malware by the built-in check (422), a zip that unpacks to
    too much (422, helpdesk.archives), type not allowed (415), malware by ClamAV (422) or ClamAV
    not answering (503).
    """
    limit = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    allowed = set(settings.ATTACHMENT_ALLOWED_TYPES if allowed_types is None else allowed_types)
    claimed_size = getattr(uploaded, "size", None)
    if claimed_size is not None and claimed_size > limit:
        raise _too_large(limit)

    size = 0
    digest = hashlib.sha256()
    head = bytearray()
    tail = b""  # the end of the previous chunk, so a signature across two chunks is still seen
    eicar_found = False
    for chunk in _chunks(uploaded):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        digest.update(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        window = tail + chunk
        eicar_found = eicar_found or EICAR in window
        tail = window[-(len(EICAR) - 1) :]
    if size == 0:
        raise Invalid("The file is empty.", code="empty_file")

    sha256 = digest.hexdigest()
    if eicar_found:
        logger.warning("Refused an upload: EICAR test signature (sha256=%s)", sha256)
        raise MalwareDetected("The file was refused: it contains malware (the EICAR test signature).")

    try:
        archives.check_archive(uploaded)  # before libmagic, a parser or ClamAV may unpack it
    except archives.UnsafeArchive as refusal:
        logger.warning("Refused an upload: %s (sha256=%s)", refusal.code, sha256)
        raise

    content_type = magic.from_buffer(bytes(head), mime=True)
    if content_type not in allowed:
        raise UnsupportedFileType(
            f"Files of type {content_type} are not accepted here. Accepted: {', '.join(sorted(allowed))}."
        )

    if settings.CLAMAV_URL:
        found = clamd_scan(_chunks(uploaded), url=settings.CLAMAV_URL, timeout=settings.CLAMAV_TIMEOUT_SECONDS)
        if found:
            logger.warning("Refused an upload: ClamAV found %s (sha256=%s)", found, sha256)
            raise MalwareDetected("The file was refused: the virus scanner found malware in it.")

    return CheckedFile(name=display_name(uploaded.name), size=size, content_type=content_type, sha256=sha256)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than {limit} bytes, the limit for uploads.")


def _chunks(uploaded: File) -> Iterator[bytes]:
    uploaded.seek(0)
    for chunk in uploaded.chunks(CHUNK_BYTES):
        yield chunk.encode() if isinstance(chunk, str) else chunk
    uploaded.seek(0)


# --- ClamAV -----------------------------------------------------------------------------------


def clamd_scan(chunks: Iterable[bytes], *, url: str, timeout: float) -> str | None:
    """Send the bytes to clamd with INSTREAM; the signature name if it found one, else None.

    Raises ScannerUnavailable when clamd cannot be reached, times out, or answers anything but
    OK or FOUND (e.g. "INSTREAM size limit exceeded. ERROR"): we fail closed.
    """
    reply = b""
    try:
        with _clamd_connect(url, timeout) as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CHUNK_BYTES):
                        piece = chunk[start : start + CHUNK_BYTES]
                        sock.sendall(struct.pack("!I", len(piece)) + piece)
                sock.sendall(struct.pack("!I", 0))
            except OSError:
                pass  # clamd may have answered and hung up (size limit): read what it said
            reply = _read_reply(sock)
    except OSError as exc:
        logger.error("ClamAV at %s is unavailable: %s", url, exc)
        raise _scanner_unavailable() from exc

    text = reply.decode("utf-8", "replace").strip()
    if text == "stream: OK":
        return None
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        return text.removeprefix("stream: ").removesuffix(" FOUND").strip() or "unknown"
    logger.error("ClamAV at %s did not scan the file: %r", url, text[:200])
    raise _scanner_unavailable()


def _clamd_connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(parts.path)
        except OSError:
            sock.close()
            raise
        return sock
    if parts.scheme == "tcp" and parts.hostname and parts.port:
        return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    raise OSError(f"not a clamd address: {url!r}")


def _read_reply(sock: socket.socket) -> bytes:
    reply = b""
    while b"\0" not in reply and len(reply) < 4096:
        data = sock.recv(4096)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0]


def _scanner_unavailable() -> ScannerUnavailable:
    return ScannerUnavailable(
        "The virus scanner is not available, so the file was not accepted. Try again in a minute.",
        headers={"Retry-After": "30"},
    )


# --- Storage ----------------------------------------------------------------------------------


def attachment_storage() -> Storage:
    """The "attachments" storage of settings.STORAGES (files under VAR_DIR/uploads, or S3)."""
    return storages[STORAGE_ALIAS]


class _Sniffed(File):
    """The upload with the content type we sniffed, so S3 never records the client's claim."""

    def __init__(self, uploaded: File, content_type: str):
        super().__init__(uploaded, name=uploaded.name)
        self.content_type = content_type


def store_upload(
    uploaded: File, *, key: str, allowed_types: Iterable[str] | None = None, max_bytes: int | None = None
) -> StoredFile:
    """Check the upload (see check_upload), then save it under exactly `key`; nothing is kept on refusal."""
    _checked_key(key)
    checked = check_upload(uploaded, allowed_types=allowed_types, max_bytes=max_bytes)
    storage = attachment_storage()
    uploaded.seek(0)
    saved = storage.save(key, _Sniffed(uploaded, checked.content_type))
    if saved != key:  # the storage chose another name because the key was taken
        storage.delete(saved)
        raise Conflict("A file is already stored under this key.", code="key_taken")
    return StoredFile(**asdict(checked), key=key)


def open_stored(key: str) -> File:
    """The stored file, opened for reading (close it, or hand it to a FileResponse that will)."""
    try:
        return attachment_storage().open(_checked_key(key), "rb")
    except FileNotFoundError:
        raise NotFound("The file is no longer stored.", code="file_missing") from None


def delete_stored(key: str) -> None:
    """Delete a stored file; a key with no file is not an error."""
    attachment_storage().delete(_checked_key(key))


# --- Download links ---------------------------------------------------------------------------


def _salt(kind: str) -> str:
    return f"helpdesk.files.download:{kind}"


def sign_download(*, owner_id: str, attachment_id: str, user_id: str, kind: str = "attachment") -> str:
    """A URL-safe token for one file, issued to one user; read_download accepts it for a while."""
    payload = {"o": str(owner_id), "a": str(attachment_id), "u": str(user_id)}
    return signing.dumps(payload, salt=_salt(kind), compress=False)


def read_download(token: str, *, kind: str = "attachment", max_age: int | None = None) -> DownloadGrant:
    """The grant in a token; LinkExpired (410) after ATTACHMENT_URL_TTL_SECONDS, BadLink (404) if forged."""
    ttl = settings.ATTACHMENT_URL_TTL_SECONDS if max_age is None else max_age
    try:
        payload = signing.loads(token, salt=_salt(kind), max_age=ttl)
    except signing.SignatureExpired:
        raise LinkExpired("This download link has expired; ask for a new one.") from None
    except signing.BadSignature:
        raise BadLink("This download link is not valid.") from None
    return DownloadGrant(owner_id=payload["o"], attachment_id=payload["a"], user_id=payload["u"])


def attachments_with_links(
    attachments: list[dict], *, owner_id: str, user_id: str, kind: str, url_name: str
) -> list[dict]:
    """Attachment metadata as shown to one user: each with a download link signed for them.

    Call it only for a user who may read the owner (a ticket, an article): the link is the proof.
    `url_name` is the owner's download route, which takes `pk` and `attachment_id`.
    """
    expires_at = timezone.now() + timedelta(seconds=settings.ATTACHMENT_URL_TTL_SECONDS)
    shown = []
    for attachment in attachments:
        token = sign_download(owner_id=owner_id, attachment_id=attachment["id"], user_id=user_id, kind=kind)
        path = reverse(url_name, kwargs={"pk": owner_id, "attachment_id": attachment["id"]})
        shown.append(
            {
                **attachment,
                "created_at": datetime.fromisoformat(attachment["created_at"]),
                "download_url": f"{path}?signature={token}",
                "download_url_expires_at": expires_at,
            }
        )
    return shown


def attachment_in(attachments: list[dict], attachment_id: str) -> dict:
    """One element of an owner's attachment list, or NotFound."""
    for attachment in attachments:
        if attachment["id"] == attachment_id:
            return attachment
    raise NotFound("No such attachment.")


# --- Metadata embedded in the owning document ---------------------------------------------------

ATTACHMENT_FIELDS = {
    "id": str,
    "name": str,
    "size": int,
    "content_type": str,
    "sha256": str,
    "storage_key": str,
    "uploaded_by": str,
    "created_at": str,
}


def attachment_element(
    *, attachment_id: str, stored: StoredFile, uploaded_by: str, created_at: datetime, **extra: str
) -> dict:
    """The metadata element a document (ticket, article) embeds for a stored file; `extra` adds
    the owner's own string fields (an article's `role`)."""
    return validate_attachment_element(
        {
            "id": attachment_id,
            "name": stored.name,
            "size": stored.size,
            "content_type": stored.content_type,
            "sha256": stored.sha256,
            "storage_key": stored.key,
            "uploaded_by": uploaded_by,
            "created_at": created_at.isoformat(),
            **extra,
        },
        extra=tuple(extra),
    )


def validate_attachment_element(element: dict, *, extra: tuple[str, ...] = ()) -> dict:
    expected = {**ATTACHMENT_FIELDS, **dict.fromkeys(extra, str)}
    if set(element) != set(expected) or any(not isinstance(element[k], kind) for k, kind in expected.items()):
        raise ValueError(f"Not a valid attachment element: {sorted(element)}")
    datetime.fromisoformat(element["created_at"])
    return element
