"""Knowledge-base API. Views translate HTTP; visibility comes from knowledge.selectors, rules and
writes from knowledge.services (which ask knowledge.policies)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api import ratelimits
from helpdesk.api.downloads import signed_download_view
from helpdesk.api.pagination import PageNumberPagination
from helpdesk.api.parsers import MultiPartParser
from helpdesk.api.schema import errors
from knowledge import selectors, services
from knowledge.api import examples
from knowledge.api.filters import ArticleFilter, CategoryFilter
from knowledge.api.serializers import (
    LIST_COLUMNS,
    ArticleIn,
    ArticleListOut,
    ArticleOut,
    ArticlePatchIn,
    CategoryIn,
    CategoryOut,
    CategoryPatchIn,
    DocumentIn,
    RevertIn,
    SearchHitOut,
    SearchIn,
    TagOut,
    TagsQueryIn,
    VersionListOut,
    VersionOut,
)
from knowledge.models import Article, Category, Visibility

TAGS = ["knowledge base"]


class VersionPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = VersionListOut(many=True)


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        summary="List categories",
        description="Every signed-in user sees every category; `article_count` counts the articles you may read.",
        responses={200: CategoryOut(many=True)},
        examples=[examples.CATEGORY_OUT],
    ),
    retrieve=extend_schema(
        tags=TAGS, summary="Show a category", responses={200: CategoryOut}, examples=[examples.CATEGORY_OUT]
    ),
    create=extend_schema(
        tags=TAGS,
        summary="Create a category (leads and admins)",
        description="Categories nest one level deep: `parent` must be a top-level category.",
        request=CategoryIn,
        responses={201: CategoryOut, **errors(403)},
        examples=[examples.CATEGORY_IN, examples.CATEGORY_OUT],
    ),
    partial_update=extend_schema(
        tags=TAGS,
        summary="Change a category (leads and admins)",
        request=CategoryPatchIn,
        responses={200: CategoryOut, **errors(403)},
        examples=[examples.CATEGORY_PATCH_IN, examples.CATEGORY_OUT],
    ),
    destroy=extend_schema(
        tags=TAGS,
        summary="Delete an empty category (leads and admins)",
        description="A category with articles or subcategories: 409 `category_in_use`.",
        responses={204: None, **errors(403, 409)},
    ),
)
class CategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Category.objects.none()
    permission_classes = [IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = CategoryFilter
    serializer_class = CategoryOut
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.categories_for(user=self.request.user).order_by("name", "id")

    def get_object(self) -> Category:
        return selectors.category_for(user=self.request.user, category_id=self.kwargs["pk"])

    def _shown(self, category: Category, status_code: int = status.HTTP_200_OK) -> Response:
        category = selectors.category_for(user=self.request.user, category_id=category.pk)
        return Response(CategoryOut(category).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = CategoryIn.validated(request.data)
        return self._shown(services.category_create(actor=request.user, **data), status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = CategoryPatchIn.validated(request.data)
        return self._shown(services.category_update(actor=request.user, category=self.get_object(), **data))

    def destroy(self, request, *args, **kwargs):
        services.category_delete(actor=request.user, category=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        tags=TAGS,
        summary="List the articles you may read",
        description=(
            "Employees read published articles for everyone; agents also those for agents; leads and admins "
            "every article, drafts and archived ones included. Filters never widen that."
        ),
        responses={200: ArticleListOut(many=True), **errors(400)},
        examples=[examples.ARTICLE_LIST_ITEM],
    ),
    retrieve=extend_schema(
        tags=TAGS,
        summary="Show an article",
        description="An article you may not read is a 404.",
        responses={200: ArticleOut},
        examples=[examples.ARTICLE_OUT],
    ),
    create=extend_schema(
        tags=TAGS,
        summary="Write a draft article (leads and admins)",
        description="Creates version 1. Publish it with `POST …/publish/`.",
        request=ArticleIn,
        responses={201: ArticleOut, **errors(403)},
        examples=[examples.ARTICLE_IN, examples.ARTICLE_OUT],
    ),
    partial_update=extend_schema(
        tags=TAGS,
        summary="Edit an article (leads and admins): a new version",
        description=(
            "Send the `version` you read. Any change of title, summary, body, category, tags or visibility "
            "stores a new immutable version (with `change_note`); a published article shows it at once. If "
            "the article changed since you read it: 409 `stale_version` and nothing changes."
        ),
        request=ArticlePatchIn,
        responses={200: ArticleOut, **errors(403, 409)},
        examples=[examples.ARTICLE_PATCH_IN, examples.ARTICLE_OUT],
    ),
    destroy=extend_schema(
        tags=TAGS,
        summary="Delete an article with its history (leads and admins)",
        description="Archiving (`POST …/archive/`) keeps it instead.",
        responses={204: None, **errors(403)},
    ),
)
class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Article.objects.none()
    permission_classes = [IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ArticleFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        articles = selectors.articles_for(user=self.request.user)
        if self.action == "list":
            return articles.select_related("category", "author").only(*LIST_COLUMNS)
        return articles

    def get_object(self) -> Article:
        return selectors.article_for(user=self.request.user, article_id=self.kwargs["pk"])

    def get_serializer_class(self):
        return ArticleListOut if self.action == "list" else ArticleOut

    def _shown(self, article: Article, status_code: int = status.HTTP_200_OK) -> Response:
        article = selectors.article_for(user=self.request.user, article_id=article.pk)
        return Response(ArticleOut(article, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = ArticleIn.validated(request.data)
        return self._shown(services.article_create(actor=request.user, **data), status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        data = ArticlePatchIn.validated(request.data)
        article = services.article_update(actor=request.user, article=self.get_object(), **data)
        return self._shown(article)

    def destroy(self, request, *args, **kwargs):
        services.article_delete(actor=request.user, article=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=TAGS,
        summary="Publish an article (leads and admins)",
        description=(
            "Draft or archived → published: readers of its visibility see it and search finds it; emits "
            "`article.published`. Already published: 409 `invalid_transition`."
        ),
        request=None,
        responses={200: ArticleOut, **errors(403, 409)},
        examples=[examples.ARTICLE_OUT],
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._shown(services.article_publish(actor=request.user, article=self.get_object()))

    @extend_schema(
        tags=TAGS,
        summary="Archive an article (leads and admins)",
        description="Only leads and admins see it afterwards; emits `article.archived`. Publish it again to restore.",
        request=None,
        responses={200: ArticleOut, **errors(403, 409)},
        examples=[examples.ARTICLE_OUT],
    )
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._shown(services.article_archive(actor=request.user, article=self.get_object()))

    @extend_schema(
        tags=TAGS,
        summary="Revert to an earlier version (leads and admins)",
        description="Makes a new version with the content of `version`; history is never rewritten.",
        request=RevertIn,
        responses={200: ArticleOut, **errors(403, 409)},
        examples=[examples.REVERT_IN, examples.ARTICLE_OUT],
    )
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        data = RevertIn.validated(request.data)
        article = services.article_revert(
            actor=request.user, article=self.get_object(), number=data["version"], change_note=data["change_note"]
        )
        return self._shown(article)

    @extend_schema(
        tags=TAGS,
        summary="The article's version history, newest first",
        description=(
            "Versions of an article you may read: readers see the versions that were published (a draft never "
            "is, nor a version saved while the article was for a higher role than theirs); leads and admins, "
            "who edit articles, see every version, `published_at` null for one that never went live."
        ),
        responses={200: VersionPageOut},
        examples=[examples.VERSION_PAGE],
    )
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        article = self.get_object()
        visible = selectors.versions_for(user=request.user, article=article)
        page = self.paginate_queryset(visible)
        changed = selectors.changed_fields(page=page, visible=visible)
        return self.get_paginated_response(VersionListOut(page, many=True, context={"changed": changed}).data)

    @extend_schema(
        tags=TAGS,
        summary="One version, with the diff to the version before it",
        operation_id="kb_articles_versions_detail",
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH, description="The version number.")],
        responses={200: VersionOut},
        examples=[examples.VERSION_OUT],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]+)")
    def version(self, request, pk=None, number=None):
        version, previous = selectors.version_for(user=request.user, article=self.get_object(), number=int(number))
        return Response(VersionOut(version, context={"previous": previous}).data)


class SearchPagination(PageNumberPagination):
    page_size = 10  # a results page people read: the best ten, with snippets (page_size up to 100)


@extend_schema(
    tags=TAGS,
    summary="Search the knowledge base",
    description=(
        "Ranked keyword search over titles, summaries, bodies and tags: articles with every word first, then by "
        "relevance, a title match above body matches; 10 hits a page unless `page_size` says otherwise (up to "
        "100). Only articles you may read are searched (published ones; "
        "leads and admins may ask for `status=draft` or `archived`). `title_html` and `snippet_html` are "
        "HTML-escaped with hits in `<mark>`."
    ),
    parameters=[SearchIn],
    responses={200: SearchHitOut(many=True), **errors(400)},
    examples=[examples.SEARCH_HIT],
)
class SearchView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = SearchHitOut
    filter_backends: list = []
    pagination_class = SearchPagination

    def list(self, request, *args, **kwargs):
        ratelimits.consume(request, scope="kb_search_user", key="user")
        params = SearchIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        results = selectors.search_hits_for(
            user=request.user,
            q=data["q"],
            status=data.get("status"),
            category=data.get("category"),
            tags=data.get("tags", []),
        )
        page = self.paginate_queryset(results)
        return self.get_paginated_response(SearchHitOut(page, many=True).data)


@extend_schema(
    tags=TAGS,
    summary="Tags of the articles you may read, with counts",
    parameters=[TagsQueryIn],
    responses={200: TagOut(many=True), **errors(400)},
    examples=[examples.TAG_OUT],
)
class TagListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = TagOut
    filter_backends: list = []

    def get_queryset(self):
        params = TagsQueryIn(data={k: v for k, v in self.request.query_params.items() if v})
        params.is_valid(raise_exception=True)
        return selectors.tags_for(user=self.request.user, status=params.validated_data.get("status"))


class DocumentUploadView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=TAGS,
        summary="Turn a document into a draft article (leads and admins)",
        description=(
            "Multipart, field `file`: a .md, .txt, .html, .pdf or .docx file. Checked like ticket attachments "
            "(size 413, type sniffed from the bytes 415, malware 422 `malware_detected`, scanner down 503), its "
            "text extracted, and a draft article made with the file kept as its `source` attachment. A damaged, "
            "encrypted or unreadable file is 422 `unreadable_document`; one without text 422 `empty_document`. "
            "Nothing is opened before it is measured: a .docx that unpacks to too much is 422 `archive_*` (as for "
            "attachments), a PDF of too many pages or decoded bytes 422 `pdf_too_many_pages` / `pdf_too_large`, a "
            "document with too much markup or text 422 `docx_too_complex`, `html_too_complex` or `document_too_long`."
        ),
        request={"multipart/form-data": DocumentIn},
        responses={201: ArticleOut, **errors(403, 422, 503)},
        examples=[examples.ARTICLE_OUT],
    )
    def post(self, request):
        ratelimits.consume(request, scope="kb_document_user", key="user")
        data = DocumentIn.validated(request.data)
        article = services.document_import(
            actor=request.user,
            uploaded=data["file"],
            title=data.get("title", ""),
            category=data.get("category"),
            tags=data.get("tags", []),
            visibility=data.get("visibility", Visibility.EVERYONE),
        )
        article = selectors.article_for(user=request.user, article_id=article.pk)
        return Response(ArticleOut(article, context={"request": request}).data, status=status.HTTP_201_CREATED)


AttachmentDownloadView = signed_download_view(
    kind=selectors.DOWNLOAD_KIND,
    find=lambda pk, attachment_id: selectors.attachment_for_download(article_id=pk, attachment_id=attachment_id),
    tag=TAGS[0],
    summary="Download an article's file through its signed link",
)
