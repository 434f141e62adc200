"""A content calendar: one post per row of a CSV saved by Excel or LibreOffice.

Columns (product.md): publish_at, platforms, title, text, link, media, series — `platforms` and `media`
separated by `;`. A row is identified by its title within the file, so inserting, moving or re-timing rows
never duplicates a post: the same title with new text or a new time replaces what has not gone out.
Row numbers in problems are the spreadsheet's own (the header is row 1).

A cell that looks like a spreadsheet formula (`=HYPERLINK(…)`, `+91…`, `-`, `@SUM(…)`) is text here: a
social post may well start with "@" (a mention), "+" (a phone number) or "-" (a list), and nothing in this
system evaluates a cell. What such a cell can still do is go wrong in a spreadsheet that opens the text
again, so anything that ever writes post text back into a CSV must quote it as text (a leading "'") —
nothing does today. The other columns refuse such values by their own rules (a time, a platform, a link,
a file name).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.phone import masked_digits
from chalicelib.domain.problems import printable, utf8_text
from chalicelib.errors import InvalidContentError, Problem

COLUMNS = ("publish_at", "platforms", "title", "text", "link", "media", "series")
REQUIRED = ("publish_at", "title")
# A month of posts for one scope at ten a day is 300; each new row costs a few DynamoDB writes, and the whole file
# must be answered within its Lambda's 60 seconds.
MAX_ROWS = 500
_SAVE_AS = "in Excel: Save As → CSV UTF-8 (Comma delimited); in LibreOffice: Character set Unicode (UTF-8)"


@dataclass(frozen=True)
class CalendarRow:
    row: int                  # the spreadsheet's row number
    document: dict[str, Any]  # a manifest, as if uploaded on its own
    problems: tuple[Problem, ...] = ()  # found while reading the row: it is reported, not planned


@dataclass
class CalendarFile:
    rows: list[CalendarRow]
    problems: list[Problem] = field(default_factory=list)
    # False when a row could not be read at all: the rows after it are unknown, so none may be withdrawn.
    complete: bool = True

    def __iter__(self) -> Iterator[Any]:
        return iter((self.rows, self.problems))


def read_calendar(raw: bytes, max_bytes: int) -> CalendarFile:
    """The rows as manifests, and the problems of the file as a whole (which stop every row).

    Total by design: whatever the bytes, the only exception is InvalidContentError."""
    if not raw.strip():
        raise _invalid("the file is empty", f"save the calendar with a header row: {','.join(COLUMNS)}")
    if len(raw) > max_bytes:
        raise _invalid(f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit",
                       "split the calendar into several files")
    text = utf8_text(raw, _SAVE_AS)  # Excel's "CSV UTF-8" starts with a byte-order mark
    if not text.strip(" \t\r\n\ufeff"):
        raise _invalid("the file is empty", f"save the calendar with a header row: {','.join(COLUMNS)}")
    # The csv module's limit on one cell (128 KiB) is process-wide; a cell up to the whole file is read, so that
    # an oversized text is reported at its row and column instead of breaking the rows after it.
    if csv.field_size_limit() < len(text) + 1:
        csv.field_size_limit(len(text) + 1)
    # not DictReader: it skips blank rows, shifting numbers. strict: a stray quote is an error, not a silent
    # merge of the rows after it into one cell.
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().strip("\ufeff").lower() for name in next(records, [])]
    except csv.Error as exc:
        raise _invalid(f"the header row could not be read: {exc}", "check the quotes in the first row") from None
    _check_header(header)
    calendar = CalendarFile(rows=[])
    seen: dict[str, int] = {}
    number, filled = 1, 0
    while True:
        number += 1
        try:
            record = next(records, None)
        except csv.Error as exc:
            calendar.problems.append(Problem(
                "(row)", f"this row could not be read ({exc}); it and the rows after it were not read",
                "check the quotes in this row: a cell that contains a comma, a quote or a line break is written "
                "in double quotes, with each quote inside it doubled (\"\"); then upload the file again", row=number))
            calendar.complete = False
            return calendar
        if record is None:
            return calendar
        values = {name: value.replace("\r\n", "\n").strip() for name, value in zip(header, record, strict=False)
                  if name}
        extra = [cell for cell in record[len(header):] if cell.strip()]
        if not any(values.values()) and not extra:
            continue  # a blank line between weeks
        filled += 1
        if filled > MAX_ROWS:
            raise _invalid(f"the calendar has more than {MAX_ROWS:,} rows", "split it into several files")
        document: dict[str, Any] = {"title": values.get("title", ""), "publish_at": values.get("publish_at") or None}
        for name in ("text", "link", "series"):
            if values.get(name):
                document[name] = values[name]
        for name in ("platforms", "media"):
            items = [item.strip() for item in values.get(name, "").split(";") if item.strip()]
            if items:
                document[name] = items
        title = document["title"]
        if title in seen:
            calendar.problems.append(Problem("title", f"the title repeats row {seen[title]}",
                                             "give every row its own title: titles tell the rows apart", row=number))
            continue
        seen[title] = number
        problems: tuple[Problem, ...] = ()
        if extra:
            problems = (Problem("(row)", f"the row has {len(record):,} cells; the header "
                                f"has {len(header)}", "put a cell that contains a comma in double quotes, or remove "
                                "the cells after the last column", row=number),)
        calendar.rows.append(CalendarRow(number, document, problems))


def _check_header(header: list[str]) -> None:
    named = Counter(name for name in header if name)
    if len(named) == 1:
        [only] = named
        for separator, what in ((";", "semicolons"), ("\t", "tabs")):
            if separator in only:
                raise _invalid(f"the columns are separated by {what}, not commas",
                               f"save the calendar as comma-separated: {_SAVE_AS}", row=1)
    missing = [name for name in REQUIRED if name not in named]
    unknown = [name for name in named if name not in COLUMNS]
    repeated = sorted(name for name, count in named.items() if count > 1 and name in COLUMNS)
    problems = [Problem(name, f"the header has no {name} column", f"add a {name} column", row=1) for name in missing]
    # A header cell may be a voter's number (a contacts file uploaded as a calendar): named masked, as the audience
    # import names numbers, since problems go to errors/ and the activity log.
    problems += [Problem(masked_digits(_short(name)), f"'{masked_digits(_short(name))}' is not a calendar column",
                         f"use only {', '.join(COLUMNS)}", row=1) for name in unknown[:20]]
    problems += [Problem(name, f"the header names {name} twice", "keep one column of each name", row=1)
                 for name in repeated]
    if problems:
        raise InvalidContentError(problems)


def _short(name: str) -> str:
    return printable(name, 60)


def _invalid(message: str, fix: str, row: int | None = None) -> InvalidContentError:
    return InvalidContentError([Problem("(file)", message, fix, row=row)])
