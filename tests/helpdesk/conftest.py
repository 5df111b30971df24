import pytest
import yaml


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    """The OpenAPI document as the API serves it (/api/schema/), parsed."""
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)
