"""anymail's Amazon SES inbound webhook with the SNS signature checked too (intake.sns), served at
anymail's own URL (/anymail/amazon_ses/inbound/, mounted before anymail's urls)."""

from __future__ import annotations

from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView

from intake import sns


class SignedAmazonSESInboundWebhookView(AmazonSESInboundWebhookView):
    # anymail runs every validate_request of the class chain: its checks, then this one.
    def validate_request(self, request):
        sns.verify(self._parse_sns_message(request))
