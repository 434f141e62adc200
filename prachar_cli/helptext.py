"""Help in the language chosen for the run, though click reads a command's help when its module is imported.

The language is chosen at run time (`--lang`, PRACHAR_LANG, the locale: i18n.choose), after the decorators ran, so
a `help=` string cannot be picked at definition time. Instead each help text is written in both languages:

    from prachar_cli.helptext import Command, bilingual

    @click.command(cls=Command, help=bilingual("Upload files …", "फ़ाइलें अपलोड करें …"))
    @click.option("--folder", help=bilingual("A folder under the scope.", "स्कोप के अंदर एक फ़ोल्डर।"))
    def upload(...): ...

`bilingual(english, hindi)` is a str whose value is the English (what any plain string operation sees, so nothing
breaks where it is not translated) and which remembers its Hindi; a command's own help renders in the chosen
language even in a plain click.Command. click cleans an option's help up into a new string when the option is made,
so the pair is also kept in a small catalog (English → Hindi, like gettext's): `Command` renders its usage line,
help text, options (click's own "--help" line included) and short help through it. Use `cls=Command` for every
command, so that its options too are shown in the chosen language.

Only click and i18n here: `prachar <command> --help` stays light (tests/unit/test_cli_light.py).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import click

from prachar_cli import i18n

# English help as click keeps it (inspect.cleandoc) → its Hindi. click's own words for the help option are here too.
_HINDI: dict[str, str] = {"Show this message and exit.": "यह सहायता दिखाकर बाहर निकलें।"}


class Bilingual(str):
    """Help text in English and Hindi. Its value is the English; `chosen()` is the text in the run's language."""

    hindi: str

    def __new__(cls, english: str, hindi: str) -> Bilingual:
        text = super().__new__(cls, english)
        text.hindi = hindi
        return text

    def chosen(self) -> str:
        return self.hindi if i18n.language() == "hi" else str(self)

    def expandtabs(self, tabsize: int = 8) -> str:
        # inspect.cleandoc's first step: click cleans a command's help up this way just before it shows it.
        return self.chosen().expandtabs(tabsize)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Bilingual, (str(self), self.hindi))


def bilingual(english: str, hindi: str) -> str:
    """Help text that click shows in the language chosen for the run (see the module's docstring)."""
    _HINDI[inspect.cleandoc(english)] = inspect.cleandoc(hindi)
    return Bilingual(english, hindi)


def translated(text: str | None) -> str | None:
    """A help text in the run's language: a Bilingual's own choice, else the catalog's Hindi for its English."""
    if text is None:
        return None
    if isinstance(text, Bilingual):
        return text.chosen()
    if i18n.language() == "hi":
        return _HINDI.get(text, _HINDI.get(inspect.cleandoc(text), text))
    return text


class Command(click.Command):
    """A click command whose help — usage line, text, options, short help, epilog — is in the run's language."""

    def _shown(self) -> Command:
        shown = copy.copy(self)
        shown.help, shown.short_help = translated(self.help), translated(self.short_help)
        shown.epilog = translated(self.epilog)
        return shown

    def get_short_help_str(self, limit: int = 45) -> str:
        return click.Command.get_short_help_str(self._shown(), limit)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=i18n.say("Usage: ", "उपयोग: "))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_help_text(self._shown(), ctx, formatter)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        click.Command.format_epilog(self._shown(), ctx, formatter)

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [_record(param, ctx) for param in self.get_params(ctx)
                if isinstance(param, click.Argument) and param.help is not None]
        if rows:
            with formatter.section(i18n.say("Positional arguments", "स्थितीय आर्ग्युमेंट")):
                formatter.write_dl([row for row in rows if row is not None])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [_record(param, ctx) for param in self.get_params(ctx) if not isinstance(param, click.Argument)]
        rows = [row for row in rows if row is not None]
        if rows:
            with formatter.section(i18n.say("Options", "विकल्प")):
                formatter.write_dl(rows)


def _record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """A parameter's row of help with its text in the run's language (the parameter itself left as it is)."""
    shown = copy.copy(param)
    shown.help = translated(getattr(param, "help", None))  # type: ignore[attr-defined]
    return shown.get_help_record(ctx)
