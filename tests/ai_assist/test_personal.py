"""ai_assist.ml.personal: personal data out of text that others will read, counted by kind; the
words an IT article needs (error codes, dates, addresses of machines, "password reset") stay."""

from __future__ import annotations

import pytest

from ai_assist.ml.personal import Scrubber, note

SCRUBBER = Scrubber(["Jane Doe", "Tom Baker", "Amal Haddad"])


@pytest.mark.parametrize(
    "text,gone,kind",
    [
        ("Write to jane.doe@corp.example today.", "jane.doe@corp.example", "e-mail address"),
        ("Call +44 20 7946 0958 after lunch.", "7946", "phone number"),
        ("Call (020) 7946-0958.", "7946", "phone number"),
        ("Jane Doe cannot print.", "Jane", "name"),
        ("I spoke to Amal about it.", "Amal", "name"),
        ("Mr Okonkwo reported it.", "Okonkwo", "name"),
        ("Hi Priya, it works now.", "Priya", "name"),
        ("Thanks, Lukas", "Lukas", "name"),
        ("Employee ID: 48213 reported it.", "48213", "employee id"),
        ("badge #55123 does not open the door", "55123", "employee id"),
        ("Ask EMP-004512 for the keys.", "004512", "employee id"),
        ("Her password is Tulip2024! now.", "Tulip2024", "password or code"),
        ("password: hunter", "hunter", "password or code"),
        ("Use the one-time code 839201 to sign in.", "839201", "password or code"),
        ("The PIN 4471 opens it.", "4471", "password or code"),
        ("Temporary login Xk9#pL2qR works.", "Xk9#pL2qR", "password or code"),
        ("Licence key ABCDE-12345-FGHIJ-67890-KLMNO.", "12345", "password or code"),
        ("api key: sk_live_51HqLyjWDarjtT1zdp7dc", "sk_live", "password or code"),
    ],
)
def test_each_kind_of_personal_data_is_removed_and_counted(text, gone, kind):
    scrubbed = SCRUBBER.scrub(text)
    assert gone not in scrubbed.text, scrubbed.text
    assert scrubbed.removed[kind] >= 1, scrubbed.removed


@pytest.mark.parametrize(
    "text",
    [
        "The password reset link expired; your password expired yesterday.",
        "Error 0x80070005 on 2024-01-15 at 10:42 from 10.0.0.12 via 192.168.100.200.",
        "Install Windows10 updates and Office365 on the laptop.",
        "Restart the VPN client and sign in again with your company account.",
        "Press the Windows key, then type the printer's name.",
        "KB5034441 fails with error code 0x80070643.",
    ],
)
def test_what_an_it_article_needs_stays(text):
    scrubbed = SCRUBBER.scrub(text)
    assert scrubbed.text == text and not sum(scrubbed.removed.values())


def test_a_full_name_is_one_name_and_the_note_counts_without_values():
    scrubbed = SCRUBBER.scrub("Jane Doe and Tom Baker met Jane. Mail tom@corp.example.")
    assert scrubbed.text == "[name] and [name] met [name]. Mail [e-mail address]."
    assert (scrubbed.removed["name"], scrubbed.removed["e-mail address"]) == (3, 1)
    said = note(scrubbed.removed)
    assert said.startswith("Personal data removed before drafting: 1 e-mail address, 3 names.")
    assert "Jane" not in said and "tom@" not in said
    assert "No personal data was found" in note(SCRUBBER.scrub("Restart the router.").removed)
