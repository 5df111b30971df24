"""The providers' inbound webhooks, at anymail's own URLs (/anymail/<provider>/inbound/): anymail's
views verify and parse each post, and intake.receivers takes the message. This module is the door in
front of them, so that every answer is one the OpenAPI document names (intake.openapi):

- a provider anymail has no inbound webhook for: 404;
- a provider whose own key anymail needs is not set (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ...): 404,
  the webhook is off; a provider cannot post to a deployment that never gave it a key;
- ANYMAIL_WEBHOOK_SECRET unset: 503 with Retry-After, nothing read. anymail itself only warns and
  takes the post, and an open webhook lets anyone write "from" anyone; 503 keeps the message at the
  provider, which retries until the secret is set;
- a post anymail cannot verify (basic auth, signature): 400; SES asks for basic auth first (401
  with a Basic challenge), as anymail does;
- the same message being handled by another process right now: 503 with Retry-After.

SES's view is anymail's with the SNS signature checked too (intake.sns).
"""

from __future__ import annotations

import functools
import logging

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailAPIError, AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.base import AnymailBasicAuthMixin
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from helpdesk.api.errors import problem_response
from intake import sns
from intake.receivers import TryAgainLater

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60


class SignedAmazonSESInboundWebhookView(AmazonSESInboundWebhookView):
    # anymail runs every validate_request of the class chain, in MRO order: this one, SES's, then
    # basic auth last. Basic auth goes first here, so nothing of an unauthenticated post is parsed and
    # no signing certificate is fetched for it; a body that is not an SNS message is the post's fault.
    def run_validators(self, request):
        AnymailBasicAuthMixin.validate_request(self, request)
        try:
            super().run_validators(request)
        except AnymailAPIError as error:  # anymail's "Malformed SNS message body"
            raise AnymailWebhookValidationFailure(str(error)) from error

    def validate_request(self, request):
        sns.verify(self._parse_sns_message(request))


@functools.cache
def inbound_views() -> dict[str, object]:
    """Provider name -> anymail's inbound view, for every provider anymail parses inbound mail of."""
    views = {
        pattern.name.removesuffix("_inbound_webhook"): pattern.callback
        for pattern in anymail_urls.urlpatterns
        if (pattern.name or "").endswith("_inbound_webhook")
    }
    views["amazon_ses"] = SignedAmazonSESInboundWebhookView.as_view()
    views["mandrill"] = MandrillCombinedWebhookView.as_view()  # inbound and tracking events at one URL
    return views


def providers() -> list[str]:
    return sorted(inbound_views())


@csrf_exempt  # the provider authenticates with basic auth or a signature, never a session
def inbound(request: HttpRequest, provider: str, mime: str = "") -> HttpResponse:
    view = inbound_views().get(provider)
    if view is None or (mime and provider != "mailgun"):
        return problem_response(
            request, status=404, code="not_found", detail=f"No inbound email webhook for {provider!r}."
        )
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        logger.error("Refused an inbound email from %s: set ANYMAIL_WEBHOOK_SECRET (docs/operations.md)", provider)
        return problem_response(
            request,
            status=503,
            code="email_intake_not_secured",
            detail="Email intake is not configured here yet: the operator must set ANYMAIL_WEBHOOK_SECRET.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    try:
        response = view(request)
    except AnymailWebhookValidationFailure as error:
        logger.warning("Refused an inbound email post to %s: %s", provider, error)
        return problem_response(
            request,
            status=400,
            code="webhook_not_verified",
            detail="The webhook's signature or credentials do not match.",
        )
    except AnymailConfigurationError as error:
        logger.warning("Refused an inbound email from %s: its webhook is off (%s)", provider, error)
        return problem_response(
            request,
            status=404,
            code="email_intake_off",
            detail=f"The {provider} inbound webhook is off here: its key is not configured (docs/operations.md).",
        )
    except TryAgainLater:
        return problem_response(
            request,
            status=503,
            code="email_busy",
            detail="This message is being handled right now; send it again shortly.",
            headers={"Retry-After": "5"},
        )
    if response.status_code == 401:  # anymail's own challenge (SES): the same answer, as a problem
        return problem_response(
            request,
            status=401,
            code="webhook_not_verified",
            detail="Send the webhook's basic auth credentials.",
            headers={"WWW-Authenticate": response.get("WWW-Authenticate", 'Basic realm="Anymail WEBHOOK_SECRET"')},
        )
    return response
