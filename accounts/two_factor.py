"""Staff's second factor: a TOTP authenticator (django-otp) with recovery codes (docs/decisions/0032).

- Enrolment: `enrol_start` makes an unconfirmed TOTP device and hands out its secret; it counts only
  after `enrol_confirm` checked a first valid code, which also makes the recovery codes (django-otp
  static tokens, shown once, each usable once).
- Sign-in: after the password, `sign_in_challenge` says whether a code is needed: always for
  someone with a confirmed authenticator; under STAFF_REQUIRE_2FA, staff without one get a
  challenge to enrol. A challenge is signed (Django's signing, SECRET_KEY), expires, names the
  user and the fingerprint of their password and email (accounts.tokens), and dies after
  MFA_CHALLENGE_MAX_FAILURES wrong codes or once it was used.
- A code is checked with a single-document conditional update (MongoDB has no multi-row
  transactions): a TOTP code only at a later time step than the last one accepted (django-otp's
  `last_t`), a recovery code only by the request whose delete removed it. So a code never works
  twice, even for two requests at once. django-otp's back-off (1, 2, 4 ... seconds after each
  wrong code, per device) applies too; the callers add the per-account and per-IP budgets.

Every write publishes its event (helpdesk.events: user.2fa_*), heard by the audit log.
"""

from __future__ import annotations

import re
import secrets
import time
from contextlib import suppress
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import policies, tokens
from accounts.models import Role, User
from helpdesk import events
from helpdesk.errors import Conflict, Invalid, NotAllowed, RateLimited, Unauthenticated

VERIFY = "verify"  # the challenge a code completes
ENROL = "enrol"  # the challenge that lets staff without an authenticator enrol, under STAFF_REQUIRE_2FA
_SALT = "accounts.two_factor.challenge"
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
DEVICE_NAME = "Authenticator"


class ChallengeRefused(Unauthenticated):
    code = "mfa_challenge_invalid"


class WrongCode(Unauthenticated):
    """A wrong code where the code is the credential (completing a sign-in)."""

    code = "invalid_mfa_code"


class WrongProof(Invalid):
    """A wrong code or password from someone signed in (removing the factor, new recovery codes)."""

    code = "wrong_mfa_code"


# --- Who is asked ----------------------------------------------------------------------------------


def authenticator(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def is_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_required(user: User) -> bool:
    """Must this user give a second factor to sign in (API and Django admin)?"""
    return is_enrolled(user) or policies.must_enrol_second_factor(user, staff_require_2fa=settings.STAFF_REQUIRE_2FA)


def status(user: User) -> dict[str, Any]:
    device = authenticator(user)
    return {
        "enrolled": device is not None,
        "pending": device is None and authenticator(user, confirmed=False) is not None,
        "required": device is not None
        or policies.must_enrol_second_factor(user, staff_require_2fa=settings.STAFF_REQUIRE_2FA),
        "recovery_codes_left": StaticToken.objects.filter(
            device_id__in=list(StaticDevice.objects.filter(user=user, confirmed=True).values_list("pk", flat=True))
        ).count(),
        "enrolled_at": device.created_at if device is not None else None,
        "last_used_at": device.last_used_at if device is not None else None,
    }


# --- The sign-in challenge -------------------------------------------------------------------------


def _challenge(user: User, purpose: str) -> str:
    payload = {"u": user.pk, "c": tokens.fingerprint(user), "p": purpose, "n": secrets.token_urlsafe(12)}
    return signing.dumps(payload, salt=_SALT)


def sign_in_challenge(user: User) -> dict[str, Any] | None:
    """After a right password: None when no second factor is asked (the caller issues tokens),
    otherwise the answer that asks for one, with its challenge."""
    if is_enrolled(user):
        purpose = VERIFY
    elif policies.must_enrol_second_factor(user, staff_require_2fa=settings.STAFF_REQUIRE_2FA):
        purpose = ENROL
    else:
        return None
    return {
        "mfa_required": True,
        "enrolment_required": purpose == ENROL,
        "challenge": _challenge(user, purpose),
        "expires_in": settings.MFA_CHALLENGE_SECONDS,
    }


def _failures_key(nonce: str) -> str:
    return f"accounts.2fa.challenge.{nonce}"


def open_challenge(raw: str, *, purpose: str) -> tuple[User, str]:
    """The active user a live challenge names, and its nonce; ChallengeRefused otherwise."""
    try:
        data = signing.loads(raw, salt=_SALT, max_age=settings.MFA_CHALLENGE_SECONDS)
    except signing.SignatureExpired:
        raise ChallengeRefused(
            "The sign-in challenge expired; sign in again with your password.", code="mfa_challenge_expired"
        ) from None
    except signing.BadSignature:
        raise ChallengeRefused("The sign-in challenge is not valid; sign in again with your password.") from None
    if not (
        isinstance(data, dict)
        and all(isinstance(data.get(key), str) for key in ("u", "c", "p", "n"))
        and _OBJECT_ID.fullmatch(data["u"])
    ):
        raise ChallengeRefused("The sign-in challenge is not valid; sign in again with your password.")
    if data["p"] != purpose:
        wanted = "to enrol an authenticator" if purpose == ENROL else "to check a code"
        raise ChallengeRefused(f"This challenge is not one {wanted}.", code="mfa_challenge_wrong_kind")
    user = User.objects.filter(pk=data["u"], is_active=True).first()
    if user is None or not constant_time_compare(data["c"], tokens.fingerprint(user)):
        raise ChallengeRefused("The account changed since this challenge was made; sign in again.")
    if (cache.get(_failures_key(data["n"])) or 0) >= settings.MFA_CHALLENGE_MAX_FAILURES:
        raise ChallengeRefused(
            "This challenge is used up (too many wrong codes, or already completed); sign in again.",
            code="mfa_challenge_spent",
        )
    return user, data["n"]


def _challenge_failed(nonce: str) -> None:
    key = _failures_key(nonce)
    cache.add(key, 0, timeout=settings.MFA_CHALLENGE_SECONDS)
    with suppress(ValueError):  # expired between the two calls: the challenge has too
        cache.incr(key)


def _challenge_spent(nonce: str) -> None:
    cache.set(_failures_key(nonce), settings.MFA_CHALLENGE_MAX_FAILURES, timeout=settings.MFA_CHALLENGE_SECONDS)


# --- Checking a code -------------------------------------------------------------------------------


def _refuse_while_throttled(device: TOTPDevice | StaticDevice) -> None:
    allowed, extra = device.verify_is_allowed()
    if not allowed:
        locked_until = (extra or {}).get("locked_until")
        wait = int((locked_until - timezone.now()).total_seconds()) + 1 if locked_until else 1
        raise RateLimited("Too many wrong codes. Wait before trying again.", retry_after=wait)


def _failed(device: TOTPDevice | StaticDevice) -> None:
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=timezone.now()
    )


def _check_totp(device: TOTPDevice, code: str) -> bool:
    """django-otp's TOTPDevice.verify_token as one conditional update: the step is accepted only
    if no request accepted it (or a later one) first."""
    _refuse_while_throttled(device)
    if len(code) == device.digits and code.isdigit():
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        if totp.verify(int(code), device.tolerance, device.last_t + 1):
            step = totp.t()
            won = TOTPDevice.objects.filter(pk=device.pk, last_t__lt=step).update(
                last_t=step,
                drift=totp.drift,
                throttling_failure_count=0,
                throttling_failure_timestamp=None,
                last_used_at=timezone.now(),
            )
            if won:
                return True
    _failed(device)
    return False


def _normalise_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _check_recovery_code(user: User, code: str) -> bool:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return False
    _refuse_while_throttled(device)
    token = StaticToken.objects.filter(device=device, token=_normalise_recovery_code(code)).first()
    # Whoever deletes it used it: a second request with the same code deletes nothing.
    if token is not None and StaticToken.objects.filter(pk=token.pk).delete()[0]:
        StaticDevice.objects.filter(pk=device.pk).update(
            throttling_failure_count=0, throttling_failure_timestamp=None, last_used_at=timezone.now()
        )
        return True
    _failed(device)
    return False


def check_code(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepted `code` (a current authenticator code, or an unused recovery code),
    or None. A code is all digits; anything else is taken for a recovery code."""
    code = code.strip()
    if code.isdigit():
        device = authenticator(user)
        return device if device is not None and _check_totp(device, code) else None
    if _check_recovery_code(user, code):
        return StaticDevice.objects.filter(user=user, confirmed=True).first()
    return None


def _refused_code(user: User) -> None:
    events.publish(_event(events.TwoFactorFailed, user, actor=user))


# --- Sign-in -------------------------------------------------------------------------------------


def complete_sign_in(*, challenge: str, code: str) -> User:
    """The user a verify challenge names, once `code` is right. A wrong code counts against the
    challenge (MFA_CHALLENGE_MAX_FAILURES) and the device's back-off; a right one spends it."""
    user, nonce = open_challenge(challenge, purpose=VERIFY)
    if check_code(user, code) is None:
        _challenge_failed(nonce)
        _refused_code(user)
        raise WrongCode("The code is wrong or was already used.")
    _challenge_spent(nonce)
    return user


def sign_in_proof_user(challenge: str) -> tuple[User, str]:
    """The user an enrol challenge names (STAFF_REQUIRE_2FA, no authenticator yet) and its nonce."""
    user, nonce = open_challenge(challenge, purpose=ENROL)
    if is_enrolled(user):
        raise ChallengeRefused("You enrolled already; sign in again to be asked for a code.")
    return user, nonce


def spend_challenge(nonce: str) -> None:
    _challenge_spent(nonce)


def count_challenge_failure(nonce: str) -> None:
    """A wrong first code with an enrolment challenge: it too dies after MFA_CHALLENGE_MAX_FAILURES."""
    _challenge_failed(nonce)


# --- Enrolment, recovery codes, removal ------------------------------------------------------------


def _event(kind: type[events.UserEvent], user: User, *, actor: User, **extra: Any) -> events.UserEvent:
    return kind(
        target_id=user.pk,
        actor_id=actor.pk,
        email=user.email,
        role=Role(user.role).api_name,
        department_id=user.department_id,
        is_active=user.is_active,
        **extra,
    )


def provisioning(device: TOTPDevice) -> dict[str, Any]:
    """What an authenticator app needs: the otpauth:// URI (render it as a QR code) and the secret
    in base32 (to type in)."""
    from base64 import b32encode

    return {
        "secret": b32encode(device.bin_key).decode(),
        "otpauth_uri": device.config_url,
        "digits": device.digits,
        "period": device.step,
        "algorithm": "SHA1",
    }


def enrol_start(*, user: User) -> dict[str, Any]:
    """A new, unconfirmed authenticator secret (any earlier unconfirmed one is dropped). Refused
    while a confirmed one exists: remove it first."""
    if not policies.can_enrol_second_factor(user):
        raise NotAllowed("Only agents, leads and admins use a second factor.")
    if is_enrolled(user):
        raise Conflict(
            "You already have an authenticator; remove it first (POST /api/v1/auth/2fa/disable/).",
            code="mfa_already_enrolled",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        events.publish(_event(events.TwoFactorEnrolmentStarted, user, actor=user))
    return provisioning(device)


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; the new ones, to be shown once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes: list[str] = []
    while len(codes) < settings.MFA_RECOVERY_CODES:
        code = StaticToken.random_token()
        if code not in codes and not code.isdigit():  # all digits would be read as an authenticator code
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def enrol_confirm(*, user: User, code: str) -> list[str]:
    """The first valid code makes the authenticator count. Returns the recovery codes (shown once)."""
    if not policies.can_enrol_second_factor(user):
        raise NotAllowed("Only agents, leads and admins use a second factor.")
    device = authenticator(user, confirmed=False)
    if device is None:
        if is_enrolled(user):
            raise Conflict("Your authenticator is already confirmed.", code="mfa_already_enrolled")
        raise Invalid("Start the enrolment first (POST /api/v1/auth/2fa/enrol/).", code="mfa_enrolment_not_started")
    if not _check_totp(device, code.strip()):
        _refused_code(user)
        raise WrongProof("The code is wrong; check the time on your phone.", errors={"code": ["Wrong code."]})
    # Only one request confirms it (a conditional update), however many raced with a right code.
    if not TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True):
        raise Conflict("Your authenticator is already confirmed.", code="mfa_already_enrolled")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        events.publish(_event(events.TwoFactorEnabled, user, actor=user))
    return codes


def _prove(user: User, *, code: str | None, password: str | None) -> str:
    """Check what the owner gave (a current code, or the password): the method's name."""
    if code:
        if check_code(user, code) is not None:
            return "code"
        _refused_code(user)
        raise WrongProof("The code is wrong or was already used.", errors={"code": ["Wrong code."]})
    if password:
        if user.check_password(password):
            return "password"
        raise WrongProof("The password is wrong.", code="wrong_password", errors={"password": ["Wrong password."]})
    raise Invalid("Give a current code or your password.", errors={"code": ["A code or the password is required."]})


def recovery_codes_renew(*, user: User, code: str | None = None, password: str | None = None) -> list[str]:
    if not is_enrolled(user):
        raise Invalid("You have no authenticator; enrol first.", code="mfa_not_enrolled")
    method = _prove(user, code=code, password=password)
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        events.publish(_event(events.RecoveryCodesRenewed, user, actor=user, method=method))
    return codes


def _remove_devices(user: User) -> int:
    """How many devices (authenticators, recovery-code sets) were removed."""
    removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
    return removed + StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)


def remove_all(user: User) -> int:
    """The personal-data erasure's part (accounts.personal_data): every device, no event of its own
    (the erasure is `user.erased`)."""
    return _remove_devices(user)


def disable(*, user: User, code: str | None = None, password: str | None = None) -> None:
    """Owners remove their second factor with a current code (or a recovery code) or their password.
    Under STAFF_REQUIRE_2FA the next sign-in asks them to enrol again."""
    if not is_enrolled(user) and authenticator(user, confirmed=False) is None:
        raise Invalid("You have no authenticator to remove.", code="mfa_not_enrolled")
    method = _prove(user, code=code, password=password) if is_enrolled(user) else "pending"
    with transaction.atomic():
        _remove_devices(user)
        events.publish(_event(events.TwoFactorDisabled, user, actor=user, method=method))


def admin_reset(*, actor: User, user: User) -> None:
    """An admin removes another person's second factor (a lost phone): audited with the admin as
    the actor. The person signs in with the password alone (or enrols, under STAFF_REQUIRE_2FA)."""
    if not policies.can_reset_second_factor(actor, user):
        raise NotAllowed("Only admins reset another person's second factor; remove your own with a code.")
    if not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists():
        raise Invalid("This person has no second factor.", code="mfa_not_enrolled")
    with transaction.atomic():
        _remove_devices(user)
        events.publish(_event(events.TwoFactorDisabled, user, actor=actor, method="admin"))


# --- Django admin's session (accounts.admin_site) --------------------------------------------------


def session_proof(device: TOTPDevice | StaticDevice) -> str:
    """What the admin session keeps of the device that verified it. Our own marker, not
    django-otp's OTPMiddleware: that one parses device ids as integers, which MongoDB's are not."""
    return f"{device._meta.label_lower}:{device.pk}"


def session_verified(user: User, proof: str | None) -> bool:
    """Was this session verified by a device the user still has?"""
    if not proof:
        return False
    label, _, pk = proof.partition(":")
    model = {TOTPDevice._meta.label_lower: TOTPDevice, StaticDevice._meta.label_lower: StaticDevice}.get(label)
    try:
        return model is not None and model.objects.filter(pk=pk, user=user, confirmed=True).exists()
    except (ValueError, TypeError):
        return False
