"""The personal data a customer's mention may show, and how it is redacted before a mention
becomes an example phrasing."""

from __future__ import annotations

import pytest

from suggestions.privacy import personal_data_describe, personal_data_kinds, personal_data_redact

REDACTED = [
    # E-mail addresses.
    ("write to jane.doe+air@example.co.uk please", "write to [email] please"),
    ("JANE_D@EXAMPLE.COM is my login", "[email] is my login"),
    # Phone numbers: international forms, and the local forms of the regions known.
    ("call me on +44 20 7946 0958 asap", "call me on [phone] asap"),
    ("my cell is (415) 555-2671", "my cell is [phone]"),
    ("ring 020 7946 0958 tonight", "ring [phone] tonight"),
    ("text 07911 123456", "text [phone]"),
    ("reach me at 415.555.2671", "reach me at [phone]"),
    ("+33 6 12 34 56 78 is my mobile", "[phone] is my mobile"),
    # Payment cards: 13-19 digits passing the Luhn check, with spaces or dashes.
    ("charged twice on 4111 1111 1111 1111!", "charged twice on [card]!"),
    ("card 5500-0000-0000-0004 declined", "card [card] declined"),
    ("amex 378282246310005", "amex [card]"),
    ("my visa ending in 4242 was charged", "my visa ending in [card] was charged"),
    ("the card ending 1881 got declined", "the card ending [card] got declined"),
    # IBANs, checksum-validated, grouped or not.
    ("refund to GB82 WEST 1234 5698 7654 32 please", "refund to [iban] please"),
    ("iban de89370400440532013000", "iban [iban]"),
    # Passport numbers follow the word "passport".
    ("my passport number is 123456789", "my passport number is [passport]"),
    ("Passport no: X1234567 expires soon", "Passport no: [passport] expires soon"),
    ("passport #C01X00T47", "passport #[passport]"),
    ("passport ending 4471, please fix my name", "passport ending [passport], please fix my name"),
    # Booking codes: after a booking word, or a six-character code mixing letters and digits.
    ("my booking reference is XK4J2P", "my booking reference is [booking code]"),
    ("confirmation code: ABCDEF", "confirmation code: [booking code]"),
    ("PNR xyz789 was cancelled", "PNR [booking code] was cancelled"),
    ("ref K9X4PQ, flight cancelled", "ref [booking code], flight cancelled"),
    ("order #12345678 never arrived", "order #[booking code] never arrived"),
    ("cancelled again, code Q7T2ZM", "cancelled again, code [booking code]"),
    ("rebook 8HG2KD today", "rebook [booking code] today"),
    # Several at once.
    (
        "I'm jane@example.com / +1 415 555 2671, booking AB12CD, card 4111111111111111",
        "I'm [email] / [phone], booking [booking code], card [card]",
    ),
]

KEPT = [
    # Flight numbers, times, dates, prices, counts and other numbers are not personal data.
    "flight AA1234 at 10:45 on 2024-05-12 was cancelled",
    "my flight 2417 left 12/05/2024 at 14:30",
    "easyJet U21234 and 9W1234 both delayed",
    "paid $1,299.00 for 2 bags",
    "gate B22 at 3pm, seat 14C, waited 1500 minutes",
    "the A320 had no wifi, flight BA 283",
    "year 2024 and 2025, call 555-0123",
    "I waited from 10:00-12:00 and 13:00-18:00",
    # A long number that fails the Luhn check is no card.
    "order 4111 1111 1111 1112 arrived broken",
    # An IBAN-looking string whose checksum fails.
    "code GB00 WEST 1234 5698 7654 32",
    # Words after booking words are words, and shouted words are no codes.
    "my booking was cancelled and the confirmation email never came",
    "the booking reference number please",
    "MY FLIGHT IS CANCELLED AGAIN HELP",
    "my passport expired 2 days ago",
    "COVID19 rules, an iPhone15 and a PS5 console",
    # The handles and links the engine drops anyway, and ordinary addresses without a local part.
    "@AcmeAir see acme.example/help",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_data_is_replaced_by_a_placeholder(text, expected):
    assert personal_data_redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_text_without_personal_data_is_kept_as_it_is(text):
    assert personal_data_redact(text) == text
    assert personal_data_kinds(text) == []


def test_the_kinds_found_are_named_once_each_in_a_fixed_order():
    text = "card 4111 1111 1111 1111, mail jane@example.com, also me@example.org"

    assert personal_data_kinds(text) == ["email", "card"]


def test_redacting_twice_changes_nothing_more():
    text = "booking AB12CD for jane@example.com, +44 20 7946 0958"

    once = personal_data_redact(text)

    assert personal_data_redact(once) == once
    assert personal_data_kinds(once) == []


def test_the_kinds_are_described_for_an_agent():
    assert personal_data_describe(["card"]) == "card number"
    described = personal_data_describe(["email", "card", "phone"])

    assert described == "e-mail address, card number and phone number"
