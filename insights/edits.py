"""What agents keep changing in a response before they send it: the recurring edits, found by a
word-level diff between the reply as suggested and the reply as sent, so editors can revise the
approved text.

An edit operation is a run of words replaced, inserted or deleted, compared case-insensitively.
The customer's name and handle (as the mention gave them) are not edits: an operation made only
of them is ignored, and inside a longer one they stand for any customer. Neither is the agent's
closing sign-off ("^SL"): it is left out of both replies before comparing. An operation recurs when
it is in at least MIN_EDITS of a response's edited replies and at least MIN_SHARE of them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from fractions import Fraction
from typing import Any

from django.utils import timezone

from insights.health import DEFAULT_USAGE_DAYS, IssueRef, serves_brand
from kb.models import Brand, Response
from kb.rendering import without_sign_off
from suggestions.models import Feedback

MIN_EDITS = 3
MIN_SHARE = Fraction(1, 3)
EXAMPLES_SHOWN = 3
CONTEXT_WORDS = 5
MERGE_GAP = 1  # kept words between two changes that still make them one edit
# A handle, a word (with its apostrophes: "we'll"), or a run of punctuation.
TOKEN = re.compile(r"@?\w+(?:['\u2019]\w+)*|[^\w\s]+")
CUSTOMER = "{customer}"

EditKey = tuple[str, tuple[str, ...], tuple[str, ...]]  # kind, words removed, words added


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class CommonEdit:
    """One recurring edit of a response, as it looked the first time it was seen in the period."""

    kind: str  # "replace", "insert" or "delete"
    removed: str  # the words taken out of the suggested reply; empty for an insertion
    added: str  # the words the agent put in; empty for a deletion
    before: str  # the suggested reply's words just before the edit
    after: str  # and just after it
    count: int  # edited replies with this operation
    share: float  # of the response's edited replies
    examples: list[str] = field(default_factory=list)  # replies as sent


@dataclass(frozen=True)
class ResponseEdits:
    response_id: int
    response_key: str
    channel: str
    issue: IssueRef
    edited: int  # edited replies in the period
    common: list[CommonEdit]


@dataclass(frozen=True)
class Edit:
    """An operation found in one edited reply; ``key`` is what identical edits share."""

    key: EditKey
    kind: str
    removed: str
    added: str
    before: str
    after: str


def common_edits(
    *, brand: Brand | None = None, days: int = DEFAULT_USAGE_DAYS, now: datetime | None = None
) -> list[ResponseEdits]:
    """Responses of the issues serving ``brand`` (None: all) whose edited replies in the last
    ``days`` share recurring edits, most repeated first, each with its recurring operations."""
    since = (now or timezone.now()) - timedelta(days=days)
    edited = (
        Feedback.objects.filter(
            serves_brand(brand, "response__issue__"), action=Feedback.Action.EDITED, updated_at__gte=since
        )
        .order_by("updated_at", "pk")
        .values_list(
            "response_id",
            "response__key",
            "final_text",
            "request__results",
            "request__author_name",
            "request__author_handle",
        )
    )
    seen: dict[int, list[tuple[list[Edit], str]]] = defaultdict(list)
    for response_id, key, final_text, results, author_name, author_handle in edited.iterator(chunk_size=500):
        suggested = _suggested_text(results, key)
        if suggested is None:
            continue
        customer = customer_words(name=author_name, handle=author_handle)
        seen[response_id].append((edit_operations(suggested, final_text, customer=customer), final_text))
    responses = Response.objects.select_related("issue").in_bulk(seen)
    found = []
    for response_id, replies in seen.items():
        common = _recurring(replies)
        if common:
            response = responses[response_id]
            issue = IssueRef.of(response.issue)
            found.append(
                ResponseEdits(response_id, response.key, response.channel, issue, len(replies), common)
            )
    return sorted(found, key=lambda item: (-item.common[0].count, item.response_key))


def customer_words(*, name: str, handle: str) -> set[str]:
    """The lowercase tokens that are the customer's name or handle (with and without the @)."""
    words = {token.text.lower() for token in tokens_of(name)}
    bare = handle.strip().lstrip("@").lower()
    return words | ({bare, f"@{bare}"} if bare else set())


def tokens_of(text: str) -> list[Token]:
    return [Token(match.group(), match.start(), match.end()) for match in TOKEN.finditer(text)]


def edit_operations(suggested: str, sent: str, *, customer: Collection[str] = ()) -> list[Edit]:
    """The word runs replaced, inserted or deleted between the suggested and the sent reply, each
    once; runs that are only the customer's name or handle are left out."""
    # Each agent signs with their own initials: a sign-off is never an edit of the approved text.
    before, after = tokens_of(without_sign_off(suggested)), tokens_of(without_sign_off(sent))
    matcher = SequenceMatcher(None, _folded(before), _folded(after), autojunk=False)
    found: dict[EditKey, Edit] = {}
    for i1, i2, j1, j2 in _changed_runs(matcher.get_opcodes()):
        removed, added = _generic(before[i1:i2], customer), _generic(after[j1:j2], customer)
        if all(word == CUSTOMER for word in removed + added):
            continue
        kind = "replace" if removed and added else "insert" if added else "delete"
        key = (kind, removed, added)
        found.setdefault(
            key,
            Edit(
                key,
                kind,
                _span(suggested, before[i1:i2]),
                _span(sent, after[j1:j2]),
                before=_span(suggested, before[max(0, i1 - CONTEXT_WORDS) : i1]),
                after=_span(suggested, before[i2 : i2 + CONTEXT_WORDS]),
            ),
        )
    return list(found.values())


def _changed_runs(opcodes: Iterable[tuple[str, int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The changed spans (i1, i2, j1, j2), joining changes a single kept word apart: "DM us" made
    "call us on 0800" is one edit to an editor, not a replaced word and an inserted phrase."""
    runs: list[tuple[int, int, int, int]] = []
    for kind, i1, i2, j1, j2 in opcodes:
        if kind == "equal":
            continue
        if runs and i1 - runs[-1][1] <= MERGE_GAP and j1 - runs[-1][3] <= MERGE_GAP:
            runs[-1] = (runs[-1][0], i2, runs[-1][2], j2)
        else:
            runs.append((i1, i2, j1, j2))
    return runs


def _folded(tokens: list[Token]) -> list[str]:
    return [token.text.lower() for token in tokens]


def _generic(tokens: list[Token], customer: Collection[str]) -> tuple[str, ...]:
    return tuple(CUSTOMER if token.text.lower() in customer else token.text.lower() for token in tokens)


def _span(text: str, tokens: list[Token]) -> str:
    return text[tokens[0].start : tokens[-1].end] if tokens else ""


def _suggested_text(results: Any, response_key: str) -> str | None:
    """The reply as the agent was shown it, from the request's stored results."""
    for item in results or []:
        if isinstance(item, dict) and item.get("response") == response_key:
            text = item.get("text")
            return text if isinstance(text, str) else None
    return None


def _recurring(replies: Iterable[tuple[list[Edit], str]]) -> list[CommonEdit]:
    replies = list(replies)
    first: dict[EditKey, Edit] = {}
    examples: dict[EditKey, list[str]] = defaultdict(list)
    for operations, sent in replies:
        for operation in operations:
            first.setdefault(operation.key, operation)
            examples[operation.key].append(sent)
    common = [
        CommonEdit(
            kind=operation.kind,
            removed=operation.removed,
            added=operation.added,
            before=operation.before,
            after=operation.after,
            count=len(examples[key]),
            share=round(len(examples[key]) / len(replies), 4),
            examples=examples[key][-EXAMPLES_SHOWN:],
        )
        for key, operation in first.items()
        if len(examples[key]) >= MIN_EDITS and len(examples[key]) >= MIN_SHARE * len(replies)
    ]
    return sorted(common, key=lambda operation: -operation.count)
