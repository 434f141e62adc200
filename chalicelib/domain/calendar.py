"""A content calendar: one post per row of a CSV saved by Excel or LibreOffice.

Columns (product.md): publish_at, platforms, title, text, link, media, series — `platforms` and `media`
separated by `;`. A row is identified by its title within the file, so inserting, moving or re-timing rows
never duplicates a post: the same title with new text or a new time replaces what has not gone out.
Row numbers in problems are the spreadsheet's own (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidContentError, Problem

COLUMNS = ("publish_at", "platforms", "title", "text", "link", "media", "series")
REQUIRED = ("publish_at", "title")


@dataclass(frozen=True)
class CalendarRow:
    row: int                 # the spreadsheet's row number
    document: dict[str, Any]  # a manifest, as if uploaded on its own


def read_calendar(raw: bytes, max_bytes: int) -> tuple[list[CalendarRow], list[Problem]]:
    """The rows as manifests, and the problems of the file as a whole (which stop every row)."""
    if not raw.strip():
        raise InvalidContentError([Problem("(file)", "the file is empty",
                                           f"save the calendar with a header row: {','.join(COLUMNS)}")])
    if len(raw) > max_bytes:
        raise InvalidContentError([Problem("(file)", f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte "
                                           "limit", "split the calendar into several files")])
    try:
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as exc:
        raise InvalidContentError([Problem("(file)", f"the file is not UTF-8 (bad byte at position {exc.start})",
                                           "in Excel: Save As → CSV UTF-8; in LibreOffice: Character set "
                                           "Unicode (UTF-8)")]) from None
    records = csv.reader(io.StringIO(text, newline=""))  # not DictReader: it skips blank rows, shifting numbers
    header = [name.strip().lower() for name in next(records, [])]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name and name not in COLUMNS]
    problems = [Problem(name, f"the header has no {name} column", f"add a {name} column", row=1) for name in missing]
    problems += [Problem(name, f"{name!r} is not a calendar column", f"use only {', '.join(COLUMNS)}", row=1)
                 for name in unknown]
    if problems:
        raise InvalidContentError(problems)
    rows, seen = [], {}
    for number, record in enumerate(records, start=2):
        cells = zip(header, record, strict=False)
        values = {name: value.replace("\r\n", "\n").strip() for name, value in cells if name}
        if not any(values.values()):
            continue  # a blank line between weeks
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
            problems.append(Problem("title", f"the title repeats row {seen[title]}",
                                    "give every row its own title: titles tell the rows apart", row=number))
            continue
        seen[title] = number
        rows.append(CalendarRow(number, document))
    return rows, problems
