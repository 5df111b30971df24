"""POST /api/v1/kb/documents/: each accepted type becomes a draft with its source file kept; bad,
unreadable, dangerous and empty files get a clear 4xx and leave nothing behind."""

import io
import zipfile

import docx
import pytest
from pypdf import PdfReader, PdfWriter
from rest_framework.test import APIClient

from helpdesk import files
from knowledge.models import Article, ArticleVersion, Status
from tests.helpdesk.upload_samples import pdf_of_pages, text_page, with_member, zeros
from tests.helpers import DOCX_TYPE, EICAR, PNG, assert_problem, matrix, post_file, stored_keys, zip_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/kb/documents/"


def pdf_with_text(lines: list[str], *, title: str | None = None) -> bytes:
    """A one-page PDF with real text (Helvetica), built by hand with a correct xref table."""
    content = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objects.append(f"<< /Title ({title}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    info = f" /Info {len(objects)} 0 R" if title else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="s3cret", owner_password="0wner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_document() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Laptop request"
    document.add_heading("Laptop request", level=1)
    document.add_paragraph("New starters get a standard laptop on their first day.")
    document.add_heading("Steps", level=2)
    document.add_paragraph("Open the service portal", style="List Number")
    document.add_paragraph("Choose Laptop request", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Model", "Weeks"
    table.cell(1, 0).text, table.cell(1, 1).text = "Standard", "1"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def broken_docx() -> bytes:
    """Sniffs as .docx (the package's first entries are right) but its document part is garbage."""
    source = zipfile.ZipFile(io.BytesIO(docx_document()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, b"<w:document><<<not xml" if item.filename == "word/document.xml" else data)
    return buffer.getvalue()


HTML = b"""<!DOCTYPE html><html><head><title>Printer offline</title><style>p {color: red}</style>
<script>alert('x')</script></head><body><nav>Home | About</nav><h1>Printer offline</h1>
<p>If the printer shows <b>offline</b>, check the cable.</p><h2>Steps</h2>
<ol><li>Turn it off and on</li><li>Re-add it from <a href="https://print.example.com">the print portal</a></li></ol>
<table><tr><th>Floor</th><th>Printer</th></tr><tr><td>2</td><td>HP-2</td></tr></table></body></html>"""

GOOD = {
    "guide.md": (
        b"# Reset your password\n\nUse the self-service portal.\n\n## Steps\n\n1. Open the portal\n"
        b"2. Click *Forgot password*\n\n```bash\npasswd --help\n```\n",
        "Reset your password",
        ["Use the self-service portal.", "## Steps", "2. Click *Forgot password*"],
    ),
    "notes.txt": (
        "VPN on hotel Wi-Fi\nSome hotels block the VPN port. Use the 443 profile.\nCafé networks too.\n".encode(),
        "VPN on hotel Wi-Fi",
        ["Some hotels block the VPN port.", "Café networks too."],
    ),
    "printer.html": (HTML, "Printer offline", ["**offline**", "## Steps", "1. Turn it off and on", "| 2 | HP-2 |"]),
    "mfa.pdf": (
        pdf_with_text(["Set up MFA on a new phone.", "Install the authenticator app."], title="MFA on a new phone"),
        "MFA on a new phone",
        ["Set up MFA on a new phone.", "Install the authenticator app."],
    ),
    "laptop.docx": (
        docx_document(),
        "Laptop request",
        ["New starters get a standard laptop", "## Steps", "1. Open the service portal\n1. Choose", "| Standard | 1 |"],
    ),
}


# The type each of GOOD is stored as: sniffed from its bytes (Markdown is plain text).
SNIFFED = {
    "guide.md": "text/plain",
    "notes.txt": "text/plain",
    "printer.html": "text/html",
    "mfa.pdf": "application/pdf",
    "laptop.docx": DOCX_TYPE,
}


@pytest.mark.parametrize("who,expected", matrix([401, 403, 403, 403, 201, 201]))
def test_upload_matrix(client_for, who, expected):
    response = post_file(client_for(who), URL, "notes.txt", GOOD["notes.txt"][0])
    assert response.status_code == expected
    assert Article.objects.count() == (1 if expected == 201 else 0)
    assert len(stored_keys("kb")) == (1 if expected == 201 else 0)


@pytest.mark.parametrize("name", list(GOOD))
def test_each_type_becomes_a_draft_with_its_source_kept(client_for, people, name):
    data, title, fragments = GOOD[name]
    response = post_file(client_for("lead"), URL, name, data, tags="imported, docs", visibility="agents")
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["title"], shown["status"], shown["visibility"], shown["version"]) == (title, "draft", "agents", 1)
    assert shown["tags"] == ["imported", "docs"]
    for fragment in fragments:
        assert fragment in shown["body"], (fragment, shown["body"])
    assert shown["summary"]
    article = Article.objects.get(pk=shown["id"])
    assert article.status == Status.DRAFT and article.author == people["lead"]
    assert ArticleVersion.objects.get(article=article, number=1).change_note == f"Imported from {name}."
    [attachment] = shown["attachments"]
    assert (attachment["name"], attachment["size"], attachment["role"]) == (name, len(data), "source")
    assert attachment["content_type"] == SNIFFED[name]
    download = APIClient().get(attachment["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == data


def test_html_loses_scripts_styles_and_navigation(client_for):
    body = post_file(client_for("lead"), URL, "printer.html", HTML).json()["body"]
    assert "alert" not in body and "color: red" not in body and "Home | About" not in body
    assert "[the print portal](https://print.example.com)" in body
    assert not body.startswith("# Printer offline")  # the title is not repeated


def test_a_markdown_file_with_code_is_still_markdown(client_for):
    data = b"# Script\n\n```python\nimport os\ndef main():\n    print('x')\n```\n"
    shown = post_file(client_for("lead"), URL, "script.md", data).json()
    assert shown["title"] == "Script" and "import os" in shown["body"]


def test_title_category_and_file_name_fallbacks(client_for, categories):
    lead = client_for("lead")
    shown = post_file(lead, URL, "wifi_guest-access.txt", b"just one line", category=categories["vpn"].pk).json()
    assert shown["title"] == "Wifi guest access" and shown["category"]["name"] == "VPN"
    assert post_file(lead, URL, "x.md", b"no heading here", title="Chosen title").json()["title"] == "Chosen title"


@pytest.mark.parametrize(
    "name,data,status,code",
    [
        ("eicar.txt", EICAR, 422, "malware_detected"),
        ("report.pdf", b"%PDF-1.4\n" + EICAR, 422, "malware_detected"),
        ("photo.png", PNG, 415, "unsupported_media_type"),
        ("photo.md", PNG, 415, "unsupported_media_type"),
        ("notes.rtf", b"plain words in a file named rtf", 415, "unsupported_media_type"),
        ("archive.docx", None, 415, "unsupported_media_type"),
        ("blob.txt", bytes(range(256)) * 8, 415, "unsupported_media_type"),
        ("empty.txt", b"", 400, "validation_error"),
        ("blank.md", b"   \n\n  \n", 422, "empty_document"),
        ("scan.pdf", None, 422, "empty_document"),
        ("locked.pdf", None, 422, "unreadable_document"),
        ("damaged.pdf", None, 422, "unreadable_document"),
        ("broken.docx", None, 422, "unreadable_document"),
    ],
)
def test_bad_files_get_a_clear_4xx_and_nothing_is_kept(client_for, name, data, status, code):
    if data is None:
        data = {
            "archive.docx": zip_bytes(),
            "scan.pdf": _pdf_without_text(),
            "locked.pdf": encrypted(pdf_with_text(["secret"])),
            "broken.docx": broken_docx(),
            "damaged.pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 9 0 R>>endobj\n" + b"\x00\xff" * 300,
        }[name]
    response = post_file(client_for("lead"), URL, name, data)
    problem = assert_problem(response, status, code)
    if status == 415:
        assert ".md, .txt, .html, .pdf or .docx" in problem["detail"]
    assert Article.objects.count() == 0
    assert stored_keys("kb") == []


def test_too_large_is_413(client_for, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    assert_problem(post_file(client_for("lead"), URL, "big.txt", b"a" * 2048), 413, "payload_too_large")
    assert Article.objects.count() == 0


def test_a_document_too_long_for_an_article_is_422(client_for, monkeypatch):
    from knowledge import documents

    monkeypatch.setattr(documents, "MAX_BODY_CHARS", 100)
    response = post_file(client_for("lead"), URL, "long.txt", b"title\n" + b"word " * 100)
    assert_problem(response, 422, "document_too_long")
    assert stored_keys("kb") == []


def test_unknown_fields_and_a_missing_file_are_400(client_for):
    lead = client_for("lead")
    assert_problem(lead.post(URL, {}, format="multipart"), 400, "validation_error")
    problem = assert_problem(post_file(lead, URL, "a.txt", b"x\ny", status="published"), 400)
    assert "status" in problem["errors"]


def test_the_upload_limit(client_for, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "kb_document_user": "1/m"}
    lead = client_for("lead")
    assert post_file(lead, URL, "a.txt", b"one\ntwo").status_code == 201
    assert_problem(post_file(lead, URL, "b.txt", b"one\ntwo"), 429, "rate_limited")


def test_download_links_are_for_this_kind_of_file_only(client_for):
    shown = post_file(client_for("lead"), URL, "notes.txt", GOOD["notes.txt"][0]).json()
    attachment = shown["attachments"][0]
    ticket_token = files.sign_download(owner_id=shown["id"], attachment_id=attachment["id"], user_id="u")
    path = attachment["download_url"].split("?")[0]
    assert_problem(APIClient().get(f"{path}?signature={ticket_token}"), 404, "bad_link")
    assert_problem(APIClient().get(f"{path}?signature=forged"), 404, "bad_link")


def _pdf_without_text() -> bytes:
    return pdf_with_text([]).replace(b"BT /F1 12 Tf 72 720 Td  ET", b"0 0 m 10 10 l S               ")


# --- What a document may cost to read (decision 0025) ---------------------------------------------


def assert_refused(response, code: str) -> dict:
    problem = assert_problem(response, 422, code)
    assert Article.objects.count() == 0
    assert stored_keys("kb") == []
    return problem


def test_a_compression_bomb_is_refused_before_python_docx_opens_it(client_for, monkeypatch):
    """Before: the 20 MiB part was read whole (twice over) and then failed as unreadable XML."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("python-docx opened the archive before its limits were checked")

    bomb = with_member(docx_document(), zeros("word/document.xml", 20))
    monkeypatch.setattr(docx, "Document", no_parsing)
    assert_refused(post_file(client_for("lead"), URL, "laptop.docx", bomb), "archive_ratio")


def test_a_word_file_with_more_markup_than_an_article_needs_is_refused_before_it_is_parsed(client_for, monkeypatch):
    from knowledge import documents

    def no_parsing(*args, **kwargs):
        raise AssertionError("python-docx parsed the package")

    data = docx_document()
    monkeypatch.setattr(docx, "Document", no_parsing)
    monkeypatch.setattr(documents, "DOCX_MAX_XML_TAGS", 1000)  # the template alone has more
    problem = assert_refused(post_file(client_for("lead"), URL, "laptop.docx", data), "docx_too_complex")
    assert "1,000 tags" in problem["detail"]


def test_a_pdf_with_more_pages_than_the_limit_is_refused(client_for, settings):
    settings.PDF_MAX_PAGES = 2
    lead = client_for("lead")
    two = pdf_of_pages([text_page("Page one"), text_page("Page two")])
    assert post_file(lead, URL, "two.pdf", two).status_code == 201
    Article.objects.all().delete()
    for key in stored_keys("kb"):
        files.delete_stored(key)
    three = pdf_of_pages([text_page("One"), text_page("Two"), text_page("Three")])
    problem = assert_refused(post_file(lead, URL, "three.pdf", three), "pdf_too_many_pages")
    assert "3 pages" in problem["detail"]


def test_a_pdf_stream_that_decompresses_beyond_the_limit_is_refused(client_for, settings):
    """1 MiB of content in a 1 KB stream: pypdf stops decompressing at PDF_MAX_CONTENT_BYTES."""
    settings.PDF_MAX_CONTENT_BYTES = 64 * 1024
    bomb = pdf_of_pages([text_page("Hello") + b" " * (1024 * 1024)])
    assert len(bomb) < 4096
    assert_refused(post_file(client_for("lead"), URL, "bomb.pdf", bomb), "pdf_too_large")


def test_it_is_pypdf_itself_that_stops_decompressing(settings):
    from pypdf.errors import LimitReachedError

    from knowledge import documents

    settings.PDF_MAX_CONTENT_BYTES = 64 * 1024
    with pytest.raises(documents.DocumentTooComplex) as refused:
        documents.extract(pdf_of_pages([b" " * (1024 * 1024)]), kind="pdf", name="bomb.pdf")
    assert isinstance(refused.value.__cause__, LimitReachedError)


def test_pages_whose_content_adds_up_beyond_the_limit_are_refused(client_for, settings):
    settings.PDF_MAX_CONTENT_BYTES = 100 * 1024
    page = text_page("Hello") + b" " * (40 * 1024)  # each stream under the limit, three of them over it
    assert_refused(post_file(client_for("lead"), URL, "long.pdf", pdf_of_pages([page] * 3)), "pdf_too_large")


def test_an_html_page_with_more_tags_than_the_limit_is_refused_before_it_is_parsed(client_for, monkeypatch):
    """BeautifulSoup built 1.1 GB of objects for 10 MB of <b>x</b>."""
    from knowledge import documents

    monkeypatch.setattr(documents, "HTML_MAX_TAGS", 100)
    page = b"<html><body>" + b"<b>x</b>" * 60 + b"</body></html>"
    assert_refused(post_file(client_for("lead"), URL, "page.html", page), "html_too_complex")


def test_an_html_page_larger_than_the_limit_is_refused_before_it_is_parsed(client_for, monkeypatch):
    from knowledge import documents

    monkeypatch.setattr(documents, "HTML_MAX_BYTES", 1024)
    page = b"<html><body><p>" + b"word " * 300 + b"</p></body></html>"
    problem = assert_refused(post_file(client_for("lead"), URL, "page.html", page), "html_too_complex")
    assert ".docx or Markdown" in problem["detail"]


@pytest.mark.parametrize("name", ["notes.txt", "notes.md"])
def test_text_longer_than_an_article_can_hold_is_refused_before_it_is_decoded(client_for, name):
    """4 bytes per character an article holds: decoding and cleaning 10 MB of text took 170 MB."""
    from knowledge import documents

    assert documents.MAX_TEXT_BYTES == 4 * documents.MAX_BODY_CHARS
    data = b"Title\n" + b"x" * documents.MAX_TEXT_BYTES
    problem = assert_refused(post_file(client_for("lead"), URL, name, data), "document_too_long")
    assert f"{len(data):,} bytes" in problem["detail"]


def test_an_html_page_nested_too_deeply_is_a_422_not_a_500(client_for):
    page = b"<html><body>" + b"<div>" * 5000 + b"deep" + b"</div>" * 5000 + b"</body></html>"
    assert_refused(post_file(client_for("lead"), URL, "deep.html", page), "html_too_complex")
