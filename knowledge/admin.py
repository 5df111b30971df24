"""Django admin for the knowledge base: articles with their version history, categories.

Leads and admins write here as in the API; every change goes through knowledge.services, so a
save makes a version, checks `version` (a stale form is refused, not applied), and emits the same
events. Bulk actions publish, archive, and revert to a chosen (or the previous) version.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from helpdesk.admin import DeletesThroughService, TagsField, apply_each
from helpdesk.errors import DomainError
from knowledge import policies, services
from knowledge.models import Article, ArticleVersion, Category, Visibility

CONTENT = ("title", "summary", "body", "category", "tags", "visibility")


class RevertActionForm(ActionForm):
    version = forms.IntegerField(
        required=False, min_value=1, help_text="For “Revert to version…”: leave empty for the previous version."
    )


class ArticleForm(forms.ModelForm):
    tags = TagsField()
    change_note = forms.CharField(required=False, max_length=500, help_text="Why; shown in the history.")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Article
        fields = ("title", "slug", "summary", "body", "category", "tags", "visibility")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        if self.instance.pk:
            self.initial["version"] = self.instance.version
            self.initial["change_note"] = ""

    def validate_unique(self):
        pass  # the services decide about slugs (and say so as a message)


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    fields = ("number", "created_at", "published_at", "author", "title", "visibility", "change_note")
    readonly_fields = fields
    ordering = ("-number",)
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "version history (revert with the “Revert to version…” action)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    action_form = RevertActionForm
    actions = ["publish", "archive", "revert"]
    inlines = [ArticleVersionInline]
    list_display = ("title", "status", "visibility", "category", "version", "author", "updated_at")
    list_filter = ("status", "visibility", "category")
    list_select_related = ("category", "author")
    search_fields = ("title", "summary", "slug")
    ordering = ("-updated_at",)
    readonly_fields = ("status", "author", "published_at", "created_at", "updated_at", "updated_by", "source_files")
    fieldsets = (
        (None, {"fields": ("title", "slug", "summary", "body")}),
        ("Filing", {"fields": ("category", "tags", "visibility")}),
        ("This change", {"fields": ("change_note", "version")}),
        (
            "Record",
            {"fields": ("status", "author", "published_at", "created_at", "updated_at", "updated_by", "source_files")},
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(policies.visible_articles(request.user))

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and policies.can_write(request.user)

    def save_model(self, request, obj, form, change):
        """Create or edit through the services (a new version; `version` checked)."""
        data = form.cleaned_data
        content = {name: data[name] for name in CONTENT if name in data}
        content["visibility"] = int(content.get("visibility", Visibility.EVERYONE))
        try:
            if not change:
                article = services.article_create(
                    actor=request.user, slug=data.get("slug") or "", change_note=data.get("change_note", ""), **content
                )
                obj.pk = article.pk
                return
            current = Article.objects.select_related("category").get(pk=obj.pk)
            changes = {name: value for name, value in content.items() if name in form.changed_data}
            slug = data.get("slug") if "slug" in form.changed_data and data.get("slug") else None
            services.article_update(
                actor=request.user,
                article=current,
                version=data.get("version") or current.version,
                change_note=data.get("change_note", ""),
                slug=slug,
                **changes,
            )
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # versions are written by the services; the inline is read-only
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        services.article_delete(actor=request.user, article=obj)

    def delete_queryset(self, request, queryset):
        for article in queryset:
            services.article_delete(actor=request.user, article=article)

    @admin.display(description="Source files")
    def source_files(self, article: Article) -> str:
        if not article.attachments:
            return "None (written here or through the API)."
        return ", ".join(f"{a['name']} ({a['size']} bytes, {a['content_type']})" for a in article.attachments)

    # --- bulk actions -----------------------------------------------------------------------

    def _each(self, request, queryset, verb: str, change) -> None:
        apply_each(self, request, queryset.select_related("category"), verb=verb, noun="article", change=change)

    @admin.action(description="Publish")
    def publish(self, request, queryset):
        self._each(request, queryset, "Published", lambda a: services.article_publish(actor=request.user, article=a))

    @admin.action(description="Archive")
    def archive(self, request, queryset):
        self._each(request, queryset, "Archived", lambda a: services.article_archive(actor=request.user, article=a))

    @admin.action(description="Revert to version… (the number in the box, or the previous version)")
    def revert(self, request, queryset):
        number = RevertActionForm(request.POST).fields["version"].clean(request.POST.get("version") or None)

        def revert_one(article: Article) -> None:
            target = number or article.version - 1
            if target < 1:
                raise DomainError("It has only one version.")
            services.article_revert(actor=request.user, article=article, number=target)

        self._each(request, queryset, "Reverted", revert_one)


@admin.register(Category)
class CategoryAdmin(DeletesThroughService, admin.ModelAdmin):
    delete_noun = "category"
    list_display = ("name", "slug", "parent")
    list_filter = (("parent", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("name",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("name", "slug", "parent", "description")}
        try:
            if change:
                current = Category.objects.get(pk=obj.pk)
                changed = {name: value for name, value in fields.items() if name in form.changed_data}
                services.category_update(actor=request.user, category=current, **changed)
            else:
                obj.pk = services.category_create(actor=request.user, **fields).pk
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)

    def delete_through_service(self, request, obj):
        services.category_delete(actor=request.user, category=obj)
