"""Personal data out of text that people other than its author will read: an article drafted from
a ticket, or from a knowledge gap, is read by everyone of its visibility once published.

What is removed, each replaced by a bracketed label and counted:
- e-mail addresses and phone numbers;
- names of people: any capitalised word that is a first or last name the caller knows (the
  helpdesk's users, the ticket's participants: a set lookup per word, so every user's name costs
  nothing per word), and any capitalised name after a title ("Mr Smith") or in a greeting or
  sign-off ("Hi Jane,", "Thanks, Tom"); a full name is one name;
- employee ids: a number after "employee", "staff", "badge", "payroll" or "personnel" (and "id",
  "no." or "#"), and ids shaped like EMP-12345;
- passwords and codes: the value after "password", "passcode", "PIN", "one-time code", "token",
  "licence key" and the like, and any word that looks like a password (8+ characters mixing upper
  and lower case, digits and symbols), a licence key (XXXXX-XXXXX-...) or a long random token.

It errs on the side of removing: a lead reads the draft before publishing, and the draft says
what was removed (`note`), never the values. Names nobody told it about in running text (a
stranger mentioned in passing, lower case) are the known gap: the note asks the lead to check.
Pure code (no Django).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EMAIL = "e-mail address"
PHONE = "phone number"
NAME = "name"
EMPLOYEE_ID = "employee id"
SECRET = "password or code"  # nosec B105 - the name of a kind of text, not a credential
LABELS = {EMAIL: "[e-mail address]", PHONE: "[phone number]", NAME: "[name]", EMPLOYEE_ID: "[employee id]"}
LABELS[SECRET] = "[removed secret]"
ORDER = (EMAIL, PHONE, NAME, EMPLOYEE_ID, SECRET)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.(])\+?\(?\d[\d ()./-]{6,}\d(?!\w)(?!\.\d)")
_DATE = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_SECRET_WORDS = (  # nosec B105 - the words that name a secret, not a credential
    r"pass(?:word|wd|code|phrase)|pwd|pin(?:\s*code)?|otp|one[- ]time\s+(?:code|password|pin)|"
    r"(?:verification|security|access|recovery|backup|unlock|reset|sign[- ]in|login|mfa|2fa|sms|door)\s+code|"
    r"(?:api|licen[cs]e|product|activation|recovery|bitlocker)\s+key|token|secret"
)
# A value after a secret's name: "password: x", "password is x", "PIN 1234", "temporary password x".
_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_SECRET_VALUE = re.compile(
    rf"(?i)\b(?P<name>{_SECRET_WORDS})\b(?P<sep>\s*(?:is|was|=|:|-|to|set\s+to|of)?\s*[{_QUOTES}]?)"
    rf"(?P<value>[^\s{_QUOTES},;]*[^\s{_QUOTES},;.!?:])"
)
# A bare "code" is an error code more often than a secret: only a plain number given as its value.
_CODE_VALUE = re.compile(r"(?i)\bcode\s*(?:is|was|:|=)\s*(?P<value>\d{4,8})\b")
_LICENCE_KEY = re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9]{4,6}(?:-[A-Z0-9]{4,6}){3,5}\b")
_TOKEN = re.compile(r"(?<![\w/.-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}(?![\w/.-])")
_WORD = re.compile(rf"[^\s{_QUOTES},;()<>\[\]]{{8,}}")
_EMPLOYEE_ID = re.compile(
    r"(?i)\b(?:employee|staff|badge|payroll|personnel|emp)\b\s*(?:id|no\.?|number|num|#)?\s*[:#]?\s*"
    r"(?P<value>[A-Z]{0,4}-?\d{3,}[A-Z]?)\b"
)
_EMPLOYEE_ID_SHAPE = re.compile(r"\b(?:EMP|EID|EMPL)[- ]?\d{3,}\b")
_TITLE_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam)\.?\s+(?P<value>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)")
_GREETING_NAME = re.compile(
    r"(?m)(?:^|(?<=[.!?]\s))(?:Hi|Hello|Hey|Dear|Thanks|Thank you|Cheers|Regards|Best regards|Kind regards|"
    r"Best wishes|Many thanks|Best|BR)\s*,?\s+(?P<value>[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)\b"
)
_CAPITALISED = re.compile(r"(?<![\w@.])[A-Z][A-Za-z-]*[a-z][A-Za-z-]*(?![\w@])")
_NAME_RUN = re.compile(r"\[name\](?:\s+\[name\])+")
# Never read as a name: the names of test and service accounts, and words a greeting is followed by.
NOT_NAMES = frozenset({
    "test", "user", "admin", "support", "team", "help", "desk", "helpdesk", "service", "account", "system", "demo",
    "guest", "it", "the", "and", "all", "everyone", "there", "again", "you", "for",
})  # fmt: skip


@dataclass(frozen=True)
class Scrubbed:
    text: str
    removed: Counter = field(default_factory=Counter)


def looks_like_password(word: str) -> bool:
    """8+ characters with upper and lower case letters, a digit and a symbol: the shape every
    password policy asks for, and almost no ordinary word has."""
    return (
        len(word) >= 8
        and any(c.isupper() for c in word)
        and any(c.islower() for c in word)
        and any(c.isdigit() for c in word)
        and any(not c.isalnum() for c in word.strip(".!?:"))
        and "@" not in word
        and "://" not in word
    )


def _secret_value(value: str, sep: str) -> bool:
    """Whether the word after a secret's name is the secret ("password: tulip", "PIN 4471"), not
    ordinary words ("password reset", "your password expired")."""
    bare = value.rstrip(".!?:")
    if not bare:
        return False
    if any(c.isdigit() for c in bare) or looks_like_password(bare):
        return True
    explicit = sep.strip().lower() in (":", "=", "is", "was", "to", "set to") or any(q in sep for q in _QUOTES)
    return explicit and bare.lower() not in _ORDINARY_AFTER_SECRET


_ORDINARY_AFTER_SECRET = {
    "reset", "resets", "expired", "expires", "expiring", "changed", "change", "wrong", "incorrect", "correct",
    "locked", "required", "needed", "the", "a", "an", "your", "my", "our", "their", "his", "her", "not", "no",
    "still", "now", "manager", "policy", "valid", "invalid", "sent", "working", "accepted", "rejected", "too",
    "case", "sensitive", "different", "same", "new", "old", "temporary", "blank", "empty", "missing", "being",
}  # fmt: skip


class Scrubber:
    """Removes personal data from text; `names` are people's names the caller knows."""

    def __init__(self, names: Iterable[str] = ()):
        self._names = {
            part.lower()
            for name in names
            for part in re.split(r"[\s]+", name or "")
            if len(part) >= 2 and part.lower() not in NOT_NAMES and part[:1].isalpha()
        }

    def is_name(self, word: str) -> bool:
        """Whether `word` is a name the scrubber knows (any case)."""
        return word.lower() in self._names

    def scrub(self, text: str) -> Scrubbed:
        removed: Counter = Counter()
        text = text or ""
        for pattern, kind, group, keep in self._rules():
            text = _replace(pattern, kind, text, removed, group=group, keep=keep)
        if removed[NAME]:  # "[name] [name]" was one person's full name
            removed[NAME] -= sum(run.count(LABELS[NAME]) - 1 for run in _NAME_RUN.findall(text))
            text = _NAME_RUN.sub(LABELS[NAME], text)
        return Scrubbed(text, removed)

    def _rules(self) -> list[tuple[re.Pattern, str, str | None, Callable[[re.Match], bool] | None]]:
        """(pattern, kind, the group to replace (None: the whole match), which matches to keep),
        in order: a secret's value before it could pass for a phone number, names last."""
        rules = [
            (_EMAIL, EMAIL, None, None),
            (_SECRET_VALUE, SECRET, "value", lambda m: not _secret_value(m["value"], m["sep"])),
            (_CODE_VALUE, SECRET, "value", None),
            (_LICENCE_KEY, SECRET, None, None),
            (_EMPLOYEE_ID_SHAPE, EMPLOYEE_ID, None, None),
            (_EMPLOYEE_ID, EMPLOYEE_ID, "value", None),
            (_TOKEN, SECRET, None, None),
            (_WORD, SECRET, None, lambda m: not looks_like_password(m.group(0))),
            (_PHONE, PHONE, None, lambda m: not _is_phone(m.group(0))),
            (_TITLE_NAME, NAME, "value", None),
            (_GREETING_NAME, NAME, "value", lambda m: m["value"].split()[0].lower() in NOT_NAMES),
        ]
        if self._names:
            rules.append((_CAPITALISED, NAME, None, lambda m: m.group(0).lower() not in self._names))
        return rules


def _replace(pattern: re.Pattern, kind: str, text: str, removed: Counter, *, group: str | None, keep) -> str:
    def replace(match: re.Match) -> str:
        if keep is not None and keep(match):
            return match.group(0)
        removed[kind] += 1
        if group is None:
            return LABELS[kind]
        start, end = (i - match.start() for i in match.span(group))
        whole = match.group(0)
        return whole[:start] + LABELS[kind] + whole[end:]

    return pattern.sub(replace, text)


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    candidate = candidate.strip()
    return digits >= 8 and not _DATE.match(candidate) and not _IP_ADDRESS.match(candidate)


class Tally:
    """A scrubber used over several texts, counting what it removed from all of them."""

    def __init__(self, scrubber: Scrubber):
        self.scrubber = scrubber
        self.removed: Counter = Counter()

    def __call__(self, text: str) -> str:
        scrubbed = self.scrubber.scrub(text)
        self.removed.update(scrubbed.removed)
        return scrubbed.text


def note(removed: Counter) -> str:
    """What was removed, by kind and count (never the values), for the draft's reader."""
    if not sum(removed.values()):
        return "No personal data was found to remove; check for anything personal before publishing."
    parts = [_counted(removed[kind], kind) for kind in ORDER if removed[kind]]
    return "Personal data removed before drafting: " + ", ".join(parts) + ". Check for anything else before publishing."


def _counted(n: int, kind: str) -> str:
    plural = {EMAIL: "e-mail addresses", PHONE: "phone numbers", NAME: "names", EMPLOYEE_ID: "employee ids"}
    plural[SECRET] = "passwords or codes"
    return f"{n} {kind if n == 1 else plural[kind]}"
