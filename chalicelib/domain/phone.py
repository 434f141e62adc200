"""Phone numbers as voters write them, made one canonical E.164 string (libphonenumber's rules, India by
default), and masked for every place a person reads one."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGION = "IN"


@dataclass(frozen=True)
class BadNumber:
    problem: str


def normalise(raw: str, region: str = DEFAULT_REGION) -> str | BadNumber:
    """+919876543210 for "98765 43210", "098765-43210", "+91 98765 43210", "919876543210"; else why not."""
    import phonenumbers

    text = (raw or "").strip()
    if not text:
        return BadNumber("the phone number is empty")
    if len(text) > 40:
        return BadNumber("the phone number is too long to be one")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return BadNumber("this is not a phone number")
    if not phonenumbers.is_valid_number(number):
        return BadNumber("no such number exists (wrong length or prefix)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_code_of(e164: str) -> str:
    import phonenumbers

    try:
        return str(phonenumbers.parse(e164, None).country_code)
    except phonenumbers.NumberParseException:
        return ""


def mask(e164: str) -> str:
    """+91XXXXXX1234: the country code and the last four digits."""
    digits = e164.lstrip("+")
    code = country_code_of(e164) if e164.startswith("+") else ""
    national = digits[len(code):]
    return f"+{code}{'X' * max(len(national) - 4, 0)}{national[-4:]}" if len(national) > 4 else "+XXXX"


def masked_digits(text: str) -> str:
    """Any run of five or more digits (a phone number, however spaced) shown as X's but its last four: free text
    that a person wrote a number into is kept and shown this way."""
    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return "X" * (len(digits) - 4) + digits[-4:]

    return _DIGIT_RUN.sub(hide, text)


_DIGIT_RUN = re.compile(r"\d(?:[\d \-\u00a0]*\d){4,}")
