"""Writes a user makes to their own notifications and email preferences."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from helpdesk.errors import Invalid
from notifications.models import EmailPreferences, Kind, Notification

PREFERENCE_FIELDS = frozenset(Kind.values)


def notification_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's notifications read (again: no change, the first time is kept)."""
    if notification.user_id != user.pk:
        raise Invalid("Not your notification.")
    now = timezone.now()
    Notification.objects.filter(pk=notification.pk, read=False).update(read=True, read_at=now)
    notification.refresh_from_db()
    return notification


def notifications_read_all(*, user: User) -> int:
    """Mark every unread notification of the user read; how many were."""
    return Notification.objects.filter(user=user, read=False).update(read=True, read_at=timezone.now())


def email_preferences_update(*, user: User, **changes: bool) -> EmailPreferences:
    """Switch kinds of email on or off (reply, status, assigned, escalated)."""
    unknown = set(changes) - PREFERENCE_FIELDS
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    try:
        with transaction.atomic():
            preferences, _ = EmailPreferences.objects.get_or_create(user=user)
    except IntegrityError:  # a concurrent first change made the row
        preferences = EmailPreferences.objects.get(user=user)
    if changes:  # only the fields sent: two changes at once to different kinds both stay
        EmailPreferences.objects.filter(pk=preferences.pk).update(
            **{name: bool(value) for name, value in changes.items()}, updated_at=timezone.now()
        )
        preferences.refresh_from_db()
    return preferences
