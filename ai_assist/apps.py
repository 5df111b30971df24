from django.apps import AppConfig


class AiAssistConfig(AppConfig):
    """AI: embeddings, vector index, routing, reply drafts, RAG chat and the suggestion log."""

    name = "ai_assist"
