from django.urls import path

from ai_assist.api import views

urlpatterns = [
    path("ai/route/", views.RouteView.as_view(), name="ai-route"),
    path("ai/similar/", views.SimilarView.as_view(), name="ai-similar"),
    path("ai/tickets/<str:ticket_id>/routing/", views.TicketRoutingView.as_view(), name="ai-ticket-routing"),
]
