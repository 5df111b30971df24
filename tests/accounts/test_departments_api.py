"""/api/v1/departments/: everyone signed in reads; admins create, change and delete."""

import pytest

from accounts.models import Department
from tests.factories import DepartmentFactory
from tests.helpers import assert_problem, matrix

pytestmark = pytest.mark.django_db

URL = "/api/v1/departments/"

READ = [401, 200, 200, 200, 200, 200]
WRITE = [401, 403, 403, 403, 403, 201]
CHANGE = [401, 403, 403, 403, 403, 200]
DELETE = [401, 403, 403, 403, 403, 204]


@pytest.mark.parametrize("who,expected", matrix(READ))
def test_list_and_show_matrix(client_for, department, who, expected):
    client = client_for(who)
    assert client.get(URL).status_code == expected
    assert client.get(f"{URL}{department.pk}/").status_code == expected


@pytest.mark.parametrize("who,expected", matrix(WRITE))
def test_create_matrix(client_for, who, expected):
    response = client_for(who).post(URL, {"name": "Security", "description": "Phishing, malware."}, format="json")
    assert response.status_code == expected
    assert Department.objects.filter(name="Security").exists() is (expected == 201)


@pytest.mark.parametrize("who,expected", matrix(CHANGE))
def test_change_matrix(client_for, department, who, expected):
    response = client_for(who).patch(f"{URL}{department.pk}/", {"description": "Changed."}, format="json")
    assert response.status_code == expected
    department.refresh_from_db()
    assert (department.description == "Changed.") is (expected == 200)


@pytest.mark.parametrize("who,expected", matrix(DELETE))
def test_delete_matrix(client_for, people, who, expected):
    empty = DepartmentFactory(name="Empty")
    response = client_for(who).delete(f"{URL}{empty.pk}/")
    assert response.status_code == expected
    assert Department.objects.filter(pk=empty.pk).exists() is (expected != 204)


def test_a_department_with_members_cannot_be_deleted(client_for, department):
    assert_problem(client_for("admin").delete(f"{URL}{department.pk}/"), 409, "department_in_use")
    assert Department.objects.filter(pk=department.pk).exists()


def test_names_are_unique_whatever_the_case(client_for, department):
    response = client_for("admin").post(URL, {"name": "  NETWORK "}, format="json")
    assert "name" in assert_problem(response, 400)["errors"]


def test_unknown_department_is_a_problem_404(client_for, people):
    assert_problem(client_for("employee").get(f"{URL}{'f' * 24}/"), 404, "not_found")


def test_list_query_count_is_flat(client_for, people, django_assert_max_num_queries):
    DepartmentFactory.create_batch(30)
    with django_assert_max_num_queries(3):
        assert client_for("employee").get(URL, {"page_size": 100}).json()["count"] == 32


def test_find_a_department_by_name(client_for, department, other_department):
    results = client_for("employee").get(URL, {"name": "Network"}).json()["results"]
    assert [d["id"] for d in results] == [department.pk]
