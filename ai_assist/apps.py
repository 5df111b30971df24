from django.apps import AppConfig


class AiAssistConfig(AppConfig):
    """AI: embeddings, vector index, routing, reply drafts, RAG chat and the suggestion log."""

    name = "ai_assist"
    verbose_name = "AI assist"

    def ready(self) -> None:
        from ai_assist import subscribers

        subscribers.connect()
