"""The inbound email webhooks in the OpenAPI document (`add_paths`, a postprocessing hook named in
SPECTACULAR_SETTINGS): they are anymail's Django views, not DRF's, so their operations are written
here, from what intake.views answers. The provider's own format is anymail's to parse; the document
says which providers and which statuses, so that the fuzzer (`make fuzz`) holds the door to it."""

from __future__ import annotations

from helpdesk.api.schema import plain_problem
from intake.views import providers

FREE_FORM = {"type": "object", "additionalProperties": True}
POSTMARK_EXAMPLE = {  # the start of one provider's format (Postmark's inbound JSON); each provider has its own
    "From": "erin@example.com",
    "To": "support@example.com",
    "Subject": "Printer on floor 3 is jammed",
    "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
    "TextBody": "The printer shows error E-42 since this morning.",
    "Headers": [{"Name": "Message-ID", "Value": "<pm-1@client.example.org>"}],
    "Attachments": [],
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}
RESPONSES = {
    "200": {"description": "Taken: a ticket, a comment, or (auto-reply, spam, loop) logged and dropped."},
    "400": plain_problem(
        400,
        code="webhook_not_verified",
        detail="The webhook's signature or credentials do not match.",
        description="The post's signature or basic auth credentials do not match; nothing is read.",
    ),
    "401": plain_problem(
        401,
        code="webhook_not_verified",
        detail="Send the webhook's basic auth credentials.",
        description="Amazon SES: the challenge SNS needs before it sends basic auth credentials.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "404": plain_problem(
        404,
        code="email_intake_off",
        detail="The mailgun inbound webhook is off here: its key is not configured (docs/operations.md).",
        description="No such provider (not_found), or its webhook is off: its key is not configured.",
    ),
    "413": plain_problem(
        413,
        code="payload_too_large",
        detail="The request body is 30000000 bytes; the limit is 20971520 bytes.",
        description="The post is larger than EMAIL_INTAKE_MAX_BYTES.",
    ),
    "503": plain_problem(
        503,
        code="email_intake_not_secured",
        detail="Email intake is not configured here yet: the operator must set ANYMAIL_WEBHOOK_SECRET.",
        description=(
            "Not configured yet (email_intake_not_secured), the same message is being handled right now "
            "(email_busy), or the database does not answer: the provider keeps the message and retries."
        ),
        headers=RETRY_AFTER,
    ),
}


def _operation(provider_parameter: dict | None, summary: str) -> dict:
    return {
        "operationId": summary.lower().replace(" ", "_").replace("'", ""),
        "summary": summary,
        "description": (
            "Called by the mail provider, never by people: each post is one received message in the "
            "provider's own format (anymail parses it). It is verified first (basic auth with "
            "ANYMAIL_WEBHOOK_SECRET, and the provider's signature where it signs: Mailgun's key, "
            "Amazon SNS's certificate). A message from a known person, or an unknown address of "
            "EMAIL_INTAKE_DOMAINS, opens a ticket; a reply to a notification becomes a comment; "
            "auto-replies, bounces, loops and spam make nothing. A retry of the same message makes one "
            "ticket. A bearer token is ignored: the message's sender is who writes."
        ),
        "tags": ["email-in"],
        "security": [{"webhookBasicAuth": []}],
        **({"parameters": [provider_parameter]} if provider_parameter else {}),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": FREE_FORM, "examples": {"Postmark": {"value": POSTMARK_EXAMPLE}}},
                "multipart/form-data": {"schema": FREE_FORM},
                "application/x-www-form-urlencoded": {"schema": FREE_FORM},
                "text/plain": {"schema": {"type": "string"}},  # Amazon SNS posts its JSON as text/plain
            },
        },
        "responses": RESPONSES,
    }


def paths() -> dict[str, dict]:
    inbound = [name for name in providers() if name != "mandrill"]
    provider = {
        "name": "provider",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": inbound},
        "description": "The mail provider, as anymail names it.",
    }
    return {
        "/anymail/{provider}/inbound/": {"post": _operation(provider, "Inbound email from a provider")},
        "/anymail/mailgun/inbound_mime/": {"post": _operation(None, "Inbound email from Mailgun as MIME")},
        "/anymail/mandrill/": {"post": _operation(None, "Inbound email from Mandrill")},
    }


SECURITY_SCHEMES = {
    "webhookBasicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "ANYMAIL_WEBHOOK_SECRET (user:password), set in the provider's webhook URL.",
    }
}


def add_paths(result: dict, **_context) -> dict:  # drf-spectacular passes generator, request, public
    """drf-spectacular's postprocessing hook: these operations and their security scheme."""
    result["paths"].update(paths())
    result["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    return result
