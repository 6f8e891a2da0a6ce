"""Response targets in the admin: refusals on their fields, brand scope, and open mentions that
move once a target changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from console.models import Mention, ResponseTarget
from tests.factories import BrandFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/console/responsetarget/add/"
LIST = "/admin/console/responsetarget/"


def change_url(target: ResponseTarget) -> str:
    return f"/admin/console/responsetarget/{target.pk}/change/"


def delete_url(target: ResponseTarget) -> str:
    return f"/admin/console/responsetarget/{target.pk}/delete/"


@pytest.fixture
def acme():
    return BrandFactory(key="acme-air", name="Acme Air", handle="@AcmeAir")


@pytest.fixture
def globex():
    return BrandFactory(key="globex", name="Globex", handle="@Globex")


@pytest.fixture
def lead_client(client, editor):
    client.force_login(editor)
    return client


def form(**fields):
    values = {
        "brand": "",
        "channel": "twitter",
        "first_response_minutes": "30",
        "resolution_minutes": "",
        "weekdays": "0123456",
        "opens_at": "",
        "closes_at": "",
        "time_zone": "UTC",
    }
    return values | {name: str(value) for name, value in fields.items()}


def refused(answer, field):
    assert answer.status_code == 200, answer.status_code
    errors = answer.context["adminform"].form.errors
    assert field in errors, errors
    return " ".join(errors[field])


def test_a_lead_sets_a_target_with_business_hours(lead_client, acme):
    answer = lead_client.post(
        ADD,
        form(brand=acme.pk, weekdays="01234", opens_at="09:00", closes_at="17:00", time_zone="Europe/Berlin"),
    )

    assert answer.status_code == 302, answer.context["adminform"].form.errors
    target = ResponseTarget.objects.get()
    assert (target.brand, target.channel, target.weekdays) == (acme, "twitter", "01234")
    listing = lead_client.get(LIST).content.decode()
    assert "Mon-Fri 09:00-17:00" in listing


def test_an_unknown_time_zone_is_refused_on_its_field(lead_client):
    assert "Europe/Atlantis" in refused(lead_client.post(ADD, form(time_zone="Europe/Atlantis")), "time_zone")
    assert not ResponseTarget.objects.exists()


def test_opening_hours_need_both_ends(lead_client):
    assert "closing time" in refused(lead_client.post(ADD, form(opens_at="09:00")), "closes_at")
    assert "opening time" in refused(lead_client.post(ADD, form(closes_at="17:00")), "opens_at")


@pytest.mark.parametrize(
    ("weekdays", "words"), [("0129", "not 9"), ("0112", "1 is repeated"), ("mon", "not")]
)
def test_weekdays_are_digits_without_repeats(lead_client, weekdays, words):
    assert words in refused(lead_client.post(ADD, form(weekdays=weekdays)), "weekdays")


def test_a_second_target_for_the_same_brand_and_channel_is_a_form_error(lead_client, acme):
    ResponseTarget.objects.create(brand=acme, channel="twitter", first_response_minutes=60)

    message = refused(lead_client.post(ADD, form(brand=acme.pk)), "channel")

    assert "already a target for Acme Air" in message
    assert ResponseTarget.objects.count() == 1


def test_a_second_default_for_a_channel_is_a_form_error(lead_client):
    ResponseTarget.objects.create(brand=None, channel="twitter", first_response_minutes=60)

    message = refused(lead_client.post(ADD, form()), "channel")

    assert "already a target for every brand" in message


def test_editing_a_target_keeps_its_own_scope(lead_client, acme):
    target = ResponseTarget.objects.create(brand=acme, channel="twitter", first_response_minutes=60)

    answer = lead_client.post(change_url(target), form(brand=acme.pk, first_response_minutes=15))

    assert answer.status_code == 302
    target.refresh_from_db()
    assert target.first_response_minutes == 15


def test_a_lead_of_one_brand_sets_targets_for_that_brand_only(client, acme, globex):
    lead = UserFactory(username="lena")
    lead.groups.add(Group.objects.get(name="Editors"))
    acme.members.add(lead)
    client.force_login(lead)
    theirs = ResponseTarget.objects.create(brand=globex, channel="twitter", first_response_minutes=60)

    assert "valid choice" in refused(client.post(ADD, form(brand=globex.pk)), "brand")
    assert "required" in refused(client.post(ADD, form()), "brand")
    assert client.get(change_url(theirs)).status_code in (302, 403, 404)
    assert client.post(ADD, form(brand=acme.pk)).status_code == 302


def mention(external_id, *, received_at, **fields):
    return Mention.objects.create(
        text="@AcmeAir where is my bag",
        external_id=external_id,
        channel=fields.pop("channel", "twitter"),
        received_at=received_at,
        **fields,
    )


# A Saturday noon: under Monday-to-Friday hours the clock waits for Monday.
SATURDAY_NOON = datetime(2026, 3, 7, 12, tzinfo=UTC)
MONDAY_OPENING = datetime(2026, 3, 9, 9, tzinfo=UTC)


def test_saving_a_target_gives_its_open_mentions_new_deadlines(
    lead_client, acme, globex, django_capture_on_commit_callbacks
):
    waiting = mention("waiting", received_at=SATURDAY_NOON, brand=acme)
    answered = mention("answered", received_at=SATURDAY_NOON, brand=acme, status=Mention.Status.ANSWERED)
    elsewhere = mention("elsewhere", received_at=SATURDAY_NOON, brand=globex)

    with django_capture_on_commit_callbacks(execute=True):
        answer = lead_client.post(
            ADD, form(brand=acme.pk, weekdays="01234", opens_at="09:00", closes_at="17:00")
        )
    assert answer.status_code == 302

    waiting.refresh_from_db()
    assert waiting.due_at == MONDAY_OPENING + timedelta(minutes=30)
    assert waiting.priority_at is not None
    answered.refresh_from_db()
    elsewhere.refresh_from_db()
    assert answered.due_at is None
    assert elsewhere.due_at is None


def test_deleting_a_target_puts_its_mentions_back_under_the_default(
    lead_client, acme, settings, django_capture_on_commit_callbacks
):
    settings.CARELINE_RESPONSE_TARGET_MINUTES = 45
    with django_capture_on_commit_callbacks(execute=True):
        target = ResponseTarget.objects.create(
            brand=acme, channel="twitter", first_response_minutes=10, weekdays="01234"
        )
        waiting = mention("waiting", received_at=SATURDAY_NOON, brand=acme)

    with django_capture_on_commit_callbacks(execute=True):
        answer = lead_client.post(delete_url(target), {"post": "yes"})
    assert answer.status_code == 302

    waiting.refresh_from_db()
    assert waiting.due_at == SATURDAY_NOON + timedelta(minutes=45)


def test_moving_a_target_to_another_channel_retriages_both(
    lead_client, acme, django_capture_on_commit_callbacks
):
    target = ResponseTarget.objects.create(brand=acme, channel="twitter", first_response_minutes=10)
    on_twitter = mention("tw", received_at=SATURDAY_NOON, brand=acme)
    on_facebook = mention("fb", received_at=SATURDAY_NOON, brand=acme, channel="facebook")

    with django_capture_on_commit_callbacks(execute=True):
        moved = form(brand=acme.pk, channel="facebook", first_response_minutes=20)
        lead_client.post(change_url(target), moved)

    on_twitter.refresh_from_db()
    on_facebook.refresh_from_db()
    assert on_facebook.due_at == SATURDAY_NOON + timedelta(minutes=20)
    assert on_twitter.due_at == SATURDAY_NOON + timedelta(minutes=60)  # the setting's default
