from django.urls import path
from rest_framework.routers import DefaultRouter

from notifications.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    path(
        "notifications/email-preferences/", views.EmailPreferencesView.as_view(), name="notification-email-preferences"
    ),
    *router.urls,
]
