from django.urls import path
from rest_framework.routers import DefaultRouter

from tickets.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = [
    path(
        "tickets/<str:pk>/attachments/<str:attachment_id>/download/",
        views.AttachmentDownloadView.as_view(),
        name="ticket-attachment-download",
    ),
    *router.urls,
]
