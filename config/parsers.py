"""Request bodies the API reads: JSON, forms and multipart, refused whole with a 400 when they
hold what no field may take. JSON may nest at most MAX_DEPTH levels; no string, in a value or a
key, may hold a NUL or a lone surrogate (PostgreSQL stores neither), nor a number be infinite.
The refusal names the field: ``{"author": {"name": ["Null characters are not allowed."]}}``."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.settings import api_settings

from config.validators import text_problem

MAX_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested too deeply: at most {MAX_DEPTH} levels of objects and arrays."
NOT_FINITE = "Must be a finite number."

Path = tuple[str | int, ...]


def _problems(data: Any) -> Iterator[tuple[Path, str]]:
    """Every string or number in a parsed JSON document that no field may take, with its path;
    a ParseError as soon as it nests deeper than MAX_DEPTH. Iterative: depth costs no stack."""
    pending: list[tuple[Path, Any]] = [((), data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, float):
            problem = None if math.isfinite(value) else NOT_FINITE
        elif isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                raise ParseError(TOO_DEEP)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in reversed(list(items)):
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem:
                    yield (*path, key), key_problem
                else:
                    pending.append(((*path, key), item))
            continue
        else:
            continue
        if problem:
            yield path, problem


def _refuse(problems: Sequence[tuple[Path, str]]) -> None:
    if not problems:
        return
    detail: dict[Any, Any] = {}
    for path, message in problems:
        node = detail
        *parents, last = path or (api_settings.NON_FIELD_ERRORS_KEY,)
        for step in parents:
            node = node.setdefault(step, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(last, [message])
    raise ValidationError(detail)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with the nesting, text and number checks above."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        _refuse(list(_problems(data)))
        return data


def _check_form(data: QueryDict) -> None:
    problems: list[tuple[Path, str]] = [
        ((name,), problem)
        for name, values in data.lists()
        for problem in [text_problem(name), *map(text_problem, values)]
        if problem
    ]
    _refuse(problems)


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing a NUL in a field."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing a NUL in a field."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        _check_form(parsed.data)
        return parsed
