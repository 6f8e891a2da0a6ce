"""Response templates: Django template syntax in a sandboxed engine with a fixed set of variables.

Only a few tags (if, firstof, comment) and the built-in filters exist here; nothing that loads
templates, reaches the database or reads files. A template that names any variable other than
RESPONSE_VARIABLES is rejected before it is stored.
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
    "handle",
    "agent_name",
    "agent_initials",
    "brand_name",
    "brand_handle",
)
ALLOWED_TAGS = ("if", "firstof", "comment")
# Left over in plain text, these would reach the customer verbatim ({# is an unclosed comment).
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


@lru_cache(maxsize=1)
def response_engine() -> Engine:
    """An engine that knows the built-in filters and a handful of harmless tags, nothing else."""
    library = Library()
    library.filters.update(default_filters.filters)
    library.tags.update({name: default_tags.tags[name] for name in ALLOWED_TAGS})
    engine = Engine(loaders=[], libraries={}, autoescape=False, debug=False)
    engine.template_builtins = [library]
    return engine


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
    unknown = sorted(set(_variable_names(template.nodelist)) - set(RESPONSE_VARIABLES))
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
    return f"Template does not parse: {exc}"


def validate_response_template(text: str) -> None:
    compile_response_template(text)


def render_response_template(text: str, variables: Mapping[str, str]) -> str:
    """Render a template with the given variables (missing ones render empty), trimmed."""
    context = {name: variables.get(name, "") for name in RESPONSE_VARIABLES}
    return compile_response_template(text).render(Context(context, autoescape=False)).strip()


def _variable_names(nodelist: list[Node]) -> Iterator[str]:
    for node in nodelist:
        if isinstance(node, VariableNode):
            yield from _expression_names(node.filter_expression)
        elif isinstance(node, FirstOfNode):
            for expression in node.vars:
                yield from _expression_names(expression)
        elif isinstance(node, IfNode):
            for condition, _ in node.conditions_nodelists:
                yield from _condition_names(condition)
        for attr in node.child_nodelists:
            yield from _variable_names(getattr(node, attr, None) or [])


def _condition_names(condition: object) -> Iterator[str]:
    if condition is None:
        return
    expression = getattr(condition, "value", None)
    if isinstance(expression, FilterExpression):
        yield from _expression_names(expression)
    for side in ("first", "second"):
        yield from _condition_names(getattr(condition, side, None))


def _expression_names(expression: FilterExpression) -> Iterator[str]:
    yield from _name_of(expression.var)
    for _, arguments in expression.filters:
        for is_variable, argument in arguments:
            if is_variable:
                yield from _name_of(argument)


def _name_of(value: object) -> Iterator[str]:
    if isinstance(value, Variable) and value.lookups:
        yield value.lookups[0]
