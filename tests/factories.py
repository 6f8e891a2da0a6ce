"""Factories for the library's and the engine's models: valid by default, every field overridable."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from kb.models import Brand, Example, Issue, Response
from suggestions.models import Feedback, SuggestedResponse, SuggestionRequest


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("key",)

    key = "acme-air"
    name = "Acme Air"
    handle = "@AcmeAir"


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    key = factory.Sequence(lambda n: f"issue-{n}")
    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Issue number {n}")
    description = "Check the booking, then apologise."


class ExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Example

    issue = factory.SubFactory(IssueFactory)
    text = factory.Sequence(lambda n: f"@AcmeAir something went wrong #{n}")


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    issue = factory.SubFactory(IssueFactory)
    key = factory.Sequence(lambda n: f"response-{n}")
    channel = "twitter"
    text = "{{ customer_name|default:'Hi there' }}, sorry about that. Please DM us. ^{{ agent_initials }}"
    status = Response.Status.APPROVED


class SuggestionRequestFactory(factory.django.DjangoModelFactory):
    """A stored request, as suggestion_create leaves it; pass ``created_at`` to date it (it is
    set after the insert, since the field is auto_now_add)."""

    class Meta:
        model = SuggestionRequest
        skip_postgeneration_save = True

    text = factory.Sequence(lambda n: f"@AcmeAir my flight number {n} got cancelled")
    brand = factory.SubFactory(BrandFactory)
    channel = "twitter"
    abstained = False
    index_version = "test-version"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        created_at = kwargs.pop("created_at", None)
        request = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=request.pk).update(created_at=created_at)
            request.created_at = created_at
        return request


def request_with_suggestions(
    responses: list[Response], *, confidence: float = 0.9, **fields
) -> SuggestionRequest:
    """A stored request that ranked ``responses`` in that order (shown unless ``abstained``), with
    ``results`` and SuggestedResponse rows agreeing, as suggestion_create writes them."""
    request = SuggestionRequestFactory(
        results=[
            {
                "response": response.key,
                "response_id": response.pk,
                "issue_id": response.issue_id,
                "issue": {"key": response.issue.key, "title": response.issue.title},
                "text": f"Rendered {response.key}",
                "confidence": confidence,
            }
            for response in responses
        ],
        **fields,
    )
    SuggestedResponse.objects.bulk_create(
        SuggestedResponse(
            request=request,
            response=response,
            issue_id=response.issue_id,
            position=position,
            confidence=confidence,
            shown=not request.abstained,
        )
        for position, response in enumerate(responses, start=1)
    )
    return request


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    action = Feedback.Action.ACCEPTED
    final_text = "Sent as suggested."
