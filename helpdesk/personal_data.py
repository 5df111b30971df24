"""Personal data (GDPR): one person's export and erasure, composed of every app's part.

helpdesk imports no app (docs/decisions/0013), so each app registers its part here from its
AppConfig.ready(), the way `seed_demo` asks each app for its demo data: `tickets.personal_data`,
`ai_assist.personal_data`, ... Each part owns its own tables and says, for one person:
- `export(subject)`: what it holds about them, as JSON-ready data (a fixed number of queries,
  whatever the amount: no N+1);
- `erase(subject)`: anonymise them in its tables; idempotent (a second run changes nothing), so an
  erasure cut short is finished by running it again, and no multi-row transaction is needed;
  returns how many rows it changed per table;
- `earlier_emails(user_id)`: addresses the person had before (the audit log knows them), so text
  that quotes an old address is scrubbed too.

The account itself is erased last (`erase_last`): until every other part has run, the account still
holds the address and name the others look for, so a retry after a failure finds them again.
docs/decisions/0027-personal-data-export-and-erasure.md says what each part keeps and why.

The project's own part (the event outbox, helpdesk.models) is at the end of this module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from helpdesk import events
from helpdesk.models import OutboxEvent

FORMAT = "helpdesk-personal-data/1"
ERASED = "[erased]"  # what a scrubbed address or name becomes inside a text
# The facts of an account that events and audit entries copy (helpdesk.events.UserEvent, LoginFailed,
# UserEmailChanged, the `changes` of a profile edit): redacted by key in what is about the account.
ACCOUNT_FACTS = frozenset({"email", "previous_email", "first_name", "last_name"})


@dataclass(frozen=True)
class Subject:
    """The person an export or erasure is about, as the account was before anything changed.

    `emails` and `names` are what a text may quote them by (empty once the account is erased: the
    placeholder names must not be scrubbed from other people's texts)."""

    user_id: str
    emails: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    _pattern: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def pattern(self) -> re.Pattern | None:
        """One case-insensitive pattern for every address and name, as typed and HTML-escaped (an
        email's HTML body escapes an apostrophe), matched as whole words."""
        if self._pattern is None:
            words = {w for w in (*self.emails, *self.names) if w and w.strip()}
            words |= {html.escape(w) for w in words}
            if not words:
                return None
            alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            object.__setattr__(self, "_pattern", re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))
        return self._pattern

    def scrub(self, value: Any) -> Any:
        """`value` (a string, or JSON of lists and objects) with every address and name of the
        person replaced by ERASED; the same object when nothing matched."""
        pattern = self.pattern()
        if pattern is None:
            return value
        return _scrub(value, pattern)


def _scrub(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        replaced = pattern.sub(ERASED, value)
        return value if replaced == value else replaced
    if isinstance(value, list):
        items = [_scrub(item, pattern) for item in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = {key: _scrub(item, pattern) for key, item in value.items()}
        return value if all(pairs[key] is value[key] for key in value) else pairs
    return value


Exporter = Callable[[Subject], dict[str, Any]]
Eraser = Callable[[Subject], dict[str, int]]
EarlierEmails = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class Part:
    name: str
    export: Exporter | None = None
    erase: Eraser | None = None
    earlier_emails: EarlierEmails | None = None
    erase_last: bool = False


_parts: dict[str, Part] = {}


def register(
    name: str,
    *,
    export: Exporter | None = None,
    erase: Eraser | None = None,
    earlier_emails: EarlierEmails | None = None,
    erase_last: bool = False,
) -> None:
    """Add an app's part (from its AppConfig.ready()). Registering the same name again replaces it."""
    _parts[name] = Part(name, export=export, erase=erase, earlier_emails=earlier_emails, erase_last=erase_last)


def parts() -> list[Part]:
    """Every part, in registration order (INSTALLED_APPS), those erased last at the end."""
    return sorted(_parts.values(), key=lambda part: part.erase_last)


def subject(*, user_id: str, email: str = "", name: str = "") -> Subject:
    """The subject for a person with this address and display name (empty: an erased account),
    with the addresses they had before as the parts know them."""
    emails = {email.lower()} if email else set()
    if email:
        for part in parts():
            if part.earlier_emails is not None:
                emails |= {earlier.lower() for earlier in part.earlier_emails(user_id) if earlier}
    return Subject(user_id=user_id, emails=tuple(sorted(emails)), names=(name,) if name else ())


def export(subject: Subject) -> dict[str, Any]:
    """Everything the system holds about the subject, as one JSON document: one section per part,
    in registration order (the account first)."""
    sections = {part.name: part.export(subject) for part in _parts.values() if part.export is not None}
    return {
        "format": FORMAT,
        "user_id": subject.user_id,
        "exported_at": timezone.now().isoformat(),
        "parts": sections,
    }


def erase(subject: Subject) -> dict[str, dict[str, int]]:
    """Run every part's eraser, the account's last; rows changed, by part and table."""
    return {part.name: part.erase(subject) for part in parts() if part.erase is not None}


# --- What events and audit entries say about an account ------------------------------------------


def account_facts_redacted(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (an event's data, an audit entry's details or changes) with the account's personal
    facts replaced by ERASED, whatever they were then: an address or name the person had before
    is as much theirs as the current one. `changes` pairs become [ERASED, ERASED]."""
    redacted = {key: ERASED if key in ACCOUNT_FACTS and value else value for key, value in data.items()}
    changes = data.get("changes")
    if isinstance(changes, dict):
        redacted["changes"] = account_facts_redacted_changes(changes)
    return redacted


def account_facts_redacted_changes(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: [ERASED, ERASED] if key in ACCOUNT_FACTS else value for key, value in changes.items()}


# --- The project's own part: the event outbox ----------------------------------------------------


def _erase_outbox(subject: Subject) -> dict[str, int]:
    """Events are kept a few days after delivery (OUTBOX_RETENTION_DAYS) and hold what their
    consumers need: an event about the account holds its address (and, for a change, the names
    before and after), a failed sign-in or reset request the address tried, a routing the chosen
    agent's address in its reason. Rewrite those that name the person (an undelivered one is then
    delivered as rewritten); an event's class, ids and the rest of its facts stay."""
    changed = 0
    about_them = OutboxEvent.objects.filter(target_type=events.UserEvent.target_type, target_id=subject.user_id)
    for pk, data in about_them.values_list("pk", "data"):
        redacted = subject.scrub(account_facts_redacted(data))
        if redacted != data:
            OutboxEvent.objects.filter(pk=pk).update(data=redacted)
            changed += 1
    if subject.pattern() is not None:
        quoting = (events.LoginFailed.name, events.PasswordResetRequested.name, events.TicketRouted.name)
        others = OutboxEvent.objects.filter(name__in=quoting).exclude(target_id=subject.user_id)
        for pk, data in others.values_list("pk", "data"):
            scrubbed = subject.scrub(data)
            if scrubbed is not data:
                OutboxEvent.objects.filter(pk=pk).update(data=scrubbed)
                changed += 1
    return {"helpdesk_outboxevent": changed}


register("helpdesk", erase=_erase_outbox)
