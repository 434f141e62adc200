"""An audience CSV read as a stream of rows, each with the byte offset where it ends.

A million-row file never sits whole in memory: the bytes come in chunks (from S3), are cut into lines, decoded and
handed to the csv module one line at a time. After each row the offset of its end is known — a row boundary, even
when a quoted cell spans lines — so an import that runs out of Lambda time resumes exactly there, with a ranged GET.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_LINE = 64 * 1024  # no contact row needs more; a longer "line" is not a CSV of contacts


class NotText(ValueError):
    """The file is not UTF-8 text (or a line is absurdly long): nothing after this point can be read."""


@dataclass(frozen=True)
class Row:
    number: int         # the spreadsheet's row number (the header is row 1)
    cells: list[str]
    end: int            # the byte offset just after this row


class _Lines:
    """Decoded lines for csv.reader, remembering the byte offset after the last line it gave out."""

    def __init__(self, chunks: Iterable[bytes], start: int) -> None:
        self._chunks, self.offset, self._first = iter(chunks), start, start == 0

    def __iter__(self) -> Iterator[str]:
        buffer = b""
        for chunk in self._chunks:
            buffer += chunk
            while (cut := buffer.find(b"\n")) >= 0:
                line, buffer = buffer[:cut + 1], buffer[cut + 1:]
                yield self._text(line)
            if len(buffer) > MAX_LINE:
                raise NotText(f"a line is longer than {MAX_LINE:,} bytes")
        if buffer:
            yield self._text(buffer)

    def _text(self, line: bytes) -> str:
        self.offset += len(line)
        if self._first:
            self._first = False
            line = line.removeprefix(codecs.BOM_UTF8)  # Excel's "CSV UTF-8"
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            raise NotText("the file is not UTF-8 text — in Excel: Save As → CSV UTF-8 (Comma delimited); in "
                          "LibreOffice: Character set Unicode (UTF-8)") from None


def rows(chunks: Iterable[bytes], *, start: int = 0, first_row: int = 1) -> Iterator[Row]:
    """The rows from byte `start` (0, or a previous Row.end), numbered from `first_row`. Raises NotText, or
    csv.Error for a broken quote (the rows after it cannot be told apart)."""
    lines = _Lines(chunks, start)
    number, begun = first_row - 1, start
    for cells in csv.reader(lines, strict=True):
        number += 1
        if lines.offset - begun > MAX_LINE:  # quoted line breaks make one row of many lines: the same limit holds
            raise NotText(f"row {number} is longer than {MAX_LINE:,} bytes (a quote left open?)")
        begun = lines.offset
        yield Row(number, cells, lines.offset)
