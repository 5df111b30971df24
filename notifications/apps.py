from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Notifications: outbox, email, in-app notifications and the agents' websocket feed."""

    name = "notifications"
