from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Knowledge base: articles, versions, categories, search and document upload."""

    name = "knowledge"
