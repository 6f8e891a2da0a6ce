"""Replies as agents send them, measured the way each channel counts."""

from __future__ import annotations

import pytest

from kb.channels import channel_limit
from kb.rendering import ReplyContext, as_handle, initials_of, render_reply, reply_length

# ---- Twitter's weighted length --------------------------------------------------------------------


def test_plain_text_counts_one_per_character():
    assert reply_length("Sorry about that!", "twitter") == 17


@pytest.mark.parametrize(
    "url",
    [
        "https://t.co/x1",
        "http://a.co",
        "www.acme.com",
        "https://www.acme-air.example.com/help/rebooking/cancelled-flights?booking=ABC123&lang=en",
        "HTTPS://ACME.COM/HELP",
    ],
)
def test_each_url_counts_23_whatever_its_real_length(url):
    assert reply_length(f"See {url} now", "twitter") == len("See ") + 23 + len(" now")


def test_two_urls_count_23_each():
    text = "https://a.co/1 or https://acme.example.com/a/very/long/path/indeed"

    assert reply_length(text, "twitter") == 23 + len(" or ") + 23


def test_punctuation_closing_a_sentence_after_a_url_still_counts():
    assert reply_length("See https://acme.com/help.", "twitter") == len("See ") + 23 + 1
    assert reply_length("Go to www.acme.com, then log in!", "twitter") == (
        len("Go to ") + 23 + len(", then log in!")
    )


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f600",  # grinning face
        "\U0001f44d\U0001f3fd",  # thumbs up, medium skin tone
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family: man, woman, girl, boy
        "\U0001f1ef\U0001f1f5",  # flag of Japan
        "\u2764\ufe0f",  # red heart with presentation selector
    ],
)
def test_an_emoji_counts_two_however_many_code_points_it_has(emoji):
    assert reply_length(f"Thanks {emoji}", "twitter") == len("Thanks ") + 2


def test_cjk_characters_count_two_each():
    assert reply_length("ありがとう", "twitter") == 10
    assert reply_length("谢谢 Sam", "twitter") == 4 + 4


def test_accented_latin_counts_one_even_when_decomposed():
    assert reply_length("Jose\u0301", "twitter") == 4  # e + combining acute is one character (NFC)


def test_the_leading_handle_and_one_space_are_counted():
    assert reply_length("Sorry!", "twitter", reply_to="@jane") == len("@jane ") + len("Sorry!")


def test_leading_handle_is_counted_with_its_at_sign_even_when_given_without():
    assert reply_length("Sorry!", "twitter", reply_to="jane") == len("@jane Sorry!")


def test_exactly_280_fits_and_281_does_not():
    context = ReplyContext(handle="@jane")
    fits = "x" * (280 - len("@jane "))

    at_limit = render_reply(fits, context, "twitter")
    over = render_reply(fits + "y", context, "twitter")

    assert (at_limit.length, at_limit.limit, at_limit.fits_channel) == (280, 280, True)
    assert (over.length, over.fits_channel) == (281, False)


def test_a_long_url_does_not_push_a_reply_over_the_limit():
    text = "x" * (280 - 24) + " https://example.com/" + "p" * 200

    assert render_reply(text, ReplyContext(), "twitter").fits_channel


def test_emoji_push_a_reply_over_the_limit_sooner_than_letters():
    text = "x" * 279 + "\U0001f600"

    rendered = render_reply(text, ReplyContext(), "twitter")

    assert rendered.length == 281
    assert not rendered.fits_channel


def test_other_channels_count_plain_characters_without_the_handle():
    assert reply_length("Sorry \U0001f600 https://acme.com/a/long/path", "facebook", reply_to="@jane") == len(
        "Sorry \U0001f600 https://acme.com/a/long/path"
    )


# ---- channel limits -------------------------------------------------------------------------------


def test_email_has_no_length_limit():
    rendered = render_reply("x" * 20_000, ReplyContext(handle="@jane"), "email")

    assert rendered.limit is None
    assert rendered.fits_channel


def test_any_channel_must_fit_the_strictest_channel():
    assert channel_limit("any") == channel_limit("twitter") == 280
    assert not render_reply("x" * 281, ReplyContext(), "any").fits_channel


def test_any_channel_counts_like_twitter():
    assert (
        reply_length("\U0001f600 https://acme.com/x", "any", reply_to="@jane") == len("@jane ") + 2 + 1 + 23
    )


@pytest.mark.parametrize(("channel", "limit"), [("facebook", 8000), ("instagram", 2200), ("twitter", 280)])
def test_each_channel_has_its_limit(channel, limit):
    assert channel_limit(channel) == limit
    assert render_reply("x" * limit, ReplyContext(), channel).fits_channel
    assert not render_reply("x" * (limit + 1), ReplyContext(), channel).fits_channel


# ---- agent initials and handles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "initials"),
    [("Sam Lee", "SL"), ("Mary-Jane Watson", "MJW"), ("  sam   lee ", "SL"), ("Cher", "C"), ("", "")],
)
def test_initials_are_derived_from_the_agent_name(name, initials):
    assert initials_of(name) == initials


def test_reply_signs_with_initials_derived_from_the_agent_name():
    rendered = render_reply(
        "Sorry! ^{{ agent_initials }}", ReplyContext(agent_name="Mary-Jane Watson"), "email"
    )

    assert rendered.text == "Sorry! ^MJW"


def test_explicit_agent_initials_win_over_the_name():
    context = ReplyContext(agent_name="Sam Lee", agent_initials="SAM")

    assert render_reply("^{{ agent_initials }}", context, "email").text == "^SAM"


@pytest.mark.parametrize(
    ("value", "handle"), [("jane", "@jane"), ("@jane", "@jane"), (" jane ", "@jane"), ("", "")]
)
def test_handles_are_normalised_with_a_leading_at(value, handle):
    assert as_handle(value) == handle


def test_reply_shows_customer_and_brand_handles_with_a_leading_at():
    context = ReplyContext(handle="jane", brand_handle="AcmeAir")

    rendered = render_reply("{{ handle }} please DM {{ brand_handle }}", context, "email")

    assert rendered.text == "@jane please DM @AcmeAir"


def test_rendered_reply_length_includes_the_customer_handle_on_twitter():
    context = ReplyContext(customer_name="Jane", handle="jane")

    rendered = render_reply("Hi {{ customer_name }}", context, "twitter")

    assert rendered.text == "Hi Jane"
    assert rendered.length == len("@jane Hi Jane")


# ---- Sign-offs and first names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "Sorry about that. ^{{ agent_initials }}",
        "Sorry about that. -{{ agent_initials }}",
        "Sorry about that. \u2013 {{ agent_initials }}",
        "Sorry about that.\n^{{ agent_initials }}",
    ],
)
def test_a_sign_off_without_initials_disappears_with_its_separator(template):
    reply = render_reply(template, ReplyContext(customer_name="Dana"), "twitter")

    assert reply.text == "Sorry about that."
    assert reply.length == len("Sorry about that.")


def test_a_sign_off_with_initials_keeps_its_separator():
    context = ReplyContext(agent_name="Sam Lee")

    reply = render_reply("Sorry about that. ^{{ agent_initials }}", context, "twitter")

    assert reply.text == "Sorry about that. ^SL"


def test_a_separator_that_is_not_a_sign_off_stays():
    reply = render_reply("Fares start at 5^2 dollars ^ {{ handle }}", ReplyContext(handle="dana"), "email")

    assert reply.text == "Fares start at 5^2 dollars ^ @dana"


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Dana Whitfield", "Dana"),
        ("  Dana   Whitfield ", "Dana"),
        ("Dr. Dana Whitfield", "Dana"),
        ("mrs Jo March", "Jo"),
        ("Mary-Jane Watson", "Mary-Jane"),
        ("Dana", "Dana"),
        ("Dr.", "Dr."),
        ("", ""),
    ],
)
def test_the_first_name_is_the_first_word_of_the_name_after_a_title(name, first):
    template = "Hi {{ customer_first_name|default:'there' }}"

    reply = render_reply(template, ReplyContext(customer_name=name), "email")

    assert reply.text == f"Hi {first or 'there'}"
