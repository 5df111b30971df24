from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from helpdesk import health, home, metrics
from helpdesk.api.views import api_not_found

admin.site.site_header = "Helpdesk AI administration"
admin.site.site_title = "Helpdesk AI"

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("ai_assist.api.kb_urls")),  # /kb/articles/from-ticket/, before knowledge's article ids
    path("", include("knowledge.api.urls")),
    path("", include("ai_assist.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("notifications.api.urls")),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("sso/", include("accounts.sso_views")),  # company sign-in for Django admin (decision 0031)
    # The providers' inbound email webhooks at anymail's URLs, through intake's door to anymail's views
    # (intake.views). anymail's tracking webhooks are not mounted: nothing here listens to them.
    path("anymail/", include("intake.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="helpdesk/redoc.html"), name="redoc"
    ),
    # Anything else under /api/ is a problem+json 404, in DEBUG too.
    re_path(r"^api/", api_not_found),
]

handler400 = "helpdesk.api.views.handler400"
handler403 = "helpdesk.api.views.handler403"
handler404 = "helpdesk.api.views.handler404"
handler500 = "helpdesk.api.views.handler500"
