"""helpdesk.urls plus `api/bench/plain/`, placed before the catch-all `^api/` problem+json 404."""

from django.urls import path

from bench.plain.views import plain_list
from helpdesk.urls import handler404, handler500
from helpdesk.urls import urlpatterns as helpdesk_urlpatterns

_bench = [path("api/bench/plain/", plain_list, name="bench-plain-list")]
_catch_all = next(
    (index for index, pattern in enumerate(helpdesk_urlpatterns) if str(pattern.pattern) == "^api/"),
    len(helpdesk_urlpatterns),
)
urlpatterns = [*helpdesk_urlpatterns[:_catch_all], *_bench, *helpdesk_urlpatterns[_catch_all:]]

__all__ = ["handler404", "handler500", "urlpatterns"]
