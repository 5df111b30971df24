"""JWT pairs: issue, rotate (each refresh token works once), revoke.

simplejwt signs and verifies; which refresh tokens are spent lives in accounts.RevokedToken.
Marking a token spent is one insert on a unique `jti`, so two concurrent refreshes with the same
token cannot both succeed, on any database, without a transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import RevokedToken, User
from helpdesk.errors import Unauthenticated


class TokenRefused(Unauthenticated):
    code = "token_not_valid"


def issue_pair(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
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
    if not _spend(token, reason="rotated"):
        raise TokenRefused("This refresh token was already used or revoked.", code="token_revoked")
    return issue_pair(user)


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
