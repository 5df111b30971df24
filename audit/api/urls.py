from rest_framework.routers import DefaultRouter

from audit.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audit", views.AuditEntryViewSet, basename="audit-entry")

urlpatterns = router.urls
