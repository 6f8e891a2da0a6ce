"""Departments in the admin: digest recipients are e-mail addresses, one per line."""

from __future__ import annotations

import pytest

from kb.departments import department_recipients
from kb.models import Department

pytestmark = pytest.mark.django_db

ADD = "/admin/kb/department/add/"


@pytest.fixture
def lead_client(client, editor):
    client.force_login(editor)
    return client


def test_a_lead_names_a_department_and_its_recipients(lead_client):
    answer = lead_client.post(
        ADD,
        {
            "name": "Baggage",
            "digest_recipients": " bags@example.com \n\nlead@example.com\nBAGS@example.com\n",
        },
    )

    assert answer.status_code == 302
    department = Department.objects.get()
    assert department.digest_recipients == "bags@example.com\nlead@example.com"
    assert department_recipients(department) == ["bags@example.com", "lead@example.com"]


def test_a_line_that_is_not_an_address_is_named(lead_client):
    answer = lead_client.post(
        ADD, {"name": "Baggage", "digest_recipients": "bags@example.com\nbaggage team\nlead@@example"}
    )

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors["digest_recipients"]
    assert "“baggage team”" in errors[0] and "“lead@@example”" in errors[0]
    assert not Department.objects.exists()


def test_a_department_needs_no_recipients(lead_client):
    assert lead_client.post(ADD, {"name": "Safety", "digest_recipients": ""}).status_code == 302
    assert department_recipients(Department.objects.get()) == []


def test_a_stored_bad_line_is_left_out_of_the_recipients():
    department = Department.objects.create(
        name="Billing", digest_recipients="billing@example.com\nnot an address"
    )
    assert department_recipients(department) == ["billing@example.com"]
