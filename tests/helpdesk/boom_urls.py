"""The project's URLs plus views that fail on purpose, to see how errors leave the API."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from helpdesk.errors import Conflict
from helpdesk.urls import handler400, handler403, handler404, handler500  # noqa: F401
from helpdesk.urls import urlpatterns as project_urls


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_boom(request):
    raise ZeroDivisionError("secret internals: do not show me")


@api_view(["POST"])
@permission_classes([AllowAny])
def drf_conflict(request):
    raise Conflict("The ticket changed meanwhile; reload and try again.", code="stale_version")


def django_boom(request):
    raise RuntimeError("secret internals: do not show me")


urlpatterns = [
    path("api/v1/test/boom/", drf_boom),
    path("api/v1/test/conflict/", drf_conflict),
    path("api/v1/test/django-boom/", django_boom),
    *project_urls,
]
