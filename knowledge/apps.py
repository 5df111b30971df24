from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Knowledge base: articles, versions, categories, search and document upload."""

    name = "knowledge"
    # Django admin for leads (accounts.policies collects every app's): they write the knowledge base.
    lead_admin_permissions = frozenset(
        {
            "knowledge.view_article",
            "knowledge.add_article",
            "knowledge.change_article",
            "knowledge.delete_article",
            "knowledge.view_articleversion",
            "knowledge.view_category",
            "knowledge.add_category",
            "knowledge.change_category",
            "knowledge.delete_category",
        }
    )

    def ready(self) -> None:
        from knowledge import personal_data

        personal_data.register()  # its part of a person's export (helpdesk.personal_data)
