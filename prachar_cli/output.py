"""Where the command line writes: rich's consoles, made on first use (importing rich costs ~50 ms: `--help` and
`prachar template` do without it)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@functools.cache
def errors() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def plain(text: str) -> str:
    """User text shown as it is: rich must not read `[…]` in a title as markup."""
    from rich.markup import escape

    return escape(text)
