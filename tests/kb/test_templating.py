"""Response templates: what editors may write, what is refused, and how replies come out."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kb.templating import (
    MAX_RENDERED_LENGTH,
    RESPONSE_VARIABLES,
    TemplateRenderError,
    compile_response_template,
    render_response_template,
    validate_response_template,
)

EVERYTHING = {
    "customer_name": "Jane Doe",
    "customer_first_name": "Jane",
    "handle": "@jane",
    "agent_name": "Sam Lee",
    "agent_initials": "SL",
    "brand_name": "Acme Air",
    "brand_handle": "@AcmeAir",
}


def _refusal(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_response_template(text)
    return " ".join(caught.value.messages)


# ---- what is allowed ------------------------------------------------------------------------------


def test_every_variable_renders_its_value():
    text = " ".join("{{ %s }}" % name for name in RESPONSE_VARIABLES)

    assert render_response_template(text, EVERYTHING) == "Jane Doe Jane @jane Sam Lee SL Acme Air @AcmeAir"


def test_default_filter_fills_in_a_missing_customer_name():
    text = '{{ customer_name|default:"Hi there" }}, sorry!'

    assert render_response_template(text, {}) == "Hi there, sorry!"
    assert render_response_template(text, {"customer_name": "Jane"}) == "Jane, sorry!"


def test_default_filter_may_fall_back_to_another_variable():
    text = "Hi {{ customer_name|default:handle }}"

    assert render_response_template(text, {"handle": "@jane"}) == "Hi @jane"


def test_upper_and_title_filters_apply():
    text = "{{ brand_name|upper }} / {{ customer_name|title }}"

    assert render_response_template(text, {"brand_name": "Acme Air", "customer_name": "jane doe"}) == (
        "ACME AIR / Jane Doe"
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"customer_name": "Jane", "handle": "@jane"}, "Hi Jane!"),
        ({"handle": "@jane"}, "Hi @jane!"),
        ({}, "Hi there!"),
    ],
)
def test_if_elif_else_picks_the_first_branch_that_holds(variables, expected):
    text = (
        "{% if customer_name %}Hi {{ customer_name }}!"
        "{% elif handle %}Hi {{ handle }}!"
        "{% else %}Hi there!{% endif %}"
    )

    assert render_response_template(text, variables) == expected


def test_if_with_a_comparison_and_not():
    text = (
        "{% if not customer_name %}Hello"
        '{% elif brand_name == "Acme Air" %}Dear {{ customer_name }}{% endif %}'
    )

    assert render_response_template(text, {}) == "Hello"
    assert render_response_template(text, {"customer_name": "Jane", "brand_name": "Acme Air"}) == "Dear Jane"


def test_firstof_takes_the_first_non_empty_value():
    text = 'Hi {% firstof customer_name handle "there" %}'

    assert render_response_template(text, {"customer_name": "Jane", "handle": "@jane"}) == "Hi Jane"
    assert render_response_template(text, {"handle": "@jane"}) == "Hi @jane"
    assert render_response_template(text, {}) == "Hi there"


def test_comment_tag_is_allowed_and_not_rendered():
    text = "Sorry!{% comment %}Legal asked for this wording{% endcomment %}"

    assert render_response_template(text, {}) == "Sorry!"


def test_plain_text_without_template_syntax_is_valid():
    validate_response_template("We're sorry about that. Please DM us.")


# ---- what the reply looks like ------------------------------------------------------------------


def test_apostrophes_and_ampersands_are_not_html_escaped():
    text = "We're sorry, {{ customer_name }}. Tom & Jerry's {{ brand_name }} <3"

    rendered = render_response_template(text, {"customer_name": "O'Brien & Co", "brand_name": "B&B"})

    assert rendered == "We're sorry, O'Brien & Co. Tom & Jerry's B&B <3"


def test_missing_variables_render_empty():
    text = "Hi {{ customer_name }}! ^{{ agent_initials }}"

    assert render_response_template(text, {}) == "Hi ! ^"


def test_rendered_reply_is_trimmed():
    assert render_response_template("  {{ customer_name }}, hello  \n", {"customer_name": "Jane"}) == (
        "Jane, hello"
    )


# ---- what is refused ------------------------------------------------------------------------------


def test_unknown_variable_is_refused_naming_it_and_the_allowed_ones():
    message = _refusal("Hi {{ first_name }}!")

    assert "first_name" in message
    assert "customer_name" in message  # the editor learns what to use instead


def test_several_unknown_variables_are_all_named():
    message = _refusal("{{ first_name }} {{ order_id }} {{ customer_name }}")

    assert "first_name" in message
    assert "order_id" in message


@pytest.mark.parametrize(
    "text",
    [
        "{% if vip %}Hi VIP{% endif %}",
        "{% if customer_name %}a{% elif vip %}b{% else %}c{% endif %}",
        "{% if not vip %}a{% endif %}",
        "{% if customer_name == vip %}a{% endif %}",
        "{% if customer_name and vip or handle %}a{% endif %}",
        "{% if customer_name %}{% if vip %}nested{% endif %}{% endif %}",
    ],
)
def test_unknown_variable_in_an_if_condition_is_refused(text):
    assert "vip" in _refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{ customer_name|default:vip }}",
        "{% if customer_name|default:vip %}a{% endif %}",
    ],
)
def test_unknown_variable_in_a_filter_argument_is_refused(text):
    assert "vip" in _refusal(text)


@pytest.mark.parametrize(
    "text",
    ["{% firstof vip customer_name %}", '{% firstof customer_name "x" as vip %}{{ vip }}'],
)
def test_unknown_variable_in_firstof_is_refused(text):
    assert "vip" in _refusal(text)


def test_unknown_variable_inside_an_if_branch_is_refused():
    assert "order_id" in _refusal("{% if customer_name %}Order {{ order_id }}{% endif %}")


@pytest.mark.parametrize(
    ("tag", "text"),
    [
        ("load", "{% load static %}"),
        ("include", '{% include "secrets.html" %}'),
        ("extends", '{% extends "base.html" %}'),
        ("for", "{% for x in customer_name %}{{ x }}{% endfor %}"),
        ("with", "{% with name=customer_name %}{{ name }}{% endwith %}"),
        ("url", '{% url "admin:index" %}'),
        ("debug", "{% debug %}"),
        ("now", '{% now "Y" %}'),
        ("csrf_token", "{% csrf_token %}"),
    ],
)
def test_disallowed_tag_is_refused_naming_the_tag(tag, text):
    message = _refusal(text)

    assert f"'{tag}' is not allowed" in message


def test_disallowed_tag_inside_an_if_is_refused():
    assert "'now' is not allowed" in _refusal('{% if customer_name %}{% now "Y" %}{% endif %}')


@pytest.mark.parametrize(
    "text",
    [
        "{% if customer_name %}never closed",
        "{% endif %}",
        "{% if %}x{% endif %}",
        "{{ }}",
        "{{ customer_name|no_such_filter }}",
        "{{ customer_name.__class__ }}",
    ],
)
def test_syntax_errors_are_refused_as_not_parsing(text):
    assert "does not parse" in _refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ customer_name }",
        "Hi {{ customer_name",
        "Hi customer_name }}",
        "Hi {% if customer_name",
        "Sorry %} about that",
        "Hi {{ customer_name }} and {{ handle",
        "Hi {# a note that never ends",
    ],
)
def test_stray_or_unbalanced_braces_are_refused(text):
    assert "does not parse" in _refusal(text)


def test_single_braces_are_ordinary_text():
    assert render_response_template("Use code {ABC} at checkout", {}) == "Use code {ABC} at checkout"


def test_a_refused_template_cannot_be_rendered():
    with pytest.raises(ValidationError):
        render_response_template("Hi {{ first_name }}", {"customer_name": "Jane"})


def test_compiling_the_same_text_twice_gives_the_same_answer():
    # The compiled templates are cached; a refusal must not be cached as a success.
    with pytest.raises(ValidationError):
        compile_response_template("{{ not_allowed }}")
    with pytest.raises(ValidationError):
        compile_response_template("{{ not_allowed }}")


# ---- filters: only those that make sense in a reply, with bounded arguments --------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ customer_name|ljust:'300000000' }}",
        "{{ customer_name|rjust:300000000 }}",
        "{{ customer_name|center:'1001' }}",
        "{{ customer_name|floatformat:'3000000' }}",
        "{{ customer_name|floatformat:'-3000000g' }}",
        "{{ customer_name|truncatechars:'99999' }}",
        "{{ customer_name|truncatewords:99999 }}",
        "{{ customer_name|wordwrap:'0' }}",
        "{{ customer_name|get_digit:'100000' }}",
        "{{ customer_name|slice:':100000' }}",
        "{{ customer_name|ljust:'wide' }}",
        "{% if customer_name|ljust:'300000000' %}x{% endif %}",
        "{% firstof customer_name|rjust:'300000000' handle %}",
    ],
)
def test_a_filter_argument_out_of_bounds_is_refused_naming_the_filter(text):
    message = _refusal(text)

    assert "whole number" in message
    name = text.split("|")[1].split(":")[0]
    assert f"'{name}'" in message


def test_a_size_taken_from_a_variable_is_refused():
    # The customer chooses their name: a name of "300000000" would pad the reply to 300 MB.
    message = _refusal("{{ brand_name|ljust:customer_name }}")

    assert "'ljust'" in message and "whole number" in message


@pytest.mark.parametrize(
    "text",
    [
        "{{ customer_name|stringformat:'0300000000d' }}",
        "{{ customer_name|join:handle }}",
        "{{ customer_name|safe }}",
        "{{ customer_name|pprint }}",
        "{{ customer_name|date:'Y' }}",
        "{{ customer_name|urlize }}",
        "{% if customer_name|random %}x{% endif %}",
    ],
)
def test_a_filter_that_has_no_place_in_a_reply_is_refused(text):
    message = _refusal(text)

    name = text.split("|")[1].split(":")[0].split(" ")[0]
    assert f"the filter '{name}' is not allowed in replies" in message
    assert "default" in message  # the editor learns what is allowed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ customer_name|ljust:'8' }}|", "Jane    |"),
        ("|{{ customer_name|rjust:6 }}", "|  Jane"),
        ("{{ customer_name|truncatechars:3 }}", "Ja…"),
        ("{{ customer_name|slice:':2' }}", "Ja"),
        ("{{ customer_name|floatformat:2 }}", ""),  # not a number: nothing
        ("{{ customer_name|yesno:'a,b' }}", "a"),
        ("{{ customer_name|cut:'e'|lower }}", "jan"),
        ("{{ customer_name|default_if_none:'x'|capfirst }}", "Jane"),
    ],
)
def test_filters_for_replies_work_within_bounds(text, expected):
    assert render_response_template(text, {"customer_name": "Jane"}) == expected


def test_a_number_for_a_name_renders_with_the_widest_precision_allowed():
    rendered = render_response_template("{{ customer_name|floatformat:'1000' }}", {"customer_name": "12"})

    assert rendered == "12." + "0" * 1000


def test_a_reply_longer_than_the_render_limit_fails_to_render():
    # Every filter is within bounds, yet 100 wide fields make a reply no channel could take.
    text = "{{ customer_name|ljust:1000 }}." * 100
    validate_response_template(text)

    with pytest.raises(TemplateRenderError) as caught:
        render_response_template(text, {"customer_name": "Jane"})

    assert f"{MAX_RENDERED_LENGTH:,}" in str(caught.value)


def test_a_stored_template_that_no_longer_validates_fails_to_render():
    with pytest.raises(TemplateRenderError):
        render_response_template("{{ customer_name|stringformat:'5d' }}", {"customer_name": "Jane"})
