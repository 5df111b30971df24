"""Writes a user makes to their own notifications and email preferences."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from helpdesk import events
from helpdesk.errors import Invalid
from notifications.models import EmailPreferences, Kind, Notification

PREFERENCE_FIELDS = frozenset(Kind.values)


def notification_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the user's notifications read (again: no change, the first time is kept)."""
    if notification.user_id != user.pk:
        raise Invalid("Not your notification.")
    now = timezone.now()
    with transaction.atomic():
        if Notification.objects.filter(pk=notification.pk, read=False).update(read=True, read_at=now):
            events.publish(
                events.NotificationRead(
                    target_id=notification.pk,
                    actor_id=user.pk,
                    kind=notification.kind,
                    ticket_id=notification.ticket_id or None,
                    changes={"read": [False, True]},
                )
            )
    notification.refresh_from_db()
    return notification


def notifications_read_all(*, user: User) -> int:
    """Mark every unread notification of the user read; how many were."""
    with transaction.atomic():
        count = Notification.objects.filter(user=user, read=False).update(read=True, read_at=timezone.now())
        if count:
            events.publish(
                events.NotificationsReadAll(
                    target_id=user.pk, actor_id=user.pk, count=count, changes={"unread": [count, 0]}
                )
            )
    return count


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
    wanted = {name: bool(value) for name, value in changes.items()}
    changed = {
        name: [getattr(preferences, name), value]
        for name, value in wanted.items()
        if getattr(preferences, name) != value
    }
    if changed:  # only the fields sent: two changes at once to different kinds both stay
        with transaction.atomic():
            EmailPreferences.objects.filter(pk=preferences.pk).update(**wanted, updated_at=timezone.now())
            events.publish(events.EmailPreferencesUpdated(target_id=user.pk, actor_id=user.pk, changes=changed))
        preferences.refresh_from_db()
    return preferences
