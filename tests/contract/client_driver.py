"""A client generated from the OpenAPI document works (issue 15, point 4), as an integrator would use it.

Generates a Python client with openapi-python-client from the live /api/schema/ into a scratch
folder, imports it, and drives through it: sign-in, who am I, ticket create, comment, the comment
listed back, KB search, and a 404 parsed as a Problem. Any generation warning, import error,
unexpected status or response the generated models cannot parse fails (exit status 1).
Run by tests/contract/fuzz.py against its server; alone:

    .venv/bin/python tests/contract/client_driver.py http://127.0.0.1:8000 /tmp/helpdesk-client
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout (manage.py)
BIN = Path(sys.executable).parent
PACKAGE = "helpdesk_client"
EMPLOYEE = "employee@example.com"  # a demo person (accounts/demo.py)


def demo_password() -> str:
    found = re.search(r'^DEMO_PASSWORD = "([^"]+)"', (ROOT / "accounts" / "demo.py").read_text(), re.M)
    if not found:
        sys.exit("accounts/demo.py no longer defines DEMO_PASSWORD as a plain string: update this driver.")
    return found.group(1)


def generate(url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "openapi-python-client.yaml"
    # No post hooks: the generated code is imported as written (no ruff run over it). Amazon SNS posts
    # its JSON as text/plain (the SES inbound webhook), a body the generator knows only as raw bytes.
    config.write_text(
        f"package_name_override: {PACKAGE}\npost_hooks: []\n"
        "content_type_overrides:\n  text/plain: application/octet-stream\n"
    )
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--url",
            url + "/api/schema/",
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
            "--config",
            str(config),
            "--overwrite",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        sys.exit(f"openapi-python-client failed ({done.returncode}):\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}")


def check(condition: bool, what: str, got: object) -> None:
    if not condition:
        sys.exit(f"generated client: {what} failed; got {got!r}")
    print(f"generated client: {what}: ok")


def drive(url: str, folder: Path) -> None:
    sys.path.insert(0, str(folder))
    client_module = importlib.import_module(PACKAGE)
    api = f"{PACKAGE}.api"
    login = importlib.import_module(f"{api}.auth.auth_login_create")
    me = importlib.import_module(f"{api}.auth.auth_me_retrieve")
    ticket_create = importlib.import_module(f"{api}.tickets.tickets_create")
    ticket_get = importlib.import_module(f"{api}.tickets.tickets_retrieve")
    comment_create = importlib.import_module(f"{api}.tickets.tickets_comments_create")
    comment_list = importlib.import_module(f"{api}.tickets.tickets_comments_list")
    kb_search = importlib.import_module(f"{api}.knowledge_base.kb_search_list")
    models = importlib.import_module(f"{PACKAGE}.models")

    anonymous = client_module.Client(base_url=url, raise_on_unexpected_status=True)
    credentials = models.LoginInRequest(email=EMPLOYEE, password=demo_password())
    response = login.sync_detailed(client=anonymous, body=credentials)
    check(response.status_code == 200 and isinstance(response.parsed, models.TokenPairOut), "sign in", response)
    token = response.parsed.access
    client = client_module.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)

    person = me.sync(client=client)
    check(isinstance(person, models.MeOut) and person.email == EMPLOYEE, "who am I", person)

    body = models.TicketInRequest(
        title="Generated client: VPN drops every hour",
        description="Opened through the client generated from the OpenAPI document.",
        tags=["vpn"],
    )
    response = ticket_create.sync_detailed(client=client, body=body)
    ticket = response.parsed
    check(response.status_code == 201 and isinstance(ticket, models.TicketOut), "ticket create", response)
    check(ticket.title == body.title and ticket.requester.id == person.id, "ticket create echoes the ticket", ticket)

    response = comment_create.sync_detailed(
        ticket.id, client=client, body=models.CommentInRequest(body="It dropped again at 10:00.")
    )
    comment = response.parsed
    check(response.status_code == 201 and isinstance(comment, models.CommentOut), "comment", response)

    page = comment_list.sync(ticket.id, client=client)
    check(
        isinstance(page, models.PaginatedCommentOutList) and comment.id in [c.id for c in page.results],
        "the comment listed back",
        page,
    )

    hits = kb_search.sync(client=client, q="reset password")
    check(isinstance(hits, models.PaginatedSearchHitOutList) and hits.count >= 1, "KB search", hits)

    response = ticket_get.sync_detailed("0" * 24, client=client)
    problem = response.parsed
    check(
        response.status_code == 404 and isinstance(problem, models.Problem) and problem.code == "not_found",
        "a missing ticket is a Problem",
        response,
    )


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    url, folder = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    generate(url, folder)
    drive(url, folder)
    print("generated client: sign-in, ticket create, comment and KB search work through it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
