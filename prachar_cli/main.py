"""The `prachar` command: a click group whose commands are imported only when run, so `prachar --help` is quick."""

from __future__ import annotations

import importlib

import click

from prachar_cli import i18n

# name → (module in prachar_cli.commands, its click command, one line of help in English and Hindi)
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "check": ("check", "check", "Check manifests, calendars and audience files offline, as the system would.",
              "मैनिफ़ेस्ट, कैलेंडर और ऑडियंस फ़ाइलें बिना अपलोड किए जाँचें, ठीक वैसे जैसे सिस्टम जाँचेगा।"),
    "upload": ("upload", "upload", "Upload files under your team's prefix and wait for the system's answer.",
               "फ़ाइलें अपनी टीम के फ़ोल्डर में अपलोड करें और सिस्टम का जवाब देखें।"),
    "status": ("status", "status", "Your posts and their state on each account.",
               "आपकी पोस्ट और हर अकाउंट पर उनकी स्थिति।"),
    "pending": ("review", "pending", "Posts waiting for your approval.", "आपकी मंज़ूरी की प्रतीक्षा में पोस्ट।"),
    "approve": ("review", "approve", "Approve a post.", "पोस्ट को मंज़ूरी दें।"),
    "reject": ("review", "reject", "Reject a post, with the reason.", "कारण सहित पोस्ट अस्वीकार करें।"),
    "pause": ("control", "pause", "Pause publishing for a scope (or everything).",
              "किसी स्कोप (या सब) का प्रकाशन रोकें।"),
    "resume": ("control", "resume", "Resume publishing for a scope.", "किसी स्कोप का प्रकाशन फिर शुरू करें।"),
    "template": ("template", "template", "Write a starter calendar, manifest or audience file.",
                 "कैलेंडर, मैनिफ़ेस्ट या ऑडियंस की शुरुआती फ़ाइल बनाएँ।"),
    "login": ("login", "login", "Sign in with your campaign member id.", "अपनी कैंपेन सदस्य आईडी से साइन इन करें।"),
    "logout": ("login", "logout", "Forget the saved sign-in.", "सहेजा हुआ साइन-इन भूल जाएँ।"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"prachar_cli.commands.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The one-line help without importing every command's module.
        rows = [(name, i18n.say(english, hindi)) for name, (_, _, english, hindi) in COMMANDS.items()]
        with formatter.section(i18n.say("Commands", "कमांड")):
            formatter.write_dl(rows)


def _language(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    return i18n.choose(value)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), callback=_language, is_eager=True, expose_value=False,
              envvar="PRACHAR_LANG", help="en | hi (default: PRACHAR_LANG, else your locale).")
@click.version_option(package_name="prachar", prog_name="prachar")
def cli() -> None:
    """Prachar (प्रचार): check and upload your team's content, and see what became of it.

    \b
    Start:   prachar login --api https://<api>/api   (ask your coordinator for the address)
    Check:   prachar check post.yaml week.csv
    Upload:  prachar upload post.yaml poster.jpg
    See:     prachar status --today
    """
