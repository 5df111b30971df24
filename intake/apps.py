from django.apps import AppConfig


class IntakeConfig(AppConfig):
    """Email in: provider webhooks (django-anymail's inbound signal) and a polled IMAP mailbox, both
    turned into tickets and comments by intake.services.receive."""

    name = "intake"

    def ready(self):
        from intake import receivers

        receivers.connect()
