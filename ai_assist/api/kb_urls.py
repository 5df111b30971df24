"""Knowledge-base routes that the AI serves: mounted by helpdesk/urls.py before knowledge's own,
so `from-ticket` is not read as an article id (knowledge never imports tickets: decisions/0013)."""

from django.urls import path

from ai_assist.api import agent_views

urlpatterns = [
    path("kb/articles/from-ticket/", agent_views.ArticleFromTicketView.as_view(), name="kb-article-from-ticket"),
]
