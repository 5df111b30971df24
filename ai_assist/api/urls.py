from django.urls import path

from ai_assist.api import agent_views, chat_views, review_views, views

urlpatterns = [
    path("ai/route/", views.RouteView.as_view(), name="ai-route"),
    path("ai/similar/", views.SimilarView.as_view(), name="ai-similar"),
    path("ai/tickets/<str:ticket_id>/routing/", views.TicketRoutingView.as_view(), name="ai-ticket-routing"),
    # The chatbot (ai_assist.api.chat_views)
    path("ai/chat/", chat_views.ChatView.as_view(), name="ai-chat"),
    path("ai/conversations/", chat_views.ConversationListView.as_view(), name="ai-conversations"),
    path(
        "ai/conversations/<str:conversation_id>/",
        chat_views.ConversationDetailView.as_view(),
        name="ai-conversation-detail",
    ),
    path(
        "ai/conversations/<str:conversation_id>/ticket/",
        chat_views.ConversationTicketView.as_view(),
        name="ai-conversation-ticket",
    ),
    # Agent tools and the review of the AI (ai_assist.api.agent_views, review_views)
    path("ai/tickets/<str:ticket_id>/draft-reply/", agent_views.DraftReplyView.as_view(), name="ai-draft-reply"),
    path("ai/tickets/<str:ticket_id>/summary/", agent_views.SummaryView.as_view(), name="ai-ticket-summary"),
    path("ai/suggestions/", review_views.SuggestionListView.as_view(), name="ai-suggestions"),
    path(
        "ai/suggestions/<str:suggestion_id>/feedback/",
        review_views.FeedbackView.as_view(),
        name="ai-suggestion-feedback",
    ),
    path("ai/stats/", review_views.StatsView.as_view(), name="ai-stats"),
    path("ai/kb-gaps/", review_views.GapListView.as_view(), name="ai-kb-gaps"),
    path("ai/kb-gaps/<str:gap_id>/draft/", review_views.GapDraftView.as_view(), name="ai-kb-gap-draft"),
]
