from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import oidc, two_factor, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", views.UserViewSet, basename="user")
router.register("departments", views.DepartmentViewSet, basename="department")

urlpatterns = [
    path("auth/signup/", views.SignupView.as_view(), name="auth-signup"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
    path("auth/oidc/token/", oidc.OidcTokenView.as_view(), name="auth-oidc-token"),
    path("auth/password/", views.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/2fa/", two_factor.StatusView.as_view(), name="auth-2fa"),
    path("auth/2fa/verify/", two_factor.VerifyView.as_view(), name="auth-2fa-verify"),
    path("auth/2fa/enrol/", two_factor.EnrolView.as_view(), name="auth-2fa-enrol"),
    path("auth/2fa/confirm/", two_factor.ConfirmView.as_view(), name="auth-2fa-confirm"),
    path("auth/2fa/recovery-codes/", two_factor.RecoveryCodesView.as_view(), name="auth-2fa-recovery-codes"),
    path("auth/2fa/disable/", two_factor.DisableView.as_view(), name="auth-2fa-disable"),
    *router.urls,
]
