"""Response templates: Django template syntax in a sandboxed engine with a fixed set of variables.

Only a few tags (if, firstof, comment) and the built-in filters that make sense in a reply
(ALLOWED_FILTERS) exist here; nothing that loads templates, reaches the database or reads files.
A template that names any variable other than RESPONSE_VARIABLES, or gives a filter a size out of
SIZED_FILTERS' bounds, is rejected before it is stored. Rendering never takes the caller down with
it: whatever goes wrong, or a reply over MAX_RENDERED_LENGTH, is a TemplateRenderError.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaultfilters import register as default_filters
from django.template.defaulttags import FirstOfNode, IfNode
from django.template.defaulttags import register as default_tags
from django.template.library import Library

RESPONSE_VARIABLES = (
    "customer_name",
    "customer_first_name",
    "handle",
    "agent_name",
    "agent_initials",
    "brand_name",
    "brand_handle",
)
ALLOWED_TAGS = ("if", "firstof", "comment")
# Filters whose argument is a size: it must be written in the template as a whole number within
# these bounds. A size taken from a variable would let a customer's name choose it.
SIZED_FILTERS: dict[str, tuple[int, int]] = {
    "ljust": (0, 1000),
    "rjust": (0, 1000),
    "center": (0, 1000),
    "truncatechars": (0, 1000),
    "truncatewords": (0, 1000),
    "wordwrap": (1, 1000),
    "get_digit": (0, 1000),
    "floatformat": (-1000, 1000),
    "slice": (-1000, 1000),
}
# None of these makes a reply grow faster than its template: no repetition, no formats of any width.
ALLOWED_FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "cut",
    "yesno",
    "first",
    "last",
    *SIZED_FILTERS,
)
# Five times the longest template: far beyond any channel, still cheap to produce and measure.
MAX_RENDERED_LENGTH = 25_000
# Left over in plain text, these would reach the customer verbatim ({# is an unclosed comment).
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


@lru_cache(maxsize=1)
def response_engine() -> Engine:
    """An engine that knows the built-in filters and a handful of harmless tags, nothing else."""
    library = Library()
    library.filters.update({name: default_filters.filters[name] for name in ALLOWED_FILTERS})
    library.tags.update({name: default_tags.tags[name] for name in ALLOWED_TAGS})
    engine = Engine(loaders=[], libraries={}, autoescape=False, debug=False)
    engine.template_builtins = [library]
    return engine


class TemplateRenderError(ValidationError):
    """A template could not be turned into a reply for these values: it no longer validates, a
    filter failed on them, or the reply came out longer than MAX_RENDERED_LENGTH."""


@lru_cache(maxsize=4096)
def compile_response_template(text: str) -> Template:
    """Parse a response template, raising ValidationError if it does not parse or names an
    unknown variable."""
    try:
        template = response_engine().from_string(text)
    except TemplateSyntaxError as exc:
        raise ValidationError(_syntax_message(exc), code="template_syntax") from None
    texts = [node.s for node in template.nodelist.get_nodes_by_type(TextNode) if isinstance(node, TextNode)]
    stray = [text for text in texts if _STRAY.search(text)]
    if stray:
        raise ValidationError(
            "Template does not parse: unbalanced braces near %r." % stray[0].strip()[:40],
            code="template_syntax",
        )
    expressions = list(_expressions(template.nodelist))
    for expression in expressions:
        _check_filter_arguments(expression)
    unknown = sorted(
        {name for expression in expressions for name in _expression_names(expression)}
        - set(RESPONSE_VARIABLES)
    )
    if unknown:
        raise ValidationError(
            "Unknown template variable%s: %s. Allowed: %s."
            % ("s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(RESPONSE_VARIABLES)),
            code="template_variable",
        )
    return template


def _syntax_message(exc: TemplateSyntaxError) -> str:
    tag = re.match(r"Invalid block tag on line \d+: '(\w+)'", str(exc))
    if tag:
        return "Template does not parse: the tag '%s' is not allowed in replies (allowed: %s)." % (
            tag.group(1),
            ", ".join(ALLOWED_TAGS),
        )
    unknown_filter = re.match(r"Invalid filter: '(\w+)'", str(exc))
    if unknown_filter:
        return "Template does not parse: the filter '%s' is not allowed in replies (allowed: %s)." % (
            unknown_filter.group(1),
            ", ".join(ALLOWED_FILTERS),
        )
    return f"Template does not parse: {exc}"


def _check_filter_arguments(expression: FilterExpression) -> None:
    for function, arguments in expression.filters:
        name = getattr(function, "_filter_name", "")
        if name not in SIZED_FILTERS or not arguments:
            continue
        low, high = SIZED_FILTERS[name]
        is_variable, argument = arguments[0]
        # An unquoted number parses as a Variable holding a literal; a name has lookups instead.
        if isinstance(argument, Variable):
            literal = None if argument.lookups else argument.literal
        else:
            literal = None if is_variable else argument
        parts = _sizes(name, literal)
        if parts is None or not all(low <= part <= high for part in parts):
            what = "whole numbers (start:stop:step)" if name == "slice" else "a whole number"
            raise ValidationError(
                "The filter '%s' takes %s from %d to %d, written in the template; got %s."
                % (name, what, low, high, _shown(argument)),
                code="template_filter",
            )


def _sizes(name: str, literal: object) -> list[int] | None:
    """The whole numbers in a sized filter's literal argument, or None if it is not one."""
    if isinstance(literal, bool):
        return None
    if isinstance(literal, int):
        return [literal]
    if not isinstance(literal, str):
        return None
    if name == "slice":
        pieces = literal.split(":")
        if len(pieces) > 3 or not all(re.fullmatch(r"-?\d{0,5}", piece) for piece in pieces):
            return None
        return [int(piece) for piece in pieces if piece not in ("", "-")]
    pattern = r"(-?\d{1,7})[gu]{0,2}" if name == "floatformat" else r"(-?\d{1,7})"
    matched = re.fullmatch(pattern, literal.strip())
    return [int(matched.group(1))] if matched else None


def _shown(argument: object) -> str:
    if isinstance(argument, Variable):
        return repr(argument.var)[:40] if argument.lookups else repr(argument.literal)[:40]
    return repr(argument)[:40]


def validate_response_template(text: str) -> None:
    compile_response_template(text)


def render_response_template(text: str, variables: Mapping[str, str]) -> str:
    """Render a template with the given variables (missing ones render empty), trimmed.
    Raises TemplateRenderError, and nothing else, when no reply can be made of it."""
    context = {name: variables.get(name, "") for name in RESPONSE_VARIABLES}
    try:
        template = compile_response_template(text)
    except ValidationError as exc:
        raise TemplateRenderError(
            "No longer a valid template: %s" % " ".join(exc.messages), code="template_render"
        ) from None
    try:
        rendered = template.render(Context(context, autoescape=False)).strip()
    except Exception as exc:
        # Filters run on what customers write; whatever a value makes one raise, the reply fails alone.
        raise TemplateRenderError(
            "Rendering failed (%s)." % type(exc).__name__, code="template_render"
        ) from exc
    if len(rendered) > MAX_RENDERED_LENGTH:
        raise TemplateRenderError(
            "The reply came out %s characters long, over the %s a reply may have."
            % (f"{len(rendered):,}", f"{MAX_RENDERED_LENGTH:,}"),
            code="template_render",
        )
    return rendered


def _expressions(nodelist: list[Node]) -> Iterator[FilterExpression]:
    """Every variable expression in the template, with its filters: printed, in a firstof, or in
    an if condition."""
    for node in nodelist:
        if isinstance(node, VariableNode):
            yield node.filter_expression
        elif isinstance(node, FirstOfNode):
            yield from node.vars
        elif isinstance(node, IfNode):
            for condition, _ in node.conditions_nodelists:
                yield from _condition_expressions(condition)
        for attr in node.child_nodelists:
            yield from _expressions(getattr(node, attr, None) or [])


def _condition_expressions(condition: object) -> Iterator[FilterExpression]:
    if condition is None:
        return
    expression = getattr(condition, "value", None)
    if isinstance(expression, FilterExpression):
        yield expression
    for side in ("first", "second"):
        yield from _condition_expressions(getattr(condition, side, None))


def _expression_names(expression: FilterExpression) -> Iterator[str]:
    yield from _name_of(expression.var)
    for _, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable:
                yield from _name_of(argument)


def _name_of(value: object) -> Iterator[str]:
    if isinstance(value, Variable) and value.lookups:
        yield value.lookups[0]
