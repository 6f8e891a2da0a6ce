"""Agents' common edits: word-level diffs of suggested against sent replies, grouped per response."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from insights.edits import common_edits
from kb.models import Response
from suggestions.models import Feedback
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    SuggestionRequestFactory,
)

pytestmark = pytest.mark.django_db

SUGGESTED = "Jane, so sorry about the delay. Please DM us your booking code and we'll help right away."


def edited(
    response: Response, sent: str, *, suggested: str = SUGGESTED, name: str = "", handle: str = ""
) -> Feedback:
    """An agent was shown ``suggested`` for ``response`` and sent ``sent`` instead."""
    request = SuggestionRequestFactory(
        author_name=name,
        author_handle=handle,
        results=[
            {"response": response.key, "response_id": response.pk, "text": suggested, "confidence": 0.9}
        ],
    )
    return FeedbackFactory(request=request, response=response, action="edited", final_text=sent)


def operations(found, key: str) -> list[tuple[str, str, str, int]]:
    item = next(item for item in found if item.response_key == key)
    return [(edit.kind, edit.removed, edit.added, edit.count) for edit in item.common]


@pytest.fixture
def reply():
    return ResponseFactory(key="delay-dm")


def test_an_edit_that_recurs_is_reported_with_its_count_and_examples(reply):
    sent = [
        SUGGESTED.replace("DM us", "call us on 0800 123"),
        SUGGESTED.replace("DM us", "Call us on 0800 123"),  # the same edit, capitalised
        SUGGESTED.replace("DM us", "call us on 0800 123").replace("right away", "today"),
        SUGGESTED.replace("so sorry", "very sorry"),  # once only
    ]
    for text in sent:
        edited(reply, text)

    [found] = common_edits()

    assert found.response_key == "delay-dm"
    assert found.edited == 4
    [edit] = found.common
    assert (edit.kind, edit.removed, edit.added.lower(), edit.count) == (
        "replace",
        "DM us",
        "call us on 0800 123",
        3,
    )
    assert set(edit.examples) == set(sent[:3])
    assert edit.before.endswith("Please") and edit.after.startswith("your booking code")


def test_one_off_edits_and_edits_in_too_few_of_the_replies_are_not_reported(reply):
    for _ in range(3):
        edited(reply, SUGGESTED.replace("right away", "today"))
    for number in range(7):  # ten edited replies: three of them is under a third
        edited(reply, SUGGESTED.replace("booking code", f"booking code {number}"))

    assert common_edits() == []


def test_the_customers_own_name_or_handle_is_not_an_edit(reply):
    # A regular customer: three agents tagged her handle and named her again; nothing to revise.
    for _ in range(3):
        edited(
            reply, "@jane_doe " + SUGGESTED.replace("Jane,", "Jane Doe,"), name="Jane Doe", handle="jane_doe"
        )

    assert common_edits() == []


@pytest.mark.parametrize(
    ("suggested", "signed"),
    [
        (SUGGESTED + " ^", SUGGESTED + " ^{initials}"),  # shown unsigned (no agent named), then signed
        (SUGGESTED, SUGGESTED + " ^{initials}"),
        (SUGGESTED + " ^SL", SUGGESTED + " ^{initials}"),  # signed by another agent's initials
        (SUGGESTED + " -SL", SUGGESTED + " - {initials}"),
    ],
)
def test_the_agents_sign_off_is_not_an_edit(reply, suggested, signed):
    for initials in ("OO", "OO", "OO", "MJW"):  # one agent edits most of them
        edited(reply, signed.format(initials=initials), suggested=suggested)

    assert common_edits() == []


def test_an_edit_before_the_sign_off_is_still_found(reply):
    for initials in ("OO", "AB", "MJW"):
        sent = SUGGESTED.replace("right away", "today") + f" ^{initials}"
        edited(reply, sent, suggested=SUGGESTED + " ^")

    assert operations(common_edits(), "delay-dm") == [("replace", "right away", "today", 3)]


def test_an_edit_naming_each_customer_groups_across_customers(reply):
    suggested = "So sorry about the delay. Please DM us your booking code."
    for name in ("Jane", "Bob", "Carla"):
        edited(reply, f"Hi {name}! " + suggested, suggested=suggested, name=name)

    assert operations(common_edits(), "delay-dm") == [("insert", "", "Hi Jane!", 3)]


def test_only_recent_edits_of_the_brands_responses_count(reply):
    globex = BrandFactory(key="globex-bank", name="Globex", handle="@Globex")
    other = ResponseFactory(key="globex-reply", issue=IssueFactory(brand=globex))
    old = [edited(reply, SUGGESTED.replace("DM us", "email us")) for _ in range(3)]
    for _ in range(3):
        edited(other, SUGGESTED.replace("DM us", "email us"))
    Feedback.objects.filter(pk__in=[item.pk for item in old]).update(
        updated_at=timezone.now() - timedelta(days=40)
    )

    assert [item.response_key for item in common_edits(brand=reply.issue.brand)] == []
    assert [item.response_key for item in common_edits()] == ["globex-reply"]
    assert [item.response_key for item in common_edits(days=60)] == ["delay-dm", "globex-reply"]
