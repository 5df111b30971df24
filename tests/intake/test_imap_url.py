"""IMAP_URL as operators write it (no server needed)."""

from __future__ import annotations

import pytest

from intake.imap import Mailbox, parse_url


def test_a_microsoft_365_address_as_user_with_the_at_sign_escaped():
    assert parse_url("imaps://helpdesk%40example.com:p%40ss%2Fword@outlook.office365.com/INBOX") == Mailbox(
        secure=True,
        host="outlook.office365.com",
        port=993,
        user="helpdesk@example.com",
        password="p@ss/word",
        folder="INBOX",
    )


def test_plain_imap_defaults_to_port_143_and_the_inbox():
    mailbox = parse_url("imap://helpdesk:secret@mail.example.com")
    assert (mailbox.secure, mailbox.port, mailbox.folder) == (False, 143, "INBOX")


@pytest.mark.parametrize("url", ["pop3://user:pw@host/INBOX", "imaps:///INBOX", "https://host/"])
def test_anything_else_is_refused(url):
    with pytest.raises(ValueError, match="IMAP_URL"):
        parse_url(url)
