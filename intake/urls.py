"""Mounted under /anymail/ before anymail's own URLs: SES's inbound webhook with the SNS signature
checked (intake.views); every other provider's is anymail's, unchanged."""

from django.urls import path

from intake.views import SignedAmazonSESInboundWebhookView

urlpatterns = [
    path("amazon_ses/inbound/", SignedAmazonSESInboundWebhookView.as_view(), name="intake_amazon_ses_inbound"),
]
