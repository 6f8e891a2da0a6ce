"""Turning a response template into the reply an agent sends, measured as its channel counts it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

import emoji

from kb.channels import Channel, channel_limit
from kb.templating import render_response_template

# Punctuation closing a sentence or a bracket after a URL is not part of it (as twitter-text has it).
URL_PATTERN = re.compile(r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,:;!?')\]]", re.IGNORECASE)
TWITTER_URL_LENGTH = 23
_HANDLE_CHARACTER = re.compile(r"\w")
# twitter-text v3: code points in these ranges weigh 1, everything else (CJK, ...) weighs 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# Titles a display name may open with; the first name is the word after them.
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame"})
# A reply's closing sign-off: a separator and an agent's initials ("^SL", "- MJW"), or the
# separator alone, as "^{{ agent_initials }}" renders when no agent is named.
_SIGN_OFF_SEPARATOR = r"[\^~/\-\u2013\u2014]+"
_DANGLING_SIGN_OFF = re.compile(rf"\s*{_SIGN_OFF_SEPARATOR}\s*$")
SIGN_OFF = re.compile(rf"\s*{_SIGN_OFF_SEPARATOR}\s*[A-Z]{{0,4}}\s*$")


@dataclass(frozen=True)
class ReplyContext:
    """What a response template may know about the conversation."""

    customer_name: str = ""
    handle: str = ""
    agent_name: str = ""
    agent_initials: str = ""
    brand_name: str = ""
    brand_handle: str = ""

    def variables(self) -> dict[str, str]:
        values = asdict(self)
        values["handle"] = as_handle(self.handle)
        values["brand_handle"] = as_handle(self.brand_handle)
        values["agent_initials"] = self.agent_initials or initials_of(self.agent_name)
        values["customer_first_name"] = first_name_of(self.customer_name)
        return values


# Shown to editors when no real conversation is at hand: a realistic, fairly long name.
SAMPLE_CONTEXT = ReplyContext(
    customer_name="Alexandra",
    handle="@alexandra_travels",
    agent_name="Sam Lee",
    brand_name="Acme Air",
    brand_handle="@AcmeAir",
)


@dataclass(frozen=True)
class RenderedReply:
    text: str
    length: int
    limit: int | None
    fits_channel: bool


def as_handle(value: str) -> str:
    value = value.strip()
    return f"@{value}" if value and not value.startswith("@") else value


def initials_of(name: str) -> str:
    """'Sam Lee' -> 'SL', 'Mary-Jane Watson' -> 'MJW'."""
    return "".join(part[0] for part in re.split(r"[\s\-]+", name.strip()) if part).upper()


def first_name_of(name: str) -> str:
    """'Dana Whitfield' -> 'Dana', 'Dr. Dana Whitfield' -> 'Dana'; a lone title stays as it is."""
    words = name.split()
    while len(words) > 1 and words[0].rstrip(".").lower() in _TITLES:
        words = words[1:]
    return words[0] if words else ""


def without_sign_off(text: str) -> str:
    """The reply without its closing sign-off: the words an editor wrote, whoever signs them."""
    return SIGN_OFF.sub("", text)


def reply_length(text: str, channel: str, reply_to: str = "") -> int:
    """Length of a reply as the channel counts it. On Twitter a URL counts 23, an emoji 2, CJK
    characters 2, and the leading @handle of the reply is included (once: a reply that already
    starts with it, in any case, is not given it again)."""
    if channel not in (Channel.TWITTER, Channel.ANY):
        return len(text)
    prefix = f"{as_handle(reply_to)} " if reply_to and not starts_with_handle(text, reply_to) else ""
    return _twitter_weighted_length(prefix + text)


def starts_with_handle(text: str, handle: str) -> bool:
    """Whether ``text`` opens with ``handle`` (not with a longer one that begins like it)."""
    handle = as_handle(handle).lower()
    return bool(handle) and text.lower().startswith(handle) and not _HANDLE_CHARACTER.match(text, len(handle))


def render_reply(text: str, context: ReplyContext, channel: str) -> RenderedReply:
    """Render a response template for a conversation and check it against the channel's limit."""
    variables = context.variables()
    rendered = render_response_template(text, variables)
    if not variables["agent_initials"] and "agent_initials" in text:
        rendered = _DANGLING_SIGN_OFF.sub("", rendered)
    length = reply_length(rendered, channel, reply_to=context.handle)
    limit = channel_limit(channel)
    return RenderedReply(rendered, length, limit, limit is None or length <= limit)


def _twitter_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    length = 0
    position = 0
    for url in URL_PATTERN.finditer(text):
        length += _weigh(text[position : url.start()]) + TWITTER_URL_LENGTH
        position = url.end()
    return length + _weigh(text[position:])


def _weigh(text: str) -> int:
    if text.isascii():  # no emoji, every character light: most replies, without the scans below
        return len(text)
    weight = 0
    position = 0
    for found in emoji.emoji_list(text):
        weight += _weigh_characters(text[position : found["match_start"]]) + 2
        position = found["match_end"]
    return weight + _weigh_characters(text[position:])


def _weigh_characters(text: str) -> int:
    return sum(1 if any(low <= ord(char) <= high for low, high in _LIGHT_RANGES) else 2 for char in text)
