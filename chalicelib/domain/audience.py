"""An audience file: opted-in WhatsApp contacts of one constituency, one per row (product.md, compliance.md).

Columns `phone,name,consent_source,consent_at,notice_version,language`, more allowed (e.g. `booth`). DPDP asks for
consent that is specific and informed, recorded with its source, time, notice and language; a row without all of
it is refused — row by row, so the rest of the file goes ahead. A purchased or scraped list is not consent,
whatever its rows say, so a source that names one is refused too. Nothing here ever holds a number in a message:
problems name the row and the masked number.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.contacts import ERASED, SHARDS, Sealed, StoredContact, Suppression, replaces  # noqa: F401 (also named here)
from chalicelib.domain.phone import BadNumber, mask, masked_digits, normalise
from chalicelib.domain.problems import printable
from chalicelib.domain.times import IST
from chalicelib.errors import Problem

if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign

COLUMNS = ("phone", "name", "consent_source", "consent_at", "notice_version", "language")
CONSENT_FIELDS = ("consent_source", "consent_at", "notice_version", "language")
LANGUAGES = {"hi": "hi", "hin": "hi", "hindi": "hi", "हिंदी": "hi", "हिन्दी": "hi",
             "en": "en", "eng": "en", "english": "en", "अंग्रेज़ी": "en", "अंग्रेजी": "en"}
# Words that say the list was not given by the people on it (compliance.md: "not consent").
NOT_CONSENT = ("purchase", "purchased", "bought", "buy", "scrape", "scraped", "broker", "vendor", "rented",
               "third party", "third-party", "thirdparty", "database", "खरीद", "ख़रीद")
MAX_EXTRA = 10          # columns beyond the six: booth, ward, … — kept sealed with the contact
MAX_CELL = 200          # no field of a contact needs more
CLOCK_SKEW = timedelta(minutes=5)  # a consent time "in the future" by less is the phone's clock
EARLIEST_CONSENT = datetime(2009, 1, 1, tzinfo=IST)  # WhatsApp did not exist before: an older date is a placeholder
_SAVE_AS = "in Excel: Save As → CSV UTF-8 (Comma delimited); in LibreOffice: Character set Unicode (UTF-8)"


@dataclass(frozen=True)
class Contact:
    row: int
    phone: str              # E.164
    name: str
    consent_source: str
    consent_at: datetime
    notice_version: str
    language: str           # hi | en
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    row: int
    reason: str             # a short key for the counts: invalid_number, no_consent, …
    problems: tuple[Problem, ...]


def check_header(header: list[str]) -> tuple[list[str], list[Problem]]:
    """The column names as the rows are read (lower case, trimmed), and what stops the whole file."""
    names = [name.strip().strip("\ufeff").lower() for name in header]
    counts = Counter(name for name in names if name)
    problems = [Problem(name, f"the header has no {name} column", f"add a {name} column", row=1)
                for name in COLUMNS if name not in counts]
    problems += [Problem(masked_digits(printable(name, 60)), f"the header names {masked_digits(printable(name, 60))} "
                         "twice", "keep one column of each name (is the header row missing?)", row=1)
                 for name, n in counts.items() if n > 1]
    extra = [name for name in counts if name not in COLUMNS]
    if len(extra) > MAX_EXTRA:
        problems.append(Problem("(header)", f"the header has {len(extra)} columns beyond the six the import reads",
                                f"keep at most {MAX_EXTRA} more (booth, ward, …)", row=1))
    if len(counts) == 1:
        [only] = counts
        for separator, what in ((";", "semicolons"), ("\t", "tabs")):
            if separator in only:
                problems = [Problem("(file)", f"the columns are separated by {what}, not commas",
                                    f"save the file as comma-separated: {_SAVE_AS}", row=1)]
    return names, problems


def check_row(number: int, names: list[str], cells: list[str], now: datetime,
              notices: frozenset[str] | None = None, region: str = "IN") -> Contact | Refusal | None:
    """One row: a contact, the reasons it is refused, or None for a blank line."""
    values = {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name}
    if not any(values.values()) and not any(c.strip() for c in cells[len(names):]):
        return None
    phone = normalise(values.get("phone", ""), region)
    if isinstance(phone, BadNumber):
        return Refusal(number, "invalid_number", (Problem("phone", phone.problem,
                                                          "write the number with its 10 digits, e.g. 98765 43210 or "
                                                          "+91 98765 43210", row=number),))
    shown = _Masked(phone)  # masked only for a problem: most rows have none, and masking parses the number again
    problems: list[Problem] = []
    reason = "no_consent"
    for name in CONSENT_FIELDS:
        if not values.get(name):
            problems.append(Problem(name, f"{shown}: {name} is empty — without it there is no record of consent",
                                    f"fill in {name}, or leave the person out of the file", row=number))
    source = values.get("consent_source", "")
    if source and any(unicodedata.normalize("NFC", word) in unicodedata.normalize("NFC", source).casefold()
                      for word in NOT_CONSENT):
        reason = "not_consent"
        problems.append(Problem("consent_source", f"{shown}: {printable(source, 60)!r} names a list the person did "
                                "not give their number to; that is not consent (DPDP Act 2023)",
                                "import only people who opted in themselves (a form, a missed call, a reply)",
                                row=number))
    consent_at = _moment(values.get("consent_at", ""))
    if values.get("consent_at") and consent_at is None:
        problems.append(Problem("consent_at", f"{shown}: {printable(values['consent_at'], 40)!r} is not a time",
                                "write when they consented, like 2021-03-01T10:30:00+05:30 or 2021-03-01", row=number))
    elif consent_at is not None and consent_at < EARLIEST_CONSENT:
        problems.append(Problem("consent_at", f"{shown}: consent at {consent_at:%Y-%m-%d} is before anyone could "
                                "have given it (an empty date a spreadsheet filled in?)",
                                "write when they consented, like 2021-03-01", row=number))
    elif consent_at is not None and consent_at > now + CLOCK_SKEW:
        problems.append(Problem("consent_at", f"{shown}: consent at {consent_at:%Y-%m-%d %H:%M} is in the future",
                                "check the date (day and month the right way round)", row=number))
    notice = values.get("notice_version", "")
    if notice and notices is not None and notice not in notices:
        problems.append(Problem("notice_version", f"{shown}: notice {printable(notice, 40)!r} is not one this "
                                "campaign has given", f"use one of {', '.join(sorted(notices))}", row=number))
    language = LANGUAGES.get(values.get("language", "").casefold())
    if language is None and values.get("language"):
        problems.append(Problem("language", f"{shown}: language {printable(values.get('language', ''), 20)!r} is "
                                "not one the campaign writes in", "write hi or en", row=number))
    too_long = [name for name, value in values.items() if len(value) > MAX_CELL]
    problems += [Problem(name, f"{shown}: {name} is longer than {MAX_CELL} characters", "shorten it", row=number)
                 for name in too_long]
    if problems:
        unknown_language = language is None and values.get("language")  # a row to fix, not a missing consent
        if reason != "not_consent" and not any(p.field in CONSENT_FIELDS and not (
                p.field == "language" and unknown_language) for p in problems):
            reason = "invalid_row"
        return Refusal(number, reason, tuple(problems))
    assert consent_at is not None and language is not None
    extra = {name: value for name, value in values.items() if name not in COLUMNS and value}
    return Contact(number, phone, values.get("name", ""), source, consent_at, notice, language, extra)


class _Masked:
    def __init__(self, phone: str) -> None:
        self._phone, self._shown = phone, ""

    def __format__(self, spec: str) -> str:
        self._shown = self._shown or mask(self._phone)
        return format(self._shown, spec)





def _moment(text: str) -> datetime | None:
    """A time, or a date (its start, IST); a time without a zone is IST."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=IST)


# ---- what an audience file is refused for as a whole (the import and `prachar check` alike) ------------------
def constituency_of(key: str) -> str:
    """The constituency an audience file is uploaded for: audience/<constituency>/…/<name>.csv."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else ""


def not_a_constituency(key: str, campaign: Campaign) -> Problem | None:
    """An audience file under a prefix that names no constituency of the campaign: nothing of it is imported."""
    constituency = constituency_of(key)
    if any(c.id == constituency for c in campaign.constituencies):
        return None
    return Problem("(key)", f"{constituency!r} is not a constituency of the campaign", "upload under "
                   f"audience/<constituency id>/, e.g. audience/{campaign.constituencies[0].id}/contacts.csv")


def empty_audience() -> Problem:
    return Problem("(file)", "the file is empty", f"save it with a header row: {','.join(COLUMNS)}")


def unreadable_audience(after_row: int, exc: BaseException) -> Problem:
    """An audience file that cannot be read past a row (not UTF-8, a broken quote): the rows before it go in."""
    return Problem("(row)", f"the file could not be read after row {after_row} ({exc}); the rows before it were "
                   "imported", "save the file again as CSV UTF-8 and upload it", row=after_row + 1)
