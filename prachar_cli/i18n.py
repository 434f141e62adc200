"""The command line speaks Hindi or English: `--lang`, else PRACHAR_LANG, else the terminal's locale (LANG=hi_IN…).

Each message is written at its call site in both languages — `say("{n} files", "{n} फ़ाइलें", n=2)` — so a
command's words live beside the code that prints them. The problems themselves are the system's own words (those
of `errors/<key>.json`, in English), so that what `prachar check` says is exactly what the upload would be told.
"""

from __future__ import annotations

import os

LANGUAGES = ("en", "hi")
_chosen: str | None = None


def choose(language: str | None) -> str:
    """The language for this run: the one asked for, else PRACHAR_LANG, else the locale; English by default."""
    global _chosen
    wanted = language or os.environ.get("PRACHAR_LANG") or ""
    if not wanted:
        locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
        wanted = "hi" if locale.lower().startswith("hi") else "en"
    _chosen = wanted.lower()[:2] if wanted.lower()[:2] in LANGUAGES else "en"
    return _chosen


def language() -> str:
    return _chosen or choose(None)


def say(english: str, hindi: str, **values: object) -> str:
    return (hindi if language() == "hi" else english).format(**values)
