"""Library health's conflicting examples as an editor works them: a summary first (how many, in
which issues), the worst first, and a move or a retirement one click away."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from insights.health import conflicts_by_pair, examples_conflicting
from kb.models import Example
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def resolve(client, example, action, **data):
    return client.post(
        reverse("insights:conflict-resolve", args=[example.pk]),
        {"action": action, "issue": example.issue_id, **data},
        follow=True,
    )


def test_conflicts_are_summed_by_issue_and_the_issue_they_lean_to(designed):
    [pair] = conflicts_by_pair(examples_conflicting().found)

    assert (pair.issue.key, pair.other_issue.key, pair.count) == (
        designed["baggage"].key,
        designed["delay"].key,
        1,
    )


def test_the_page_sums_the_conflicts_up_first_and_offers_a_move_and_a_retirement(
    designed,
    client,
    editor,
):
    client.force_login(editor)

    html = client.get(reverse("insights:health"), {"brand": "acme-air"}).content.decode()

    summary = html.index('id="conflicts-summary"')
    assert summary < html.index(designed["stray"].text)
    assert "1 example in 1 issue" in html
    assert f"Move to “{designed['delay'].title}”" in html
    assert reverse("insights:conflict-resolve", args=[designed["stray"].pk]) in html


def test_moving_an_example_gives_it_to_the_issue_it_is_closer_to(designed, client, editor):
    client.force_login(editor)
    stray = designed["stray"]

    answer = resolve(client, stray, "move")

    stray.refresh_from_db()
    assert stray.issue == designed["delay"]
    assert f"Moved “{stray.text}”" in answer.content.decode()
    assert stray.history.latest().history_user == editor


def test_retiring_an_example_takes_it_out_of_search(designed, client, editor):
    client.force_login(editor)
    stray = designed["stray"]

    resolve(client, stray, "retire")

    stray.refresh_from_db()
    assert (stray.status, stray.issue) == (Example.Status.RETIRED, designed["baggage"])


def test_an_example_someone_moved_meanwhile_is_not_moved_again(designed, client, editor):
    client.force_login(editor)
    stray = designed["stray"]
    other = designed["card"].issue
    Example.objects.filter(pk=stray.pk).update(issue=designed["baggage"])

    answer = resolve(client, stray, "move", issue=other.pk)

    stray.refresh_from_db()
    assert stray.issue == designed["baggage"]
    assert "changed since the report" in answer.content.decode()


def test_someone_who_sees_insights_but_may_not_edit_examples_cannot_move_them(designed, client):
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_suggestionrequest"))
    client.force_login(reader)

    answer = client.post(
        reverse("insights:conflict-resolve", args=[designed["stray"].pk]), {"action": "retire"}
    )

    assert answer.status_code == 403
    designed["stray"].refresh_from_db()
    assert designed["stray"].status == Example.Status.ACTIVE


def test_an_unknown_action_is_refused_naming_it(designed, client, editor):
    client.force_login(editor)

    answer = resolve(client, designed["stray"], "delete")

    assert answer.status_code == 400
    assert "action" in answer.content.decode()
