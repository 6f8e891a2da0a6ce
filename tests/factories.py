"""Factories for the library's models: valid by default, every field overridable."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from kb.models import Brand, Example, Issue, Response


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
