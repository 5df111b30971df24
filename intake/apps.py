from django.apps import AppConfig


class IntakeConfig(AppConfig):
    """Email in: provider webhooks (django-anymail's inbound signal) and a polled IMAP mailbox, both
    turned into tickets and comments by intake.services.receive."""

    name = "intake"

    def ready(self):
        from intake import personal_data, receivers

        receivers.connect()
        personal_data.register()  # its part of a person's export and erasure
