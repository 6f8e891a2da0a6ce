"""How the admin's history page shows a change: a word diff of texts, and people by name."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from simple_history.models import ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

NOBODY = "—"


class ReadableHistory(HistoricalRecordContextHelper):
    """Texts in full, the words taken out struck (<del>) on the old side and the words put in
    marked (<ins>) on the new; an empty reference reads as nobody, not as a deleted row."""

    def prepare_delta_change_value(self, change: ModelChange, value: Any) -> Any:
        if getattr(value, "pk", True) is None:  # simple_history's stand-in for "no related row"
            return None
        return super().prepare_delta_change_value(change, value)

    def stringify_delta_change_values(
        self, change: ModelChange, old: Any, new: Any
    ) -> tuple[SafeString, SafeString]:
        if isinstance(old, str) and isinstance(new, str):
            return word_diff(old, new)
        return _shown(old), _shown(new)


def word_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Both texts, escaped, whitespace-separated words compared: removed words in <del> on the
    old side, added ones in <ins> on the new."""
    before, after = old.split(), new.split()
    old_parts: list[tuple[str, str]] = []
    new_parts: list[tuple[str, str]] = []
    for kind, i1, i2, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        removed, added = " ".join(before[i1:i2]), " ".join(after[j1:j2])
        if kind == "equal":
            old_parts.append(("{}", removed))
            new_parts.append(("{}", added))
            continue
        if removed:
            old_parts.append(("<del>{}</del>", removed))
        if added:
            new_parts.append(("<ins>{}</ins>", added))
    return _joined(old_parts), _joined(new_parts)


def _joined(parts: list[tuple[str, str]]) -> SafeString:
    return mark_safe(" ".join(format_html_join("", template, [(text,)]) for template, text in parts))


def _shown(value: Any) -> SafeString:
    return conditional_escape(NOBODY if value is None or value == "" else str(value))
