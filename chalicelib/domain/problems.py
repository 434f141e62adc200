"""Turn parser and validation failures into Problems that name the field and the fix."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from chalicelib.errors import Problem

_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it, or check its spelling against the documented fields",
    "string_type": "write it as text",
    "int_type": "write it as a whole number",
    "int_parsing": "write it as a whole number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "list_type": "write it as a list, e.g. [a, b]",
    "dict_type": "write it as a mapping of name: value",
    "model_type": "write it as a mapping of name: value",
    "datetime_type": "write a time like 2021-03-05T09:00:00+05:30",
    "datetime_parsing": "write a time like 2021-03-05T09:00:00+05:30",
    "datetime_from_date_parsing": "write a time like 2021-03-05T09:00:00+05:30",
    "date_type": "write a date like 2021-05-02",
    "date_parsing": "write a date like 2021-05-02",
    "date_from_datetime_parsing": "write a date like 2021-05-02",
    "literal_error": "use one of the allowed values",
    "enum": "use one of the allowed values",
    "string_too_short": "it must not be empty",
    "string_too_long": "shorten it",
    "too_short": "add at least one item",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
}


def field_path(location: Iterable[Any]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(file)"


def problems_from_validation(error: ValidationError, row: int | None = None) -> list[Problem]:
    problems = []
    for detail in error.errors(include_url=False):
        kind = detail["type"]
        message = detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        fix = detail.get("ctx", {}).get("fix") if isinstance(detail.get("ctx"), dict) else None
        if kind == "value_error" and " — " in message:
            message, fix = message.split(" — ", 1)
        problems.append(Problem(
            field=field_path(detail["loc"]),
            message=message,
            fix=fix or _FIXES.get(kind, "correct the value as described"),
            row=row,
        ))
    return problems


def fixable(message: str, fix: str) -> ValueError:
    """A ValueError raised in a validator that carries its own fix (split by problems_from_validation)."""
    return ValueError(f"{message} — {fix}")
