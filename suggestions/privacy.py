"""Personal data in a customer's text: found, named and replaced by placeholders before a mention
becomes an example phrasing (the learning loop, content gaps), and flagged when a public mention
shows it. Pure functions, no database.

What is found, in the order it is looked for (a span found once is not looked at again):

=========  =================  ==========================================================================
kind       placeholder        what counts
=========  =================  ==========================================================================
email      ``[email]``        ``local@domain.tld`` (letters, digits, ``. _ + -`` before the ``@``).
iban       ``[iban]``         2 letters, 2 check digits, 11-30 letters or digits, spaced in groups or
                              not, any case, whose ISO 13616 checksum and country length hold
                              (python-stdnum): ``GB82 WEST 1234 5698 7654 32``.
card       ``[card]``         13-19 digits, single spaces or dashes between them allowed, passing the
                              Luhn check (python-stdnum): ``4111 1111 1111 1111``. Also the last four
                              digits after "card", "visa", "mastercard", "amex", "debit" or "credit" and
                              then "ending (in/with)" or "last 4/four (digits)": "visa ending in 4242".
passport   ``[passport]``     6-9 letters or digits, at least one a digit, after the word "passport"
                              (and "number", "no", "#", "is", ...): "passport no: X1234567"; its
                              last four digits as for cards: "passport ending 4471".
booking    ``[booking code]`` After "booking", "confirmation", "conf", "PNR", "ref", "reference",
                              "locator", "reservation" or "order" (and "code", "number", "#", "is",
                              ...): 5-14 letters or digits with at least one digit, or six capitals
                              ("booking ref XK4J2P", "confirmation code: ABCDEF", "order #12345678").
                              Without such a word: six capitals and digits that switch between letters
                              and digits at least twice and do not read as a flight number (airline
                              code, 1-4 digits, optional letter): "K9X4PQ" and "8HG2KD" are codes,
                              "AA1234", "U21234", "9W1234", "737MAX" are not.
phone      ``[phone]``        A number Google's libphonenumber (``phonenumbers``) finds with leniency
                              VALID: international (``+44 20 7946 0958``, ``+1 415 555 2671``) from any
                              country, local forms of PHONE_REGIONS (``(415) 555-2671``,
                              ``020 7946 0958``). Its matcher leaves out dates, times, prices and
                              numbers no region assigns ("555-0123", "2024-05-12", "10:00-12:00").
=========  =================  ==========================================================================

Not redacted: names (the author's name and handle are the mention's own fields, and the
engine drops handles), postal addresses, flight numbers, dates, times, amounts, and local phone
numbers of regions outside PHONE_REGIONS written without their country code. A code of six
capitals and digits with only one switch between letters and digits ("ABC123") counts only
after a booking word: without one it cannot be told from flight numbers and product names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn

# Regions whose local phone forms are recognised (international forms are, from anywhere).
PHONE_REGIONS = ("US", "GB")

# kind -> (placeholder, what an agent is told it is), in the order kinds are named.
KINDS: dict[str, tuple[str, str]] = {
    "email": ("[email]", "e-mail address"),
    "card": ("[card]", "card number"),
    "iban": ("[iban]", "bank account number (IBAN)"),
    "passport": ("[passport]", "passport number"),
    "booking": ("[booking code]", "booking code"),
    "phone": ("[phone]", "phone number"),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # a domain label: letters, digits and inner hyphens
_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+@{_LABEL}(?:\.{_LABEL})*\.[^\W\d_]{{2,}}\b")
_IBAN = re.compile(r"(?<![^\W_])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.IGNORECASE)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?!\d)")


def _last_digits(words: str) -> re.Pattern[str]:
    """The last four digits of a number, after one of ``words``: "visa ending in 4242"."""
    return re.compile(
        rf"\b(?:{words})\b[^.!?\n\d]{{0,20}}?"
        r"\b(?:ending(?: in| with)?|last (?:4|four)(?: digits)?(?: are| is| of it)?)[\s:#]*(\d{4})\b",
        re.IGNORECASE,
    )


_CARD_ENDING = _last_digits("card|visa|mastercard|amex|debit|credit")
_PASSPORT_ENDING = _last_digits("passport")
# A context word, then words that only lead up to the value, then the value itself.
_FILLER = r"(?:[\s:#=.(-]{1,4}(?i:number|no|num|nr|code|id|is|was|are|reads))*[\s:#=.(-]{1,4}"
_WITH_DIGIT = r"(?=[A-Za-z]*\d)[A-Za-z0-9]"
_PASSPORT = re.compile(rf"(?i:\bpassport){_FILLER}({_WITH_DIGIT}{{6,9}})\b")
_BOOKING_WORDS = r"booking|confirmation|conf|pnr|ref|reference|record locator|locator|reservation|order"
_BOOKING = re.compile(rf"(?i:\b(?:{_BOOKING_WORDS})){_FILLER}({_WITH_DIGIT}{{5,14}}|[A-Z]{{6}})\b")
_BARE_CODE = re.compile(r"(?<![\w-])[A-Z0-9]{6}(?![\w-])")
_FLIGHT_NUMBER = re.compile(r"(?:[A-Z]{2}|[A-Z]\d|\d[A-Z])\d{1,4}[A-Z]?")
_SWITCH = re.compile(r"(?<=[A-Z])(?=\d)|(?<=\d)(?=[A-Z])")


def personal_data_find(text: str) -> list[Finding]:
    """The personal data in ``text``, as non-overlapping spans in reading order."""
    found: list[Finding] = []
    for kind, finder in _FINDERS:
        for start, end in finder(text):
            if not any(start < other.end and other.start < end for other in found):
                found.append(Finding(kind, start, end))
    return sorted(found, key=lambda finding: finding.start)


def personal_data_redact(text: str) -> str:
    """``text`` with each piece of personal data replaced by its kind's placeholder."""
    parts, last = [], 0
    for finding in personal_data_find(text):
        parts += [text[last : finding.start], KINDS[finding.kind][0]]
        last = finding.end
    return "".join([*parts, text[last:]])


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data ``text`` shows, each once, in the order of KINDS."""
    present = {finding.kind for finding in personal_data_find(text)}
    return [kind for kind in KINDS if kind in present]


def personal_data_describe(kinds: Iterable[str]) -> str:
    """What the kinds are, for an agent: "e-mail address, card number and phone number"."""
    labels = [KINDS[kind][1] for kind in kinds if kind in KINDS]
    if len(labels) < 2:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} and {labels[-1]}"


# ---- finders: each yields (start, end) spans ----------------------------------------------------


def _longest_valid(
    text: str, pattern: re.Pattern[str], valid: Callable[[str], bool]
) -> Iterator[tuple[int, int]]:
    """Each match of ``pattern`` cut back to its longest prefix that is ``valid`` and ends a word:
    a greedy match may have run on into the next word or number."""
    for match in pattern.finditer(text):
        start = match.start()
        for end in range(match.end(), start, -1):
            ends_word = text[end - 1].isalnum() and (end == len(text) or not text[end].isalnum())
            if ends_word and valid(text[start:end]):
                yield start, end
                break


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for match in _EMAIL.finditer(text):
        yield match.span()


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    return _longest_valid(text, _IBAN, iban.is_valid)


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _cards(text: str) -> Iterator[tuple[int, int]]:
    yield from _longest_valid(text, _CARD, _is_card)
    for match in _CARD_ENDING.finditer(text):
        yield match.span(1)


def _passports(text: str) -> Iterator[tuple[int, int]]:
    for pattern in (_PASSPORT, _PASSPORT_ENDING):
        for match in pattern.finditer(text):
            yield match.span(1)


def _booking_codes(text: str) -> Iterator[tuple[int, int]]:
    for match in _BOOKING.finditer(text):
        yield match.span(1)
    for match in _BARE_CODE.finditer(text):
        code = match.group()
        if len(_SWITCH.findall(code)) >= 2 and not _FLIGHT_NUMBER.fullmatch(code):
            yield match.span()


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for region in PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            yield match.start, match.end


# Looked for in this order: an e-mail address or IBAN holds digits a card or phone must not claim.
_FINDERS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    ("email", _emails),
    ("iban", _ibans),
    ("card", _cards),
    ("passport", _passports),
    ("booking", _booking_codes),
    ("phone", _phones),
)
