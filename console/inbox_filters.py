"""What the inbox page is asked to show: a queue, an order, and the filters an agent picked. The
filters ride in the page's address, so the list refreshing itself (htmx asks for the same
address) and the queue tabs keep them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User as Account
from django.http import QueryDict

from console.selectors import ORDERINGS, QUEUES, issues_in_queue
from kb.channels import Channel
from kb.models import Brand, Issue
from kb.selectors import brands_served_by

# Priority (console.triage.priority_of) at least: 0 is "its moment has come", its deadline
# brought forward by severity and tone; the hour and the day ahead widen it.
PRIORITY_BANDS = [
    ("", "Any priority"),
    ("0", "Urgent now"),
    ("-60", "Urgent within the hour"),
    ("-1440", "Urgent today"),
]
ORDERING_LABELS = {"priority": "Most urgent first", "age": "Oldest first"}


class InboxFilterForm(forms.Form):
    """Read from the page's query string; a value it does not know is left out (the whole queue
    shows) rather than refused, since a stale bookmark should still open the inbox."""

    queue = forms.ChoiceField(choices=[(name, name) for name in QUEUES], required=False)
    ordering = forms.ChoiceField(
        choices=[(name, ORDERING_LABELS[name]) for name in ORDERINGS], required=False, label="Order"
    )
    brand = forms.ModelChoiceField(
        Brand.objects.none(), to_field_name="key", required=False, empty_label="Every brand"
    )
    channel = forms.ChoiceField(choices=[("", "Every channel"), *Channel.choices], required=False)
    issue = forms.ModelChoiceField(
        Issue.objects.none(), to_field_name="key", required=False, empty_label="Every issue"
    )
    priority_min = forms.TypedChoiceField(
        choices=PRIORITY_BANDS, coerce=int, empty_value=None, required=False, label="Priority"
    )

    def __init__(self, data: QueryDict, *, agent: Account) -> None:
        super().__init__(data)
        served = brands_served_by(agent)
        brands = Brand.objects.all()
        if served is not None:
            brands = brands.filter(pk__in=[brand.pk for brand in served])
        self.fields["brand"].queryset = brands.order_by("name")  # type: ignore[attr-defined]
        # Offered: the issues of the open mentions; accepted: any (its mentions may all be done).
        self.issues_offered = list(issues_in_queue(agent=agent))
        self.fields["issue"].queryset = Issue.objects.all()  # type: ignore[attr-defined]

    def wanted(self) -> dict[str, Any]:
        """The valid choices, each invalid one as if not given."""
        self.is_valid()
        chosen = {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}
        return {
            "queue": chosen.get("queue") or "open",
            "ordering": chosen.get("ordering") or "priority",
            "brand": chosen.get("brand"),
            "channel": chosen.get("channel") or "",
            "issue": chosen.get("issue"),
            "priority_min": chosen.get("priority_min"),
        }
