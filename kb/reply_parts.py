"""Splitting a reply too long for its channel into numbered parts ("... 1/3"), each within the
channel's limit as the channel counts it (kb.rendering.reply_length, every part measured as a
reply to the customer, its number included).

Parts break between words only, so a URL, an @handle, a #hashtag or a word is never cut; among
the splits into the fewest parts, the one breaking most often at sentence ends is chosen. The
closing sign-off ("^SL") stays with the last words, on the last part. The function is pure:
the same text always gives the same parts, so a reply recorded whole can be split again."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.channels import channel_limit
from kb.rendering import SIGN_OFF, reply_length

_WORD = re.compile(r"\S+")
# A sentence ends with . ! ? or an ellipsis, maybe followed by a closing quote or bracket.
_SENTENCE_END = re.compile(r"(?:[.!?\u2026])[\"'\u201d\u2019)\]]*$")
# Parts a reply may be split into at most: past this, it is a letter, not a reply.
MAX_PARTS = 25


class Unsplittable(ValueError):
    """No split within the limit: a single word (with its number) is longer than the limit, or
    the reply would take more than MAX_PARTS parts."""


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    sentence_end: bool


def part_label(number: int, total: int) -> str:
    """The numbering appended to a part: ' 2/3'."""
    return f" {number}/{total}"


def reply_parts(text: str, *, channel: str, reply_to: str = "") -> list[str]:
    """The reply as the fewest numbered parts each within ``channel``'s limit; ``[text]`` when it
    fits already (or the channel has no limit). Raises Unsplittable when no split fits."""
    text = text.strip()
    limit = channel_limit(channel)
    if limit is None or reply_length(text, channel, reply_to=reply_to) <= limit:
        return [text]
    words = _words(text)
    glued = _glued_breaks(text, words)
    measure = _Measure(text, words, lambda part: reply_length(part, channel, reply_to=reply_to) <= limit)
    for total in range(2, min(len(words), MAX_PARTS) + 1):
        if any(measure.first_start(end, part_label(total, total)) == end for end in range(1, len(words) + 1)):
            break  # a word alone, with its number, is over the limit: more parts make no difference
        spans = _best_split(measure, glued, total)
        if spans is not None:
            return [
                text[start:end] + part_label(number, total) for number, (start, end) in enumerate(spans, 1)
            ]
    raise Unsplittable(f"No split into at most {MAX_PARTS} parts keeps every word whole within {limit}.")


def parts_needed(text: str, *, channel: str, reply_to: str = "") -> int | None:
    """How many parts the reply would take on ``channel``; None when it cannot be split."""
    try:
        return len(reply_parts(text, channel=channel, reply_to=reply_to))
    except Unsplittable:
        return None


def parts_joined(parts: list[str]) -> str:
    """The words of the parts, their numbers taken off, joined by single spaces."""
    total = len(parts)
    if total == 1:
        return parts[0]
    words = []
    for number, part in enumerate(parts, 1):
        label = part_label(number, total)
        if not part.endswith(label):
            raise ValueError(f"Part {number} does not end with {label.strip()!r}.")
        words.append(part[: -len(label)])
    return " ".join(words)


def _words(text: str) -> list[_Word]:
    return [
        _Word(found.start(), found.end(), bool(_SENTENCE_END.search(found.group())))
        for found in _WORD.finditer(text)
    ]


def _glued_breaks(text: str, words: list[_Word]) -> frozenset[int]:
    """Indexes of words no part may start with: the sign-off's, so it stays with the last words."""
    sign_off = SIGN_OFF.search(text)
    if sign_off is None:
        return frozenset()
    return frozenset(index for index, word in enumerate(words) if index > 0 and word.end > sign_off.start())


class _Measure:
    """Whether words[j:i] with a label of a given width fit, remembered: for each end and label
    width, the first word a part ending there may start at (a longer part is never shorter)."""

    def __init__(self, text: str, words: list[_Word], fits: Callable[[str], bool]) -> None:
        self.text, self.words, self.fits = text, words, fits
        self._first: dict[tuple[str, int], int] = {}

    def first_start(self, end: int, label: str) -> int:
        key = (label, end)
        if key not in self._first:
            start = end
            while start > 0 and self.fits(self._part(start - 1, end) + label):
                start -= 1
            self._first[key] = start
        return self._first[key]

    def _part(self, start: int, end: int) -> str:
        return self.text[self.words[start].start : self.words[end - 1].end]


def _best_split(measure: _Measure, glued: frozenset[int], total: int) -> list[tuple[int, int]] | None:
    """The split into exactly ``total`` parts breaking least often away from a sentence end,
    as (start, end) character spans; None when none fits."""
    words = measure.words
    count = len(words)
    unreachable = count + 1
    # cost[k][i]: fewest breaks not at a sentence end covering words[:i] in k parts.
    cost = [[unreachable] * (count + 1) for _ in range(total + 1)]
    back = [[-1] * (count + 1) for _ in range(total + 1)]
    cost[0][0] = 0
    for number in range(1, total + 1):
        label = part_label(number, total)
        for end in range(number, count - (total - number) + 1):
            for start in range(end - 1, measure.first_start(end, label) - 1, -1):
                if start in glued or cost[number - 1][start] >= unreachable:
                    continue
                soft = int(start > 0 and not words[start - 1].sentence_end)
                if cost[number - 1][start] + soft < cost[number][end]:
                    cost[number][end] = cost[number - 1][start] + soft
                    back[number][end] = start
    if cost[total][count] >= unreachable:
        return None
    spans = []
    end = count
    for number in range(total, 0, -1):
        start = back[number][end]
        spans.append((words[start].start, words[end - 1].end))
        end = start
    return spans[::-1]
