"""Accounts API: sign-up and tokens, the caller's profile, users and departments. Views only
translate HTTP; rules live in accounts.services and accounts.policies."""

from __future__ import annotations

from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.signals import user_logged_in
from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services, tokens, two_factor
from accounts.api import examples
from accounts.api import personal_data as personal_data_api
from accounts.api import two_factor as two_factor_api
from accounts.api.permissions import AdminsOnly, ReadAgentsWriteAdmins, ReadAllWriteAdmins
from accounts.api.serializers import (
    DepartmentIn,
    DepartmentOut,
    LoginIn,
    MeIn,
    MeOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordResetOut,
    RefreshIn,
    SignupIn,
    TokenPairOut,
    UserIn,
    UserOut,
)
from accounts.models import Department, Role, User, normalize_email
from helpdesk.api import ratelimits
from helpdesk.api.schema import errors
from helpdesk.errors import Unauthenticated


class TokenEndpoint(APIView):
    """Sign-in endpoints take credentials in the body, never a (possibly stale) bearer token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


def _login_account_key(email: str) -> ratelimits.Key:
    """Count per account (sign-in failures, wrong current passwords, reset emails), whatever address
    they come from."""
    account = normalize_email(email)
    return lambda group, request: account


class SignupView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Create an employee account",
        description="Anyone may sign up; the new user is always an employee. Limited per IP.",
        request=SignupIn,
        responses={201: UserOut, **errors(400, 429)},
        examples=[examples.SIGNUP_IN, examples.USER_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="signup_ip")
        data = SignupIn.validated(request.data)
        user = services.user_signup(**data)
        return Response(UserOut(user).data, status=status.HTTP_201_CREATED)


class LoginView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Sign in with email and password",
        description=(
            "Returns an access token (send it as `Authorization: Bearer <access>`) and a refresh token. "
            "After 5 wrong tries in a minute, for one account or from one IP, further tries get 429. "
            "Staff with a second factor (or any staff under STAFF_REQUIRE_2FA) get a challenge instead of "
            "tokens (`mfa_required: true`): complete it at `POST /api/v1/auth/2fa/verify/` with a code, or "
            "enrol with it when `enrolment_required` (docs/decisions/0032). With PASSWORD_LOGIN=false only "
            "admins sign in here; everyone else signs in through the company's provider "
            "(`POST /api/v1/auth/oidc/token/`), and their right password is answered as a wrong one (decision 0031)."
        ),
        request=LoginIn,
        responses={
            200: PolymorphicProxySerializer(
                component_name="LoginOut",
                serializers=[TokenPairOut, two_factor_api.ChallengeOut],
                resource_type_field_name=None,
            ),
            **errors(400, 401, 429),
        },
        examples=[examples.LOGIN_IN, examples.TOKEN_PAIR_OUT, two_factor_api.CHALLENGE_OUT],
    )
    def post(self, request):
        data = LoginIn.validated(request.data)
        account_key = _login_account_key(data["email"])
        ratelimits.attempt_allowed(request, scope="login_ip", key="ip")
        ratelimits.attempt_allowed(request, scope="login_account", key=account_key)
        user = authenticate(request._request, email=data["email"], password=data["password"])
        if user is None:
            ratelimits.count_failure(request, scope="login_ip", key="ip")
            ratelimits.count_failure(request, scope="login_account", key=account_key)
            services.login_failed(email=data["email"])
            raise Unauthenticated("Email or password is wrong.", code="invalid_credentials")
        challenge = two_factor.sign_in_challenge(user)
        if challenge is not None:  # the tokens come from /auth/2fa/verify/ (accounts.api.two_factor)
            return Response(challenge)
        user_logged_in.send(sender=User, request=request._request, user=user)
        services.login_succeeded(user=user)
        return Response(tokens.issue_pair(user))


class RefreshView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Trade a refresh token for a new pair",
        description=(
            "Each refresh token works once: the one sent is spent, a second use gets 401. A token from a sign-in "
            "that gave no second factor is refused (401 `second_factor_required`) once the account needs one."
        ),
        request=RefreshIn,
        responses={200: TokenPairOut, **errors(400, 401, 429)},
        examples=[examples.REFRESH_IN, examples.TOKEN_PAIR_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="refresh_ip")
        data = RefreshIn.validated(request.data)
        return Response(tokens.rotate(data["refresh"]))


class LogoutView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Sign out: revoke a refresh token",
        description="The refresh token can never be used again. Access tokens expire on their own within minutes.",
        request=RefreshIn,
        responses={204: None, **errors(400, 401, 429)},
        examples=[examples.REFRESH_IN],
    )
    def post(self, request):
        ratelimits.consume(request, scope="refresh_ip")
        data = RefreshIn.validated(request.data)
        services.logout(refresh=data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Forgot your password: email a reset link",
        description=(
            "Always 202 with the same answer, whether or not an active account uses the address: the link "
            "goes only to an active account's own address. Limited per IP and per address (429)."
        ),
        request=PasswordResetIn,
        responses={202: PasswordResetOut, **errors(400, 429)},
        examples=[examples.PASSWORD_RESET_IN, examples.PASSWORD_RESET_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="password_reset_ip")
        data = PasswordResetIn.validated(request.data)
        ratelimits.consume(request, scope="password_reset_account", key=_login_account_key(data["email"]))
        services.password_reset_request(email=data["email"])
        return Response({"detail": examples.RESET_REQUESTED_DETAIL}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(TokenEndpoint):
    @extend_schema(
        tags=["auth"],
        summary="Set a new password with the emailed link",
        description=(
            "Send the `uid` and `token` of the reset email with the new password. The link works once; "
            "every refresh token of the account stops working, so sign in again. A bad or expired link is "
            "400 `invalid_reset_token`; a weak password 400 naming `new_password`."
        ),
        request=PasswordResetConfirmIn,
        responses={204: None, **errors(400, 429)},
        examples=[examples.PASSWORD_RESET_CONFIRM_IN],
    )
    def post(self, request):
        ratelimits.consume(request, scope="password_reset_confirm_ip")
        data = PasswordResetConfirmIn.validated(request.data)
        services.password_reset_confirm(**data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Change your password",
        description=(
            "Needs the current password (wrong: 400 `wrong_password`, counted with wrong sign-ins, so "
            "guessing gets 429). Every refresh token issued before stops working, this session's too; the "
            "answer is a new pair for this session."
        ),
        request=PasswordChangeIn,
        responses={200: TokenPairOut, **errors(400, 401, 429)},
        examples=[examples.PASSWORD_CHANGE_IN, examples.TOKEN_PAIR_OUT],
    )
    def post(self, request):
        data = PasswordChangeIn.validated(request.data)
        account_key = _login_account_key(request.user.email)
        ratelimits.attempt_allowed(request, scope="login_ip", key="ip")
        ratelimits.attempt_allowed(request, scope="login_account", key=account_key)
        try:
            user = services.password_change(user=request.user, **data)
        except services.WrongPassword:
            ratelimits.count_failure(request, scope="login_ip", key="ip")
            ratelimits.count_failure(request, scope="login_account", key=account_key)
            raise
        update_session_auth_hash(request._request, user)  # a browser session (browsable API) stays signed in
        # An account that needs a second factor got this access token from a sign-in that gave one.
        return Response(tokens.issue_pair(user, second_factor=two_factor.is_required(user)))


ME_OUT = OpenApiExample("Me", response_only=True, value={**examples.USER_OUT.value, "unread_notifications": 2})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="The signed-in user",
        description="With `unread_notifications`, the count of your unread in-app notifications.",
        responses={200: MeOut},
        examples=[ME_OUT],
    )
    def get(self, request):
        return Response(MeOut(request.user).data)

    @extend_schema(
        tags=["auth"],
        summary="Change your name or availability",
        description="Email preferences: `PATCH /api/v1/notifications/email-preferences/`.",
        request=MeIn,
        responses={200: MeOut, **errors(400)},
        examples=[examples.ME_IN, ME_OUT],
    )
    def patch(self, request):
        data = MeIn.validated(request.data)
        return Response(MeOut(services.profile_update(user=request.user, **data)).data)


class UserFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=[(name, name) for name in Role.api_names()], method="filter_role")
    department = filters.CharFilter(field_name="department_id")
    is_active = filters.BooleanFilter()
    is_available = filters.BooleanFilter()
    q = filters.CharFilter(method="filter_q", label="Search email and name")

    class Meta:
        model = User
        fields = ["role", "department", "is_active", "is_available"]

    def filter_role(self, queryset, name, value):
        return queryset.filter(role=Role.from_api_name(value))

    def filter_q(self, queryset, name, value):
        return queryset.filter(
            Q(email__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value)
        )


@extend_schema_view(
    list=extend_schema(
        summary="List users",
        description="Admins see everyone; agents and leads the users of their own department.",
        responses={200: UserOut(many=True), **errors(403)},
        examples=[examples.USER_OUT],
    ),
    retrieve=extend_schema(
        summary="Show a user",
        responses={200: UserOut, **errors(403)},
        examples=[examples.USER_OUT],
    ),
    create=extend_schema(
        summary="Create a user (admins)",
        request=UserIn,
        responses={201: UserOut, **errors(403)},
        examples=[examples.USER_IN, examples.USER_OUT],
    ),
    partial_update=extend_schema(
        summary="Change a user (admins): role, department, skills, deactivate",
        description=(
            "A new `email` (the sign-in address) is told to the old address and ends every refresh token the "
            "person holds: they sign in again with the new one. Only admins change it (decision 0026)."
        ),
        request=UserIn,
        responses={200: UserOut, **errors(403)},
        examples=[examples.USER_PATCH_IN, examples.USER_OUT],
    ),
    destroy=extend_schema(
        summary="Deactivate a user (admins)",
        description="The account is kept for history but can no longer sign in; its tokens stop working.",
        responses={204: None, **errors(403)},
    ),
)
class UserViewSet(viewsets.ModelViewSet):
    queryset = User.objects.none()  # the real one is scoped per request in get_queryset
    permission_classes = [IsAuthenticated, ReadAgentsWriteAdmins]
    serializer_class = UserOut
    filterset_class = UserFilter
    ordering_fields = ["email", "date_joined", "role", "last_name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.users_for(user=self.request.user)

    def create(self, request):
        data = UserIn.validated(request.data)
        user = services.user_create(actor=request.user, **data)
        return Response(UserOut(user).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        user = selectors.user_for(user=request.user, user_id=pk)
        data = UserIn.validated(request.data, partial=True)
        return Response(UserOut(services.user_update(actor=request.user, user=user, **data)).data)

    def destroy(self, request, pk=None):
        user = selectors.user_for(user=request.user, user_id=pk)
        services.user_deactivate(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Reset a user's second factor (admins)",
        description=(
            "Removes another person's authenticator and recovery codes (a lost phone): they sign in with the "
            "password alone, or enrol again under STAFF_REQUIRE_2FA. Audited (`user.2fa_disabled`, method "
            "`admin`). Admins only (others 403); your own: `POST /api/v1/auth/2fa/disable/`. 400 "
            "`mfa_not_enrolled` when there is nothing to reset."
        ),
        request=None,
        responses={204: None, **errors(400, 403)},
    )
    @action(detail=True, methods=["post"], url_path="reset-2fa", permission_classes=[IsAuthenticated, AdminsOnly])
    def reset_2fa(self, request, pk=None):
        user = selectors.user_for(user=request.user, user_id=pk)
        two_factor.admin_reset(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- Personal data (GDPR): docs/decisions/0027 ----------------------------------------------

    @extend_schema(
        summary="Export everything held about a user (admins)",
        description=(
            "One JSON document with every app's part: the account (never the password hash), the tickets "
            "they requested (whole: every comment, internal notes included), their comments and files on "
            "other tickets, their chatbot conversations, the AI's suggestions they asked for and about their "
            "tickets, their notifications, email preferences and emails, and the audit entries where they "
            "act or that are about their account. Admins only (others 403); limited per admin "
            "(`RATE_PERSONAL_DATA_EXPORT`, 429)."
        ),
        responses={200: personal_data_api.PersonalDataOut, **errors(403)},
        examples=[personal_data_api.PERSONAL_DATA_OUT],
    )
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated, AdminsOnly])
    def export(self, request, pk=None):
        ratelimits.consume(request, scope="personal_data_export_user", key="user")
        return Response(selectors.personal_data_for(user=request.user, user_id=pk))

    @extend_schema(
        summary="Erase a user's personal data (admins)",
        description=(
            "Anonymises the person everywhere: the account (address `erased-<id>@erased.invalid`, name "
            '"Erased user", inactive, no usable password, every refresh token ended), their chatbot '
            "conversations, what they typed to the AI, their notifications and emails, the audit entries "
            "and events that name them; their tickets leave the AI's index. Tickets stay, with the requester "
            'shown as "Erased user". Idempotent: erasing again changes nothing more. One audit entry, '
            "`user.erased`. Admins only (others 403); not yourself (400 `self_lockout`)."
        ),
        request=None,
        responses={200: personal_data_api.ErasureOut, **errors(400, 403)},
        examples=[personal_data_api.ERASURE_OUT],
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated, AdminsOnly])
    def erase(self, request, pk=None):
        user = selectors.user_for(user=request.user, user_id=pk)
        changed = services.user_erase(actor=request.user, user=user)
        return Response({"user": UserOut(user).data, "changed": changed})


@extend_schema_view(
    list=extend_schema(
        summary="List departments", responses={200: DepartmentOut(many=True)}, examples=[examples.DEPARTMENT_OUT]
    ),
    retrieve=extend_schema(
        summary="Show a department", responses={200: DepartmentOut}, examples=[examples.DEPARTMENT_OUT]
    ),
    create=extend_schema(
        summary="Create a department (admins)",
        request=DepartmentIn,
        responses={201: DepartmentOut, **errors(403)},
        examples=[examples.DEPARTMENT_IN, examples.DEPARTMENT_OUT],
    ),
    partial_update=extend_schema(
        summary="Change a department (admins)",
        request=DepartmentIn,
        responses={200: DepartmentOut, **errors(403)},
        examples=[examples.DEPARTMENT_IN, examples.DEPARTMENT_OUT],
    ),
    destroy=extend_schema(
        summary="Delete a department (admins)",
        description="Only a department without members can be deleted (409 otherwise).",
        responses={204: None, **errors(403, 409)},
    ),
)
class DepartmentViewSet(viewsets.ModelViewSet):
    queryset = Department.objects.none()
    permission_classes = [IsAuthenticated, ReadAllWriteAdmins]
    serializer_class = DepartmentOut
    ordering_fields = ["name", "created_at"]
    filterset_fields = ["name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.departments_for(user=self.request.user)

    def create(self, request):
        data = DepartmentIn.validated(request.data)
        department = services.department_create(actor=request.user, **data)
        return Response(DepartmentOut(department).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        department = selectors.department_for(user=request.user, department_id=pk)
        data = DepartmentIn.validated(request.data, partial=True)
        return Response(
            DepartmentOut(services.department_update(actor=request.user, department=department, **data)).data
        )

    def destroy(self, request, pk=None):
        department = selectors.department_for(user=request.user, department_id=pk)
        services.department_delete(actor=request.user, department=department)
        return Response(status=status.HTTP_204_NO_CONTENT)
