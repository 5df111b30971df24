"""The second factor's API (docs/decisions/0032): enrolment, the sign-in challenge's completion,
recovery codes and removal. Views translate HTTP; the rules live in accounts.two_factor."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services, tokens, two_factor
from accounts.api import examples
from accounts.api.serializers import TokenPairOut
from accounts.models import User
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors
from helpdesk.api.serializers import StrictSerializer
from helpdesk.errors import Unauthenticated

CHALLENGE_HELP = "The `challenge` of the sign-in answer (`POST /api/v1/auth/login/`); it lasts 5 minutes."
CODE_HELP = "The 6-digit code of the authenticator app, or one of the recovery codes."


class ChallengeOut(serializers.Serializer):
    mfa_required = serializers.BooleanField(help_text="Always true: no tokens yet, a second factor is needed.")
    enrolment_required = serializers.BooleanField(
        help_text="True: you have no authenticator and staff must use one (STAFF_REQUIRE_2FA); enrol with "
        "this challenge (`POST /api/v1/auth/2fa/enrol/`, then `.../confirm/`). False: send a code to "
        "`POST /api/v1/auth/2fa/verify/`."
    )
    challenge = serializers.CharField(help_text="Signed, short-lived, bound to you and your password.")
    expires_in = serializers.IntegerField(help_text="Seconds the challenge lasts.")


class VerifyIn(StrictSerializer):
    challenge = serializers.CharField(max_length=1024, help_text=CHALLENGE_HELP)
    code = serializers.CharField(max_length=32, help_text=CODE_HELP)


class EnrolIn(StrictSerializer):
    challenge = serializers.CharField(
        max_length=1024,
        required=False,
        help_text="Only without a bearer token: the enrolment challenge of a sign-in under STAFF_REQUIRE_2FA.",
    )


class EnrolOut(serializers.Serializer):
    secret = serializers.CharField(help_text="The shared secret in base32, to type into the app.")
    otpauth_uri = serializers.CharField(help_text="otpauth://totp/... : render it as a QR code for the app to scan.")
    digits = serializers.IntegerField()
    period = serializers.IntegerField(help_text="Seconds per code.")
    algorithm = serializers.CharField()


class ConfirmIn(EnrolIn):
    code = serializers.CharField(max_length=32, help_text="The app's current 6-digit code.")


class RecoveryCodesOut(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Shown this once: each works once, in place of a code."
    )
    access = serializers.CharField(required=False, help_text="After enrolling: the new pair (use it from now on).")
    refresh = serializers.CharField(required=False, help_text="After enrolling: the new pair (use it from now on).")


class ProofIn(StrictSerializer):
    code = serializers.CharField(max_length=32, required=False, help_text=CODE_HELP)
    password = serializers.CharField(max_length=128, required=False, style={"input_type": "password"})


class StatusOut(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="A confirmed authenticator: every sign-in asks for a code.")
    pending = serializers.BooleanField(help_text="An enrolment was started and not confirmed.")
    required = serializers.BooleanField(help_text="Sign-ins need a second factor (enrolled, or STAFF_REQUIRE_2FA).")
    recovery_codes_left = serializers.IntegerField()
    enrolled_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


STATUS_OUT = OpenApiExample(
    "Enrolled",
    response_only=True,
    value={
        "enrolled": True,
        "pending": False,
        "required": True,
        "recovery_codes_left": 9,
        "enrolled_at": "2026-12-07T09:12:03Z",
        "last_used_at": "2026-12-07T14:40:51Z",
    },
)
CHALLENGE_OUT = OpenApiExample(
    "A code is needed",
    response_only=True,
    value={
        "mfa_required": True,
        "enrolment_required": False,
        "challenge": "eyJ1IjoiNjc0NWExYzJlNGIwYTFiMmMzZDRlNWY2Ii...:1tK9xq:Vd3...",
        "expires_in": 300,
    },
)
VERIFY_IN = OpenApiExample(
    "Complete a sign-in", request_only=True, value={"challenge": "eyJ1IjoiNjc0NWExYzJl...", "code": "492039"}
)
ENROL_OUT = OpenApiExample(
    "A new authenticator secret",
    response_only=True,
    value={
        "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",  # nosec B105: the documentation example, no real secret
        "otpauth_uri": "otpauth://totp/Helpdesk%20AI%3Aada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        "&algorithm=SHA1&digits=6&period=30&issuer=Helpdesk%20AI",
        "digits": 6,
        "period": 30,
        "algorithm": "SHA1",
    },
)
ENROL_IN = OpenApiExample(
    "Signed in (bearer token): nothing to send; signing in under STAFF_REQUIRE_2FA: the challenge",
    request_only=True,
    value={"challenge": "eyJ1IjoiNjc0NWExYzJlNGIwYTFiMmMzZDRlNWY2Ii...:1tK9xq:Vd3..."},
)
CONFIRM_IN = OpenApiExample("Confirm with the first code", request_only=True, value={"code": "492039"})
RECOVERY_OUT = OpenApiExample(
    "Recovery codes, shown once",
    response_only=True,
    value={"recovery_codes": ["x4kq7mzd", "pw2hc5ra", "t7nb3kvy", "ma6dq2ls", "rr5tqz3w"]},
)
PROOF_IN = OpenApiExample("With a current code", request_only=True, value={"code": "492039"})


def _account_key(user: User) -> ratelimits.Key:
    account = user.pk
    return lambda group, request: account


def _budget(request, user: User | None) -> None:
    """Refuse when the wrong codes counted for this IP (and account) reached the limit."""
    ratelimits.attempt_allowed(request, scope="mfa_ip", key="ip")
    if user is not None:
        ratelimits.attempt_allowed(request, scope="mfa_account", key=_account_key(user))


def _count_failure(request, user: User) -> None:
    ratelimits.count_failure(request, scope="mfa_ip", key="ip")
    ratelimits.count_failure(request, scope="mfa_account", key=_account_key(user))


def _signed_in(request, user: User) -> dict[str, str]:
    user_logged_in.send(sender=User, request=request._request, user=user)
    services.login_succeeded(user=user)
    return tokens.issue_pair(user, second_factor=True)


class VerifyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'

    @extend_schema(
        tags=["auth"],
        summary="Complete a sign-in with a second-factor code",
        description=(
            "Send the sign-in's `challenge` with the authenticator's current code (or a recovery code, "
            "which then stops working): the answer is the usual token pair. A wrong code is 401 "
            "`invalid_mfa_code`; a code works once. After 5 wrong codes the challenge is dead (401 "
            "`mfa_challenge_spent`, sign in again), and wrong codes count per account and per IP (429), "
            "with django-otp's back-off per device on top."
        ),
        request=VerifyIn,
        responses={200: TokenPairOut, **errors(400, 401, 429)},
        examples=[VERIFY_IN, examples.TOKEN_PAIR_OUT],
    )
    def post(self, request):
        data = VerifyIn.validated(request.data)
        _budget(request, None)
        user, _nonce = two_factor.open_challenge(data["challenge"], purpose=two_factor.VERIFY)
        _budget(request, user)
        try:
            user = two_factor.complete_sign_in(challenge=data["challenge"], code=data["code"])
        except two_factor.WrongCode:
            _count_failure(request, user)
            raise
        return Response(_signed_in(request, user))


class StaffOrEnrolChallenge(APIView):
    """Signed in with a bearer token, or (no token) holding the enrolment challenge of a sign-in."""

    permission_classes = [AllowAny]

    def caller(self, request, challenge: str | None) -> tuple[User, str | None]:
        if request.user.is_authenticated:
            return request.user, None
        if not challenge:
            raise Unauthenticated("Sign in, or send the enrolment `challenge` of your sign-in.")
        return two_factor.sign_in_proof_user(challenge)


class StatusView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Your second factor",
        description="Whether you have an authenticator, whether sign-ins need one, and how many recovery codes "
        "are left.",
        responses={200: StatusOut, **errors(401)},
        examples=[STATUS_OUT],
    )
    def get(self, request):
        return Response(StatusOut(two_factor.status(request.user)).data)


class EnrolView(StaffOrEnrolChallenge):
    @extend_schema(
        tags=["auth"],
        summary="Start enrolling an authenticator (staff)",
        description=(
            "Agents, leads and admins (others 403). Answers a new secret and its `otpauth://` URI for the app; "
            "it counts only once confirmed with a first code (`POST /api/v1/auth/2fa/confirm/`). Asking again "
            "replaces an unconfirmed secret; with a confirmed authenticator it is 409 (remove it first). "
            "Without a bearer token, send the enrolment `challenge` of a sign-in (STAFF_REQUIRE_2FA)."
        ),
        request=EnrolIn,
        responses={200: EnrolOut, **errors(400, 401, 403, 409, 429)},
        examples=[ENROL_IN, ENROL_OUT],
    )
    def post(self, request):
        data = EnrolIn.validated(request.data)
        user, _nonce = self.caller(request, data.get("challenge"))
        return Response(two_factor.enrol_start(user=user))


class ConfirmView(StaffOrEnrolChallenge):
    @extend_schema(
        tags=["auth"],
        summary="Confirm the authenticator with its first code (staff)",
        description=(
            "The app's current code makes the authenticator count: from now on every sign-in asks for a code. "
            "The answer holds 10 recovery codes, shown this once (each works once in place of a code). A wrong "
            "code is 400 `wrong_mfa_code` and counts per account and per IP (429). Enrolling with a sign-in's "
            "challenge (no bearer token) completes that sign-in: the answer has the token pair too. With a bearer "
            "token the answer has a new pair as well: refresh tokens issued before the second factor are refused "
            "from now on (401 `second_factor_required`)."
        ),
        request=ConfirmIn,
        responses={200: RecoveryCodesOut, **errors(400, 401, 403, 409, 429)},
        examples=[CONFIRM_IN, RECOVERY_OUT],
    )
    def post(self, request):
        data = ConfirmIn.validated(request.data)
        user, nonce = self.caller(request, data.get("challenge"))
        _budget(request, user)
        try:
            codes = two_factor.enrol_confirm(user=user, code=data["code"])
        except two_factor.WrongProof:
            _count_failure(request, user)
            if nonce is not None:
                two_factor.count_challenge_failure(nonce)
            raise
        answer: dict = {"recovery_codes": codes}
        if nonce is not None:
            two_factor.spend_challenge(nonce)
            answer |= _signed_in(request, user)
        else:  # the refresh tokens from before the second factor end at their next use: this is the new pair
            answer |= tokens.issue_pair(user, second_factor=True)
        return Response(answer)


class RecoveryCodesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="New recovery codes",
        description=(
            "With a current code (or a recovery code) or your password: 10 new recovery codes, shown once; the "
            "old ones stop working. A wrong code or password is 400 and counts per account and per IP (429)."
        ),
        request=ProofIn,
        responses={200: RecoveryCodesOut, **errors(400, 429)},
        examples=[PROOF_IN, RECOVERY_OUT],
    )
    def post(self, request):
        data = ProofIn.validated(request.data)
        _budget(request, request.user)
        try:
            codes = two_factor.recovery_codes_renew(user=request.user, **data)
        except two_factor.WrongProof:
            _count_failure(request, request.user)
            raise
        return Response({"recovery_codes": codes})


class DisableView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Remove your second factor",
        description=(
            "With a current code (or a recovery code) or your password. Sign-ins then need the password only, "
            "unless STAFF_REQUIRE_2FA asks staff to enrol again. A wrong code or password is 400 and counts per "
            "account and per IP (429). Lost the phone and the codes? An admin resets it "
            "(`POST /api/v1/users/{id}/reset-2fa/`)."
        ),
        request=ProofIn,
        responses={204: None, **errors(400, 429)},
        examples=[PROOF_IN],
    )
    def post(self, request):
        data = ProofIn.validated(request.data)
        _budget(request, request.user)
        try:
            two_factor.disable(user=request.user, **data)
        except two_factor.WrongProof:
            _count_failure(request, request.user)
            raise
        return Response(status=204)
