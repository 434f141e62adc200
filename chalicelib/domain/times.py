"""Time rules: a time without a zone is India Standard Time; everything is stored in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")
# The years a campaign can schedule in. Far outside them a time is a typo, and near datetime's own ends
# (year 1, 9999) converting between zones overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
EXAMPLE_TIME = "2021-03-05T09:00:00+05:30"
_NUMBER = re.compile(r"[+-]?[0-9_]+(\.[0-9]*)?([eE][+-]?[0-9]+)?")


def as_aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def unsure_time(value: object) -> str | None:
    """Why a raw value cannot be read as a time or date, or None if it may be one.

    A bare number would be read as seconds since 1970 — never what a team means by 20210305 — so only
    text (or a date the YAML parser already read) can be a time here."""
    if isinstance(value, bool):
        return "true/false is not a time"
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        return "a bare number is not a time"
    return None


def out_of_range(moment: date) -> str | None:
    """Why a time or date is not one a campaign could mean, or None."""
    if EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return None
    return f"the year {moment.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}"


def to_iso(moment: datetime) -> str:
    """Sortable UTC text, the form used in every key and index."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_precise_iso(moment: datetime) -> str:
    """Sortable UTC text that keeps microseconds (a consent time from a form export), always six digits so that
    texts compare as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_milliseconds(moment: datetime) -> int:
    """For what needs finer than to_iso's whole seconds (a pacing margin of one second)."""
    return round(moment.timestamp() * 1000)


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def local_date(moment: datetime) -> date:
    """The campaign's calendar day (IST) that a moment falls on."""
    return moment.astimezone(IST).date()


def ist_text(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")
