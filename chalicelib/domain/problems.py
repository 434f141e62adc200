"""Turn parser and validation failures into Problems that name the field and the fix."""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidContentError, Problem

if TYPE_CHECKING:  # only a type here: importing pydantic costs every Lambda ~40 ms, and only parsers need it
    from pydantic import ValidationError

# Between a validator's message and its fix. A control character: user text only ever reaches a message
# through repr() or printable(), which escape it, so it cannot fake a split.
_FIX_SEPARATOR = "\x1f"
# One file never needs more: past this the report says how many more there are (an activity entry must stay
# well under DynamoDB's 400 KB item limit).
MAX_PROBLEMS = 50

_FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove it, or check its spelling against the documented fields",
    "string_type": "write it as text",
    "string_unicode": "write it as text without escaped surrogates (\\ud800…)",
    "int_type": "write it as a whole number",
    "int_parsing": "write it as a whole number",
    "int_from_float": "write it as a whole number",
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
    "date_from_datetime_inexact": "write a date like 2021-05-02",
    "literal_error": "use one of the allowed values",
    "enum": "use one of the allowed values",
    "string_too_short": "it must not be empty",
    "string_too_long": "shorten it",
    "string_pattern_mismatch": "use only the characters the field allows",
    "too_short": "add at least one item",
    "too_long": "remove items",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
    "finite_number": "write an ordinary number",
    "recursion_loop": "remove the alias that makes the document refer to itself",
}

# Characters that change how text is shown without being visible: bidi embeddings, overrides and isolates
# (the "Trojan Source" characters). Hindi and English need none of them; LRM/RLM and ZWJ/ZWNJ stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_NAMES = {"\x00": "NULL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE",
                  "\x7f": "DELETE"}
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
         (codecs.BOM_UTF16_BE, "UTF-16"))


def printable(text: str, limit: int = 120) -> str:
    """Text safe to echo into a report: invisible and control characters escaped, and cut to `limit`."""
    out = "".join(c if c == " " or c.isprintable() else _escaped(c) for c in text[: limit + 1])
    return out if len(out) <= limit and len(text) <= limit else out[: limit - 1] + "…"


def _escaped(char: str) -> str:
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def shown(value: object, limit: int = 60) -> str:
    """A value as the uploader wrote it, for a message: repr, escaped, and short."""
    if isinstance(value, (list, dict, tuple, set)):
        return f"a {type(value).__name__}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a very long number"  # repr() of a 5,000-digit int raises
    return printable(repr(value[: limit + 1] if isinstance(value, str) else value), limit)


def hidden_characters(text: str, *, line_breaks: bool) -> str | None:
    """What is wrong with control or direction-override characters in `text`, or None when there are none."""
    for position, char in enumerate(text):
        if char in _BIDI_CONTROLS or (unicodedata.category(char) == "Cc"
                                      and not (line_breaks and char in "\t\n\r")):
            name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "CONTROL CHARACTER")
            return f"it contains an invisible character (U+{ord(char):04X} {name}) at position {position + 1}"
    return None


def field_path(location: Iterable[Any]) -> str:
    path = ""
    parts = list(location)
    for index, part in enumerate(parts):
        if part == "[key]":
            continue  # pydantic's marker after a mapping key that is itself wrong: the key is the field
        if isinstance(part, int) and parts[index + 1: index + 2] != ["[key]"]:
            path += f"[{part}]"
        else:
            name = printable(str(part), 80)
            path += f".{name}" if path else name
    return path or "(file)"


def problems_from_validation(error: ValidationError, row: int | None = None) -> list[Problem]:
    problems = []
    details = error.errors(include_url=False, include_input=False, include_context=True)
    for detail in details[:MAX_PROBLEMS]:
        kind = detail["type"]
        message = detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        fix = detail.get("ctx", {}).get("fix") if isinstance(detail.get("ctx"), dict) else None
        if kind == "value_error" and _FIX_SEPARATOR in message:
            message, fix = message.split(_FIX_SEPARATOR, 1)
        problems.append(Problem(
            field=field_path(detail["loc"]),
            message=printable(message, 300),
            fix=fix or _FIXES.get(kind, "correct the value as described"),
            row=row,
        ))
    if len(details) > MAX_PROBLEMS:
        problems.append(Problem("(file)", f"and {len(details) - MAX_PROBLEMS:,} more problems like these",
                                "fix the ones above first, then upload again", row=row))
    return problems


def fixable(message: str, fix: str) -> ValueError:
    """A ValueError raised in a validator that carries its own fix (split by problems_from_validation)."""
    return ValueError(f"{message}{_FIX_SEPARATOR}{fix}")


def utf8_text(raw: bytes, fix: str) -> str:
    """The bytes of an upload as text: UTF-8, with or without Excel's byte-order mark; anything else is named."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise _invalid(f"the file is {name} text (it starts with a {name} byte-order mark), not UTF-8", fix)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _invalid(f"the file is not UTF-8 text (bad byte 0x{raw[exc.start]:02X} at position {exc.start}, "
                       f"line {line})", fix) from None


def unexpected(exc: BaseException, fix: str, subject: str = "the file") -> Problem:
    """The last line of defence: an exception no check foresaw, still answered in the uploader's report."""
    try:
        detail = printable(str(exc), 200)
    except Exception:  # str() of an exception can itself raise (a 5,000-digit int in its args)
        detail = ""
    field = "(file)" if subject == "the file" else "(row)"
    return Problem(field, f"{subject} could not be read: {type(exc).__name__}" + (f": {detail}" if detail else ""),
                   fix)


def _invalid(message: str, fix: str) -> InvalidContentError:
    return InvalidContentError([Problem("(file)", message, fix)])
