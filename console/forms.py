"""The console's forms: what an agent sends from a mention's page and the paste box."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.models import User as Account

from console.models import Mention
from console.selectors import leads_for
from kb.channels import Channel
from kb.models import Brand, Response
from kb.selectors import brand_choices

DISMISS_REASONS = [
    ("spam", "Spam or abuse"),
    ("no-reply-needed", "No reply needed"),
    ("handled-elsewhere", "Already handled elsewhere"),
    ("duplicate", "Duplicate"),
]


# The longest reply an agent sends (split into parts on X, when it must be).
REPLY_MAX = 5000


class ReplyForm(forms.Form):
    text = forms.CharField(max_length=REPLY_MAX)
    response = forms.ModelChoiceField(
        Response.objects.all(),
        to_field_name="key",
        required=False,
        error_messages={
            "invalid_choice": "The draft's response no longer exists; pick another draft or write your own."
        },
    )
    force = forms.BooleanField(required=False)
    # Through a connected channel: as a direct message to the author instead of a public reply.
    private = forms.BooleanField(required=False)
    # Over the channel's limit, where it takes threads: as numbered parts, each replying to the last.
    split = forms.BooleanField(required=False)


class DismissForm(forms.Form):
    # No reason is chosen for the agent: one click must not file a real complaint as spam.
    reason = forms.ChoiceField(
        choices=[("", "Why no reply is needed…"), *DISMISS_REASONS],
        widget=forms.Select(attrs={"required": True, "aria-label": "Why no reply is needed"}),
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class EscalateForm(forms.Form):
    lead = PersonChoiceField(Account.objects.none(), empty_label=None)
    note = forms.CharField(
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What the lead should know"})
    )
    force = forms.BooleanField(required=False)

    def __init__(self, *args: Any, mention: Mention, agent: Account, **kwargs: Any) -> None:
        """Any lead serving the mention's brand but the agent escalating."""
        super().__init__(*args, **kwargs)
        cast(PersonChoiceField, self.fields["lead"]).queryset = leads_for(mention).exclude(pk=agent.pk)


class PasteForm(forms.Form):
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    brand = forms.ModelChoiceField(Brand.objects.all(), to_field_name="key", required=False)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.TWITTER)
    customer_name = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, agent: Account, **kwargs: Any) -> None:
        """Someone who serves particular brands asks for one of theirs (the first by default)."""
        super().__init__(*args, **kwargs)
        brand = cast(forms.ModelChoiceField, self.fields["brand"])
        brand.queryset, self.default_brand = brand_choices(agent)
        brand.empty_label = "Any brand" if self.default_brand is None else None

    def clean_brand(self) -> Brand | None:
        return self.cleaned_data["brand"] or self.default_brand
