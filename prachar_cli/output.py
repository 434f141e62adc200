"""Where the command line writes: rich's consoles, made on first use (importing rich costs ~50 ms: `--help` and
`prachar template` do without it), and text from elsewhere made safe to show on them.

Paths, keys and whatever a user, a shared content kit or the API wrote reach the terminal only through `printable()`
(paths, keys, one-line values) or `plain()` (text that may run over lines): rich markup in them is escaped, and so
are control characters — rich passes ESC on, so a file name could otherwise write the clipboard (OSC 52), clear the
screen or disguise a link (OSC 8) — as chalicelib.domain.problems.printable escapes them in a problem's words.
`visible()` is the same escaping without rich, for text that click prints.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Characters that change how the rest of a line reads: bidirectional overrides and isolates, and the marks that
# reorder text (chalicelib.domain.problems' set, with the implicit marks).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, line/paragraph separators


@functools.cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@functools.cache
def errors() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def visible(text: str, *, line_breaks: bool = False) -> str:
    """Text with its control characters (ESC, BEL, C1 controls…), bidirectional overrides, line separators and lone
    surrogates (a name that is not UTF-8) written as \\u escapes; with `line_breaks`, line feeds and tabs are kept.
    Joiners and non-joiners stay: Devanagari needs them."""
    if text.isprintable() and not _BIDI & set(text):
        return text
    return "".join(_escaped(char) if _hidden(char, line_breaks) else char for char in text)


def _hidden(char: str, line_breaks: bool) -> bool:
    if line_breaks and char in "\n\t":
        return False
    return char in _BIDI or unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escaped(char: str) -> str:
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def printable(text: object) -> str:
    """A path, a key or a value, for rich: on one line, control characters escaped, markup escaped."""
    from rich.markup import escape

    return escape(visible(str(text)))


def plain(text: str) -> str:
    """User text shown as it is, for rich: `[…]` in a title is not markup, and control characters are escaped (line
    feeds and tabs are kept)."""
    from rich.markup import escape

    return escape(visible(str(text), line_breaks=True))
