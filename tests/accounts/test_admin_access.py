"""Who gets into the admin: a member of a library role (Editors, Authors) by joining it, without
anyone ticking "staff status"; agents, integrations and people in no group do not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory


def _user_in(group: str | None):
    user = UserFactory(username="pat", is_staff=False)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _sign_in(client):
    return client.post("/admin/login/?next=/admin/", {"username": "pat", "password": "password"})


@pytest.mark.parametrize("role", ["Editors", "Authors"])
def test_joining_a_library_role_opens_the_admin(db, client, role):
    _user_in(role)

    signed_in = _sign_in(client)
    index = client.get("/admin/")
    issues = client.get("/admin/kb/issue/")

    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert index.status_code == 200 and "Troubleshooting library" in index.content.decode()
    assert issues.status_code == 200


@pytest.mark.parametrize("role", ["Agents", "Integrations", None])
def test_other_people_do_not_get_the_admin(db, client, role):
    user = _user_in(role)

    refused = _sign_in(client)
    client.force_login(user)
    index = client.get("/admin/")

    assert refused.status_code == 200 and "Please enter the correct username" in refused.content.decode()
    assert index.status_code == 302 and index["Location"].startswith("/admin/login/")


def test_leaving_the_role_closes_the_admin(db, client):
    user = _user_in("Editors")
    client.force_login(user)
    assert client.get("/admin/").status_code == 200

    user.groups.clear()

    assert client.get("/admin/").status_code == 302


def test_an_inactive_member_does_not_get_in(db, client):
    user = _user_in("Editors")
    user.is_active = False
    user.save()
    client.force_login(user)

    assert client.get("/admin/").status_code == 302
