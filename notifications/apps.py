from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Notifications: the live feed (websocket), in-app notifications and email, all consumers of
    domain events (notifications.subscribers)."""

    name = "notifications"

    def ready(self):
        from notifications import personal_data, subscribers

        subscribers.connect()
        personal_data.register()  # its part of a person's export and erasure, and the erasure's consumer

    def profile_counts(self, user) -> dict[str, int]:
        """GET /api/v1/auth/me/ shows these (accounts.services.profile_counts collects them)."""
        from notifications import selectors

        return {"unread_notifications": selectors.unread_count(user)}
