"""Reads of notifications and preferences, always of the asking user's own."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from notifications.models import EmailPreferences, Notification


def notifications_for(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, unread first, newest first (the model's ordering)."""
    return Notification.objects.filter(user=user).select_related("actor")


def notification_for(*, user: User, notification_id: str) -> Notification:
    """One of the user's notifications; anyone else's is a 404."""
    return get_object_or_404(notifications_for(user=user), pk=notification_id)


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read=False).count()


def email_preferences_for(*, user: User) -> EmailPreferences:
    """The user's preferences; all on (unsaved) when they never changed them."""
    return EmailPreferences.objects.filter(user=user).first() or EmailPreferences(user=user)
