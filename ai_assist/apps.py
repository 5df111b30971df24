from django.apps import AppConfig


class AiAssistConfig(AppConfig):
    """AI: embeddings, vector index, routing, reply drafts, RAG chat and the suggestion log."""

    name = "ai_assist"
    verbose_name = "AI assist"
    # Django admin for leads (accounts.policies collects every app's): the suggestions about their
    # department's tickets, read-only (ai_assist.admin narrows to them).
    lead_admin_permissions = frozenset({"ai_assist.view_suggestion", "ai_assist.view_suggestionfeedback"})

    def ready(self) -> None:
        from ai_assist import corrections, embeddings, personal_data, subscribers
        from helpdesk import startup

        # No server, and none of these commands, starts without an embedding model.
        startup.require_for_serving(
            embeddings.require, commands=("ai_eval", "reindex", "train_router", "import_tickets")
        )
        subscribers.connect()
        corrections.connect()
        personal_data.register()  # its part of a person's export and erasure (helpdesk.personal_data)
