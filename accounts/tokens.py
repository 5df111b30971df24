"""JWT pairs: issue, rotate (each refresh token works once), revoke; and password-reset links.

simplejwt signs and verifies; which refresh tokens are spent lives in accounts.RevokedToken.
Marking a token spent is one insert on a unique `jti`, so two concurrent refreshes with the same
token cannot both succeed, on any database, without a transaction.

A refresh token also carries a fingerprint of the credentials it was issued under (`cred`, an HMAC
of the password hash and the sign-in email, as Django's session hash): setting a new password (a
reset, a change, an admin) or a new sign-in email (an admin: decision 0026) ends every refresh token
issued before, with no list of them to keep. Access tokens do not carry it and live until they
expire (docs/security.md, "Deliberately accepted").
A refresh token also says whether its sign-in passed a second factor (`mfa`: a TOTP or recovery code,
or the company's provider). Once the account needs one (enrolled, or STAFF_REQUIRE_2FA turned on), a
token without it is refused at its next rotation: a session from before the second factor ends.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import RevokedToken, User
from helpdesk.errors import Unauthenticated


class TokenRefused(Unauthenticated):
    code = "token_not_valid"


CREDENTIALS_CLAIM = "cred"
SECOND_FACTOR_CLAIM = "mfa"
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


class _Refresh(RefreshToken):
    # The access token made from it does not need the fingerprint: nothing checks it there.
    no_copy_claims = (*RefreshToken.no_copy_claims, CREDENTIALS_CLAIM, SECOND_FACTOR_CLAIM)


def _credentials(user: User) -> str:
    """Changes whenever the password does (a new salt even for the same password) and whenever the
    sign-in email does: whoever held the account under the old address keeps no session."""
    signed = f"{user.password}\n{user.email}"  # a hash never holds a newline: no two pairs sign alike
    return salted_hmac("accounts.tokens.credentials", signed, algorithm="sha256").hexdigest()[:32]


def fingerprint(user: User) -> str:
    """The credentials' fingerprint, for other short-lived proofs bound to the password and email
    (the second factor's sign-in challenge, accounts.two_factor)."""
    return _credentials(user)


def issue_pair(user: User, *, second_factor: bool = False) -> dict[str, str]:
    """A new pair; `second_factor`: this sign-in passed one (a code, or the company's provider)."""
    refresh = _Refresh.for_user(user)
    refresh[CREDENTIALS_CLAIM] = _credentials(user)
    refresh[SECOND_FACTOR_CLAIM] = second_factor
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _parse(raw: str) -> RefreshToken:
    try:
        return _Refresh(raw)
    except TokenError as error:
        raise TokenRefused(f"The refresh token is not valid: {error}.") from None


def _spend(token: RefreshToken, *, reason: str) -> bool:
    """Mark the token spent; False if it already was."""
    try:
        # A savepoint on SQL, so a refused insert leaves any surrounding transaction usable.
        with transaction.atomic():
            RevokedToken.objects.create(
                jti=token["jti"],
                user_id=str(token.get("user_id", "")),
                reason=reason,
                expires_at=datetime.fromtimestamp(token["exp"], tz=UTC),
            )
    except IntegrityError:
        return False
    return True


def rotate(raw_refresh: str) -> dict[str, str]:
    """A new pair for a valid, unspent refresh token of an active user; the old one dies."""
    token = _parse(raw_refresh)
    user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is None:
        raise TokenRefused("The account is inactive or gone.", code="user_inactive")
    if not constant_time_compare(str(token.get(CREDENTIALS_CLAIM, "")), _credentials(user)):
        raise TokenRefused(
            "The password or the sign-in email changed since this token was issued; sign in again.",
            code="token_revoked",
        )
    second_factor = token.get(SECOND_FACTOR_CLAIM) is True
    if not second_factor:
        from accounts import two_factor  # it imports this module

        if two_factor.is_required(user):
            raise TokenRefused(
                "This account now signs in with a second factor; sign in again.", code="second_factor_required"
            )
    if not _spend(token, reason="rotated"):
        raise TokenRefused("This refresh token was already used or revoked.", code="token_revoked")
    return issue_pair(user, second_factor=second_factor)


def revoke(raw_refresh: str) -> str:
    """Logout: the refresh token can never be used again. Revoking twice is harmless. Returns the
    id of the token's user."""
    token = _parse(raw_refresh)
    _spend(token, reason="logout")
    return str(token.get("user_id", ""))


def purge_expired(now: datetime | None = None) -> int:
    """Forget revocations of tokens that have expired anyway."""
    deleted, _ = RevokedToken.objects.filter(expires_at__lt=now or datetime.now(tz=UTC)).delete()
    return deleted


# --- Password-reset links (Django's PasswordResetTokenGenerator) ------------------------------------
# A token is an HMAC of the user's id, password hash, last sign-in and email with a timestamp: it
# dies when any of them changes (so it works once) and after PASSWORD_RESET_TIMEOUT seconds.


def password_reset_token(user: User) -> tuple[str, str]:
    """(uid, token) for a reset link of `user`."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def user_for_reset_token(uid: str, token: str) -> User | None:
    """The active user a reset link names, if its token is still good; None otherwise."""
    try:
        user_id = urlsafe_base64_decode(uid).decode()
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    if not _OBJECT_ID.fullmatch(user_id):  # what decodes may hold anything, a NUL included
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user
