"""Text out of uploaded documents: Markdown, plain text, HTML, PDF and Word (.docx).

The kind is decided from the sniffed type (helpdesk.files, libmagic): PDF and .docx by their
bytes; text files by their extension, since libmagic calls Markdown `text/plain` (or
`text/x-script.python` when it holds a code block). Extraction uses maintained libraries
(Markdown, beautifulsoup4 + lxml, pypdf, python-docx) and gives Markdown: headings, paragraphs,
lists and tables survive. A file that cannot be read (corrupt, encrypted, not text) or has no
text is a 422 with a code that says which.

Every parser here builds far more in memory than the file weighs, so each kind is bounded before
it is parsed: zip packages by helpdesk.archives (in helpdesk.files.check_upload, before anything
opens them) and here by what python-docx would hold and parse; PDFs by page count and decoded
content (pypdf's own limits, lowered: PDF_MAX_PAGES, PDF_MAX_CONTENT_BYTES); text by its size;
HTML by its size, its number of tags and its depth. Beyond them: 422 with a code that names the
limit (decision 0025).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

import magic
from django.conf import settings
from django.core.files import File

from helpdesk import archives, files
from helpdesk.errors import DomainError
from knowledge.search.base import strip_sentinels

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BINARY_KINDS = {"application/pdf": "pdf", DOCX: "docx"}
TEXT_KINDS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
}
ACCEPTED = ".md, .txt, .html, .pdf or .docx"
MAX_BODY_CHARS = 200_000
# What parsing may cost (decision 0025); each limit is well above what a document of MAX_BODY_CHARS
# needs. Text is decoded and cleaned in passes that peak at about 17 times its size: a file of more
# than 4 bytes per character an article holds cannot become one anyway.
MAX_TEXT_BYTES = 4 * MAX_BODY_CHARS
# python-docx holds every part of a package in memory and parses its XML with lxml, about 0.5 KB per
# tag at worst (375,000 empty paragraphs took 197 MB).
DOCX_MAX_UNPACKED_BYTES = 24 * 1024 * 1024
DOCX_MAX_XML_TAGS = 100_000
# BeautifulSoup builds 0.5 to 2.5 KB of Python objects per tag (10 MB of <b>x</b> took 1.1 GB), and
# a page's text costs what plain text does.
HTML_MAX_BYTES = 2 * 1024 * 1024
HTML_MAX_TAGS = 20_000
# pypdf parses a page's content stream into Python objects (its default allows 2,000,000 tokens); a
# dense page of text has tens of thousands.
PDF_MAX_PAGE_TOKENS = 500_000
MAX_TITLE_CHARS = 200
SUMMARY_CHARS = 300


class UnreadableDocument(DomainError):
    status, code, title = 422, "unreadable_document", "Unreadable document"


class EmptyDocument(DomainError):
    status, code, title = 422, "empty_document", "No text in the document"


class DocumentTooLong(DomainError):
    status, code, title = 422, "document_too_long", "Document too long"


class DocumentTooComplex(DomainError):
    """Parsing it would take more memory or time than any document that fits an article needs."""

    status, code, title = 422, "document_too_complex", "Document too complex"


@dataclass(frozen=True)
class Extracted:
    title: str
    body: str
    summary: str


# --- Which kind -------------------------------------------------------------------------------


def extension(name: str) -> str:
    return PurePosixPath(files.display_name(name)).suffix.lower()


def allowed_types(uploaded: File) -> set[str]:
    """The sniffed types to accept for this upload: PDF and .docx always; a text type only when the
    name says .md, .txt or .html (whatever text subtype libmagic reports for it)."""
    uploaded.seek(0)
    head = uploaded.read(files.SNIFF_BYTES)
    uploaded.seek(0)
    head = head if isinstance(head, bytes) else head.encode()
    allowed = set(BINARY_KINDS)
    if archives.looks_like_zip(head):  # never text; check_upload measures it before anything sniffs it
        return allowed
    sniffed = magic.from_buffer(head, mime=True)
    if sniffed.startswith("text/") and extension(uploaded.name or "") in TEXT_KINDS:
        allowed.add(sniffed)
    return allowed


def kind_of(*, content_type: str, name: str) -> str:
    return BINARY_KINDS.get(content_type) or TEXT_KINDS[extension(name)]


# --- Extraction -------------------------------------------------------------------------------


def extract(data: bytes, *, kind: str, name: str) -> Extracted:
    extractor = {"markdown": _markdown, "text": _text, "html": _html, "pdf": _pdf, "docx": _docx}[kind]
    title, body = extractor(data)
    body = clean(body)
    if not body.strip():
        raise EmptyDocument(f"{files.display_name(name)} has no text we can read (a scanned PDF needs OCR first).")
    if len(body) > MAX_BODY_CHARS:
        raise DocumentTooLong(
            f"The document has {len(body):,} characters of text; an article holds at most {MAX_BODY_CHARS:,}."
        )
    title = " ".join(clean(title or "").split())[:MAX_TITLE_CHARS].strip() or title_from_name(name)
    return Extracted(title=title, body=body, summary=summary_of(body))


def clean(text: str) -> str:
    text = strip_sentinels(unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def title_from_name(name: str) -> str:
    stem = PurePosixPath(files.display_name(name)).stem
    words = " ".join(re.split(r"[\s_\-.]+", stem)).strip()
    return (words[:1].upper() + words[1:])[:MAX_TITLE_CHARS] or "Imported document"


def summary_of(body: str) -> str:
    """The first paragraph that is not a heading, as plain text, cut at a word."""
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if not block or block.startswith(("#", "|", "```")):
            continue
        text = " ".join(re.sub(r"[*_`>#]|^\s*(?:[-+]|\d+\.)\s+", "", block, flags=re.M).split())
        if len(text) <= SUMMARY_CHARS:
            return text
        return text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return ""


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252; binary is unreadable."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\0" not in data:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                pass
    raise UnreadableDocument("The file is not text in an encoding we can read (UTF-8, UTF-16 or Windows-1252).")


_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")


def _check_text_size(data: bytes) -> None:
    if len(data) > MAX_TEXT_BYTES:
        raise DocumentTooLong(
            f"The file has {len(data):,} bytes of text; an article holds at most {MAX_BODY_CHARS:,} characters."
        )


def _markdown(data: bytes) -> tuple[str, str]:
    _check_text_size(data)
    text = clean(decode(data))
    lines = text.split("\n")
    for index, line in enumerate(lines[:20]):
        match = _ATX_HEADING.match(line)
        if match and len(match.group(1)) == 1:
            del lines[index]  # the title is shown as the title, not again as the body's first line
            return match.group(2), "\n".join(lines)
        if index + 1 < len(lines) and line.strip() and re.fullmatch(r"=+\s*", lines[index + 1]):
            del lines[index : index + 2]
            return line, "\n".join(lines)
    return "", text


def _text(data: bytes) -> tuple[str, str]:
    _check_text_size(data)
    text = clean(decode(data))
    first, _, rest = text.partition("\n")
    if first.strip() and len(first.strip()) <= 120 and rest.strip():
        return first, rest
    return "", text


# --- HTML -------------------------------------------------------------------------------------

_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "form", "nav")
_BLOCKS = {"p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "figure"}


def _html(data: bytes) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    if len(data) > HTML_MAX_BYTES:
        raise _html_too_complex(
            f"it is {len(data) / (1024 * 1024):,.1f} MiB; at most {HTML_MAX_BYTES // (1024 * 1024)} MiB"
        )
    tags = data.count(b"<")  # every tag starts with one, so this never counts fewer
    if tags > HTML_MAX_TAGS:
        raise _html_too_complex(f"it has {tags:,} tags; at most {HTML_MAX_TAGS:,}")
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as error:  # lxml refuses some binary garbage outright
        raise UnreadableDocument("The HTML could not be parsed.") from error
    for tag in soup(_DROP):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root = soup.body or soup
    first_h1 = root.find("h1")
    if first_h1 is not None and (not title or first_h1.get_text(" ", strip=True) == title):
        title = first_h1.get_text(" ", strip=True)
        first_h1.decompose()
    try:
        return title, _blocks(root)
    except RecursionError:  # the walk recurses once per level of nesting
        raise _html_too_complex("its tags are nested deeper than any page needs") from None


def _html_too_complex(reason: str) -> DocumentTooComplex:
    return DocumentTooComplex(
        f"The HTML page cannot be imported: {reason}. Import a longer document as .docx or Markdown.",
        code="html_too_complex",
    )


def _inline(node) -> str:
    from bs4 import NavigableString, Tag

    if isinstance(node, NavigableString):
        return re.sub(r"\s+", " ", str(node))
    if not isinstance(node, Tag):
        return ""
    inner = "".join(_inline(child) for child in node.children)
    name = node.name
    if name == "br":
        return "\n"
    if name in ("strong", "b") and inner.strip():
        return f"**{inner.strip()}**"
    if name in ("em", "i") and inner.strip():
        return f"_{inner.strip()}_"
    if name == "code" and inner.strip():
        return f"`{inner.strip()}`"
    if name == "a":
        href = node.get("href", "")
        if inner.strip() and href.startswith(("http://", "https://", "mailto:")):
            return f"[{inner.strip()}]({href})"
    return inner


def _blocks(root) -> str:
    from bs4 import NavigableString, Tag

    out: list[str] = []

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                text = " ".join(str(child).split())
                if text:
                    out.append(text)
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                out.append("#" * int(name[1]) + " " + " ".join(_inline(child).split()))
            elif name in ("ul", "ol"):
                items = [li for li in child.find_all("li", recursive=False)]
                lines = []
                for number, item in enumerate(items, start=1):
                    bullet = f"{number}." if name == "ol" else "-"
                    lines.append(f"{bullet} " + " ".join(_inline(item).split()))
                out.append("\n".join(lines))
            elif name == "pre":
                out.append("```\n" + child.get_text().strip("\n") + "\n```")
            elif name == "table":
                out.append(
                    _table(
                        [
                            [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
                            for row in child.find_all("tr")
                        ]
                    )
                )
            elif name in _BLOCKS or any(
                isinstance(c, Tag) and c.name in _BLOCKS | {"ul", "ol", "table", "pre"} for c in child.children
            ):
                walk(child)
            else:
                text = _inline(child).strip()
                if text:
                    out.append(text)

    walk(root)
    return "\n\n".join(block for block in out if block.strip())


def _table(rows: list[list[str]]) -> str:
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [[cell.replace("|", "\\|") for cell in row] + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


# --- PDF and Word -----------------------------------------------------------------------------


def _pdf(data: bytes) -> tuple[str, str]:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    try:
        with apply_configuration(**_pdf_limits()):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise UnreadableDocument("The PDF is protected by a password; upload an unprotected copy.")
            _check_page_count(len(reader.pages))
            pages = _pdf_page_texts(reader)
            metadata = reader.metadata
            title = metadata.title if metadata is not None and isinstance(metadata.title, str) else ""
    except DomainError:
        raise
    except LimitReachedError as error:
        raise _pdf_too_large() from error
    except Exception as error:  # pypdf raises many kinds on damaged files
        raise UnreadableDocument("The PDF is damaged or not a PDF we can read.") from error
    return title, "\n\n".join(page.strip() for page in pages if page.strip())


def _pdf_limits() -> dict[str, int]:
    """pypdf's own limits, lowered: each decoded stream at most PDF_MAX_CONTENT_BYTES, a page tree
    of about PDF_MAX_PAGES, a content stream parsed into at most PDF_MAX_PAGE_TOKENS tokens."""
    content = settings.PDF_MAX_CONTENT_BYTES
    return {
        "zlib_maximum_output_length": content,
        "lzw_maximum_output_length": content,
        "run_length_maximum_output_length": content,
        "brotli_maximum_output_length": content,
        "array_based_stream_maximum_output_length": content,
        "jbig2_maximum_output_length": content,
        "image_maximum_buffer_size": content,
        "page_tree_maximum_entries": 4 * settings.PDF_MAX_PAGES,  # pages and the nodes above them
        "stream_parsing_work_maximum_count": PDF_MAX_PAGE_TOKENS,
    }


def _check_page_count(count: int) -> None:
    if count > settings.PDF_MAX_PAGES:
        raise DocumentTooComplex(
            f"The PDF has {count:,} pages; at most {settings.PDF_MAX_PAGES:,} can be imported.",
            code="pdf_too_many_pages",
        )


def _pdf_page_texts(reader) -> list[str]:
    """The text of each page, as long as the pages' decoded content stays within PDF_MAX_CONTENT_BYTES
    in all (pypdf keeps each decoded stream for the life of the reader)."""
    left = settings.PDF_MAX_CONTENT_BYTES
    texts = []
    for page in reader.pages:
        contents = page.get_contents()
        left -= len(contents.get_data()) if contents is not None else 0
        if left < 0:
            raise _pdf_too_large()
        texts.append(page.extract_text() or "")
    return texts


def _pdf_too_large() -> DocumentTooComplex:
    return DocumentTooComplex(
        f"The PDF holds more than we can read for an article: at most {settings.PDF_MAX_PAGES:,} pages and "
        f"{settings.PDF_MAX_CONTENT_BYTES // (1024 * 1024):,} MiB of page content once decompressed.",
        code="pdf_too_large",
    )


def _docx(data: bytes) -> tuple[str, str]:
    import docx
    from docx.table import Table

    _check_docx_package(data)
    try:
        document = docx.Document(io.BytesIO(data))
        title = document.core_properties.title or ""
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.append(_table([[cell.text.strip() for cell in row.cells] for row in item.rows]))
                continue
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            if style == "Title":
                title = title or text
                continue
            level = re.fullmatch(r"Heading (\d)", style)
            if level:
                if level.group(1) == "1" and not title:
                    title = text
                    continue
                blocks.append("#" * int(level.group(1)) + " " + text)
            elif style.startswith("List Number"):
                blocks.append(f"1. {text}")
            elif style.startswith("List"):
                blocks.append(f"- {text}")
            else:
                blocks.append(text)
    except Exception as error:  # a damaged package: zip, XML or relationship errors
        raise UnreadableDocument("The Word document is damaged or not a .docx we can read.") from error
    # Consecutive list items belong to one list: no blank line between them.
    body = "\n\n".join(blocks)
    body = re.sub(r"(?m)^((?:- |1\. ).*)\n\n(?=(?:- |1\. ))", r"\1\n", body)
    return title, body


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n").startswith(b"<")  # after a byte-order mark


def _check_docx_package(data: bytes) -> None:
    """Refuse a package that python-docx would hold and parse at too great a cost, reading it through
    in chunks once helpdesk.archives has measured it (again: whoever calls, nothing unpacks an
    unchecked archive)."""
    archives.check_archive(io.BytesIO(data))
    unpacked = tags = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            for member in package.infolist():
                xml = None  # a part's content type, not its name, makes it XML: look at its first bytes
                for chunk in archives.member_chunks(package, member):
                    unpacked += len(chunk)
                    xml = _looks_like_xml(chunk) if xml is None else xml
                    tags += chunk.count(b"<") if xml else 0
    except archives.READ_ERRORS as error:
        raise UnreadableDocument("The Word document is damaged or not a .docx we can read.") from error
    if unpacked > DOCX_MAX_UNPACKED_BYTES or tags > DOCX_MAX_XML_TAGS:
        raise DocumentTooComplex(
            f"The Word document unpacks to {unpacked / (1024 * 1024):,.1f} MiB with {tags:,} tags; one that can "
            f"become an article needs at most {DOCX_MAX_UNPACKED_BYTES // (1024 * 1024)} MiB and "
            f"{DOCX_MAX_XML_TAGS:,} tags.",
            code="docx_too_complex",
        )
