from django.urls import path
from rest_framework.routers import DefaultRouter

from knowledge.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("kb/categories", views.CategoryViewSet, basename="kb-category")
router.register("kb/articles", views.ArticleViewSet, basename="kb-article")

urlpatterns = [
    path("kb/search/", views.SearchView.as_view(), name="kb-search"),
    path("kb/tags/", views.TagListView.as_view(), name="kb-tags"),
    path("kb/documents/", views.DocumentUploadView.as_view(), name="kb-documents"),
    path(
        "kb/articles/<str:pk>/attachments/<str:attachment_id>/download/",
        views.AttachmentDownloadView.as_view(),
        name="kb-attachment-download",
    ),
    *router.urls,
]
