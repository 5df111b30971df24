"""A plain DRF ModelViewSet with a ModelSerializer: the project's defaults for everything else.

Authentication (JWT, session), the permission (IsAuthenticated), throttles, filter backends and
pagination (helpdesk.api.pagination.PageNumberPagination, 25 a page) all come from REST_FRAMEWORK,
exactly as for the real API. Only `list` is routed.
"""

from rest_framework import serializers, viewsets

from bench.plain.models import PlainRow


class PlainRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlainRow
        fields = ["id", "title", "status", "priority", "requester_email", "created_at", "updated_at"]


class PlainRowViewSet(viewsets.ModelViewSet):
    queryset = PlainRow.objects.all()
    serializer_class = PlainRowSerializer


plain_list = PlainRowViewSet.as_view({"get": "list"})
