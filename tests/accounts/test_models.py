"""Users: email login (case-insensitive), ObjectId-like string ids, superusers are admins."""

import re

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from accounts.models import Role, User
from accounts.tokens import issue_pair, purge_expired, revoke, rotate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_ids_are_24_hex_strings():
    user = UserFactory()
    assert re.fullmatch(r"[0-9a-f]{24}", user.pk)
    assert user.department_id is None


def test_email_is_stored_lower_case_and_unique_whatever_the_case():
    User.objects.create_user("Ada@Example.COM", "pw-violet-harbour")
    assert User.objects.get_by_natural_key("ADA@example.com").email == "ada@example.com"
    with pytest.raises(IntegrityError):
        User.objects.create_user("ada@EXAMPLE.com", "pw-violet-harbour")


def test_createsuperuser_without_input_makes_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "violet-harbour-1842")
    call_command("createsuperuser", "--noinput", verbosity=0)
    root = User.objects.get(email="root@example.com")
    assert root.role == Role.ADMIN
    assert root.is_staff and root.is_superuser
    assert root.check_password("violet-harbour-1842")


def test_staff_follows_the_role_and_deactivation():
    assert not UserFactory(role=Role.AGENT).is_staff
    lead = UserFactory(role=Role.LEAD)
    assert lead.is_staff and not lead.is_superuser
    assert lead.has_perm("accounts.change_user") and not lead.has_perm("accounts.delete_user")
    lead.is_active = False
    assert not lead.is_staff and not lead.has_perm("accounts.change_user")


def test_purge_forgets_only_expired_revocations():
    from datetime import UTC, datetime, timedelta

    user = UserFactory()
    revoke(issue_pair(user)["refresh"])
    rotate(issue_pair(user)["refresh"])
    assert purge_expired() == 0
    assert purge_expired(datetime.now(tz=UTC) + timedelta(days=30)) == 2


def test_beat_purges_revocations_of_expired_refresh_tokens(settings, time_machine):
    from datetime import UTC, datetime, timedelta

    from accounts.tasks import purge_revoked_tokens

    entry = settings.CELERY_BEAT_SCHEDULE["purge-revoked-tokens"]
    assert (entry["task"], entry["args"]) == ("helpdesk.run_job", (purge_revoked_tokens.name,))  # under the job lock
    user = UserFactory()
    revoke(issue_pair(user)["refresh"])
    assert purge_revoked_tokens.delay().get() == 0  # still within its lifetime: kept
    time_machine.move_to(datetime.now(tz=UTC) + timedelta(days=30))
    assert purge_revoked_tokens.delay().get() == 1
