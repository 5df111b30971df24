"""Mounted under /anymail/, anymail's prefix: every provider's inbound webhook, at anymail's own path
(<provider>/inbound/; Mailgun's inbound_mime/ too; Mandrill's combined mandrill/), goes through
intake.views.inbound to anymail's view."""

from django.urls import re_path

from intake.views import inbound

urlpatterns = [
    re_path(r"^(?P<provider>[a-z_]+)/inbound(?P<mime>_mime)?/$", inbound, name="intake-inbound"),
    # Mandrill posts inbound mail and delivery events to one URL, anymail's combined webhook.
    re_path(r"^(?P<provider>mandrill)/$", inbound, name="intake-inbound-mandrill"),
]
