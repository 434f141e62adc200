"""Time rules: a time without a zone is India Standard Time; everything is stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def as_aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def to_iso(moment: datetime) -> str:
    """Sortable UTC text, the form used in every key and index."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def local_date(moment: datetime) -> date:
    """The campaign's calendar day (IST) that a moment falls on."""
    return moment.astimezone(IST).date()


def ist_text(moment: datetime) -> str:
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")
