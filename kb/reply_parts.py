"""A reply too long for its channel as numbered parts, each within the channel's limit as the
channel counts it: kb.rendering.reply_length, every part measured as a reply to the customer
(their @handle counted when the channel counts it) with its " (k/N)" suffix.

Parts are filled greedily: each takes as many whole words as fit, which gives the fewest parts
for a given suffix width; since the width grows with N, N is tried upwards from 2 and the first
that fits is kept. Within that count a part ends at the last sentence end of its second half
when the rest still fits in the parts left, else after its last whole word. A word is cut only
when it cannot fit in a part of its own. The sign-off ("^SL") stays with the words before it.

The words' weights are measured once and summed: the channel's count is additive over text
separated by whitespace (a URL, an emoji or a composed character never spans a space), so a
5,000-character reply splits in milliseconds. The function is pure: the same reply always gives
the same parts."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from kb.channels import channel_limit
from kb.rendering import SIGN_OFF, URL_PATTERN, reply_length

_WORD = re.compile(r"\S+")
# A sentence ends with . ! ? an ellipsis or their CJK forms, maybe closed by a quote or bracket.
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


def part_suffix(number: int, total: int) -> str:
    """The numbering a part ends with: ' (2/3)'."""
    return f" ({number}/{total})"


def reply_parts(text: str, *, channel: str, reply_to: str = "") -> list[str]:
    """The reply as the fewest parts each within ``channel``'s limit, numbered " (k/N)";
    ``[text]`` (stripped) when it fits already or the channel has no limit. Whether the channel
    takes a chain of parts at all is kb.channels.channel_allows_threads."""
    text = text.strip()
    limit = channel_limit(channel)
    if limit is None or reply_length(text, channel, reply_to=reply_to) <= limit:
        return [text]
    split = _Split(text, channel, reply_to, limit)
    total = 2
    while split.last_number(_START, 1, total) > total:
        total += 1
    return [text[start:end] + part_suffix(number, total) for number, (start, end) in split.spans(total)]


_Cursor = tuple[int, int]  # (word, characters of it already in earlier parts)
_START: _Cursor = (0, 0)


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    sentence_end: bool


class _Split:
    """The reply's words with their weights, and the greedy fill of parts from any cursor."""

    def __init__(self, text: str, channel: str, reply_to: str, limit: int) -> None:
        self.text, self.channel, self.reply_to, self.limit = text, channel, reply_to, limit
        self.words = _words(text)
        # before[j]: the weight of words[:j] with the spaces between them; gap[i]: of the spaces
        # before word i; lead[i]: what the customer's @handle adds to a part opening with word i.
        self.before: list[int] = [0]
        self.gap: list[int] = []
        self.lead: list[int] = []
        previous_end = None
        for word in self.words:
            space = 0 if previous_end is None else reply_length(text[previous_end : word.start], channel)
            alone = reply_length(text[word.start : word.end], channel)
            as_reply = reply_length(text[word.start : word.end], channel, reply_to=reply_to)
            self.gap.append(space)
            self.before.append(self.before[-1] + space + alone)
            self.lead.append(as_reply - alone)
            previous_end = word.end

    def last_number(self, cursor: _Cursor, number: int, total: int) -> int:
        """The number of the last part the greedy fill takes from ``cursor`` to the end, the
        first numbered ``number`` of ``total``; ``total + 1`` once it would take more."""
        while cursor[0] < len(self.words) and number <= total:
            cursor = self.furthest(cursor, number, total)
            number += 1
        return number - 1 if cursor[0] == len(self.words) else total + 1

    def spans(self, total: int) -> list[tuple[int, tuple[int, int]]]:
        """The ``total`` parts as (number, (start, end)) character spans, each ending at the last
        sentence end of its second half when the parts left still take the rest."""
        spans: list[tuple[int, tuple[int, int]]] = []
        cursor = _START
        for number in range(1, total + 1):
            end = self.furthest(cursor, number, total)
            if number < total and end[1] == 0 and cursor[1] == 0:
                end = self._at_sentence_end(cursor, end, number, total)
            spans.append((number, self._span(cursor, end)))
            cursor = end
        return spans

    def furthest(self, cursor: _Cursor, number: int, total: int) -> _Cursor:
        """Where the longest part starting at ``cursor`` ends: after as many whole words as fit;
        inside a word only when that word cannot fit in a part of its own."""
        room = self.limit - len(part_suffix(number, total))
        index, taken = cursor
        start = self.words[index].start + taken
        if taken == 0:
            head = self.lead[index] + self._weight(index, index + 1)
        else:
            head = reply_length(
                self.text[start : self.words[index].end], self.channel, reply_to=self.reply_to
            )
        if head > room:
            cut = self._cut(start, index, taken, room)
            if cut is None:
                raise ValueError(f"Not even one character fits in a part within {self.limit}.")
            return cut
        # Whole words after the head while they fit: the words up to j add before[j] - before[index + 1].
        end = max(index + 1, bisect_right(self.before, room - head + self.before[index + 1]) - 1)
        if end < len(self.words) and self.lead[end] + self._weight(end, end + 1) > room:
            # The next word will be cut whatever happens: its first characters fill this part.
            return self._cut(start, end, 0, room) or (end, 0)
        return (end, 0)

    def _cut(self, start: int, index: int, taken: int, room: int) -> _Cursor | None:
        """The part from character ``start`` taking as much of word ``index`` (past its first
        ``taken`` characters) as fits, each character weighing at least one; not ending inside a
        URL that starts within the word. None when not one more character fits."""
        word = self.words[index]
        begin = word.start + taken

        def fits(characters: int) -> bool:
            part = self.text[start : begin + characters]
            return reply_length(part, self.channel, reply_to=self.reply_to) <= room

        more, over = 0, min(word.end - begin, room) + 1
        while over - more > 1:  # invariant: ``more`` characters fit (or none), ``over`` do not
            middle = (more + over) // 2
            more, over = (middle, over) if fits(middle) else (more, middle)
        for url in URL_PATTERN.finditer(self.text, begin, word.end):
            if url.start() < begin + more < url.end() and (url.start() > begin or start < begin):
                more = url.start() - begin
        if more == 0:
            return None
        return (index + 1, 0) if begin + more >= word.end else (index, taken + more)

    def _at_sentence_end(self, cursor: _Cursor, end: _Cursor, number: int, total: int) -> _Cursor:
        words, start = self.words, cursor[0]
        if words[end[0] - 1].sentence_end:
            return end
        half = self._weight(start, end[0]) / 2
        for last in range(end[0] - 1, start, -1):
            if self._weight(start, last) < half:
                break
            if words[last - 1].sentence_end:
                # Only the latest one: from an earlier break the rest would take no fewer parts.
                return (last, 0) if self.last_number((last, 0), number + 1, total) <= total else end
        return end

    def _weight(self, start: int, end: int) -> int:
        return self.before[end] - self.before[start] - self.gap[start]

    def _span(self, cursor: _Cursor, end: _Cursor) -> tuple[int, int]:
        words = self.words
        start = words[cursor[0]].start + cursor[1]
        stop = words[end[0]].start + end[1] if end[1] else words[end[0] - 1].end
        return start, stop


def _words(text: str) -> list[_Word]:
    """The words of the reply, the sign-off glued to the word before it so that it never opens
    a part of its own."""
    words = [
        _Word(found.start(), found.end(), bool(_SENTENCE_END.search(found.group())))
        for found in _WORD.finditer(text)
    ]
    sign_off = SIGN_OFF.search(text)
    if sign_off is None or not sign_off.group().strip():
        return words
    glued = [word for word in words if word.end <= sign_off.start()]
    if not glued:
        return words
    last = glued.pop()
    return [*glued, _Word(last.start, words[-1].end, False)]
