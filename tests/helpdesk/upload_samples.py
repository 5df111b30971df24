"""Files for the upload-limit tests: zip bombs that weigh megabytes and unpack to gigabytes, built
in memory in a second; PDFs of given pages; and honest office files for comparison.

Deflating gigabytes of zeros would take minutes. Instead one mebibyte of zeros is deflated once,
ending with a full flush (which makes what follows independent of what came before), and that
block is repeated: a valid deflate stream of any length. The archives are written by hand so a
test can also make the central directory lie.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass, replace

MIB = 1024 * 1024
_ZERO_MIB = bytes(MIB)
_FINAL_EMPTY_BLOCK = b"\x03\x00"  # raw deflate: the last block, empty


@dataclass(frozen=True)
class Entry:
    """One member as it is written: its name, its stored bytes and what the directory says of them."""

    name: str
    payload: bytes
    method: int
    crc: int
    size: int

    def declaring(self, size: int) -> Entry:
        """The same bytes under a directory entry that states another unpacked size."""
        return replace(self, size=size)


def stored(name: str, data: bytes) -> Entry:
    return Entry(name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def deflated(name: str, data: bytes) -> Entry:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Entry(
        name, compressor.compress(data) + compressor.flush(), zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)
    )


def zeros(name: str, mib: int) -> Entry:
    """`mib` MiB of zeros, deflated about 1,000:1."""
    return Entry(
        name, _deflated_zero_mib() * mib + _FINAL_EMPTY_BLOCK, zipfile.ZIP_DEFLATED, _crc_of_zeros(mib), mib * MIB
    )


@functools.cache
def _deflated_zero_mib() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(_ZERO_MIB) + compressor.flush(zlib.Z_FULL_FLUSH)


@functools.cache
def _crc_of_zeros(mib: int) -> int:
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(_ZERO_MIB, crc)
    return crc


def zip_of(entries: list[Entry]) -> bytes:
    """A zip archive of these entries, in this order (no zip64: each under 4 GiB)."""
    out = bytearray()
    directory = bytearray()
    for entry in entries:
        name = entry.name.encode()
        header = (20, 0, entry.method, 0, 0x21, entry.crc, len(entry.payload), entry.size, len(name))
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *header, 0, 0, 0, 0, 0, len(out)) + name
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", *header, 0) + name + entry.payload
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(out), 0)
    return bytes(out + directory + end)


def entries_of(archive: bytes) -> list[Entry]:
    """The members of a real archive (a .docx python-docx wrote), re-deflated as entries."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        return [deflated(info.filename, source.read(info)) for info in source.infolist()]


def with_member(archive: bytes, entry: Entry) -> bytes:
    """The archive with `entry` in place of the member of that name (or added at the end)."""
    entries = [e for e in entries_of(archive) if e.name != entry.name]
    at = next((i for i, e in enumerate(entries_of(archive)) if e.name == entry.name), len(entries))
    return zip_of([*entries[:at], entry, *entries[at:]])


def docx_bomb(template: bytes, *, upload_bytes: int) -> bytes:
    """A Word file of just under `upload_bytes` whose document part and added media are zeros
    worth about a thousand times that: the first member python-docx reads is 1 GiB."""
    parts = entries_of(template)
    kept = [e for e in parts if e.name != "word/document.xml"]
    room = upload_bytes - len(zip_of(kept)) - 4096  # multipart framing and headers stay under the limit
    per_mib = len(_deflated_zero_mib())
    bombs = []
    while room > per_mib * 2:
        mib = min(1024, (room - 200) // per_mib)
        name = "word/document.xml" if not bombs else f"word/media/image{len(bombs)}.png"
        bombs.append(zeros(name, mib))
        room -= len(bombs[-1].payload) + 2 * len(name) + 200
    at = [e.name for e in parts].index("word/document.xml")
    return zip_of([*kept[:at], bombs[0], *kept[at:], *bombs[1:]])


def docx_of_tags(template: bytes, count: int) -> bytes:
    """A Word file whose document part holds `count` empty paragraphs, each with a random revision id
    so that it compresses like real markup (about 4:1), not like a bomb."""
    ids = random.Random(count).choices(range(16**8), k=count)
    paragraphs = "".join(f'<w:p w:rsidR="{number:08X}"/>' for number in ids)
    with zipfile.ZipFile(io.BytesIO(template)) as source:
        document = source.read("word/document.xml").decode()
    return with_member(
        template, deflated("word/document.xml", document.replace("<w:body>", "<w:body>" + paragraphs, 1).encode())
    )


def many_members(count: int) -> bytes:
    """An archive of `count` empty members whose directory entries all point at one local header:
    ten megabytes of directory make zipfile build some 200,000 objects."""
    name = b"a"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    directory = bytearray()
    for number in range(count):
        entry = b"%07d" % number
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(entry), 0, 0, 0, 0, 0, 0
        )
        directory += entry
    total = min(count, 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, total, total, len(directory), len(local), 0)
    return local + bytes(directory) + end


def package(members: list[tuple[str, str | bytes]], *, stored_first: bool = False) -> bytes:
    """An archive written by zipfile (deflated), as office suites write theirs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, (name, data) in enumerate(members):
            method = zipfile.ZIP_STORED if stored_first and number == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_bytes() -> bytes:
    """The smallest workbook Excel opens: one sheet, 42 in A1."""
    return package(
        [
            (
                "[Content_Types].xml",
                f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                f'<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
                f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_TYPE}.worksheet+xml"/></Types>',
            ),
            (
                "_rels/.rels",
                f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
                f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            ),
            (
                "xl/workbook.xml",
                f'{_XML}<workbook xmlns="{_SHEET_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>'
                f'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
            ),
            (
                "xl/_rels/workbook.xml.rels",
                f'{_XML}<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
                f'Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
            ),
            (
                "xl/worksheets/sheet1.xml",
                f'{_XML}<worksheet xmlns="{_SHEET_MAIN}"><sheetData><row r="1"><c r="A1"><v>42</v></c></row>'
                f"</sheetData></worksheet>",
            ),
        ]
    )


def odt_bytes() -> bytes:
    """An OpenDocument text: its `mimetype` member first and stored, as the format requires."""
    return package(
        [
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            (
                "META-INF/manifest.xml",
                f'{_XML}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
            ),
            (
                "content.xml",
                f'{_XML}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
            ),
        ],
        stored_first=True,
    )


# --- PDFs ---------------------------------------------------------------------------------------


def pdf_of_pages(contents: list[bytes]) -> bytes:
    """A PDF with one page per content stream, each compressed (FlateDecode), with a correct xref table."""
    count = len(contents)
    kids = " ".join(f"{3 + 2 * number} 0 R" for number in range(count))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
    ]
    for number, content in enumerate(contents):
        font, stream = 3 + 2 * count, 4 + 2 * number
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R >> >> "
            f"/Contents {stream} 0 R >>".encode()
        )
        packed = zlib.compress(content, 9)
        objects.append(f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def text_page(line: str) -> bytes:
    return f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET\n".encode()
