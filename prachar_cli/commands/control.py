"""`prachar pause` and `prachar resume`: the kill switch."""

from __future__ import annotations

from typing import Any

import click

from prachar_cli.api import reported
from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say


@click.command(cls=Command, help=bilingual(
    "Pause publishing for SCOPE and everything inside it — without SCOPE, everything you may pause (a coordinator: "
    "the whole campaign; a lead: their team's scope). Posts not yet sent stop, including those already queued.",
    "SCOPE और उसके अंदर की हर चीज़ का प्रकाशन रोकें — SCOPE के बिना, वह सब जो आप रोक सकते हैं (कोऑर्डिनेटर: पूरा "
    "कैंपेन; लीड: अपनी टीम का स्कोप)। जो पोस्ट अभी नहीं गईं वे रुक जाती हैं, कतार में लगी पोस्ट भी।"))
@click.argument("scope", required=False, metavar="[SCOPE]")
@click.option("--reason", metavar="R", required=True, help=bilingual(
    "Why (shown on every paused post).", "क्यों (हर रुकी पोस्ट पर दिखाया जाता है)।"))
@reported
def pause(scope: str | None, reason: str) -> None:
    from prachar_cli import api
    from prachar_cli.output import console, plain

    if not reason.strip():
        raise click.UsageError(say("say why: --reason \"…\"", "कारण बताएँ: --reason \"…\""))
    body: dict[str, Any] = {"reason": reason}
    if scope:
        body["scope"] = scope
    result = api.signed_in().post("api/pause", body)
    paused = plain(str(result.get("paused") or scope or ""))
    console().print(say("[yellow]⏸[/yellow] Publishing paused for {scope} by {by}: {reason}\n"
                        "  Resume with: prachar resume {scope}",
                        "[yellow]⏸[/yellow] {scope} का प्रकाशन {by} ने रोका: {reason}\n"
                        "  फिर शुरू करें: prachar resume {scope}",
                        scope=paused, by=plain(str(result.get("by") or "")),
                        reason=plain(str(result.get("reason") or reason))), soft_wrap=True)


@click.command(cls=Command, help=bilingual(
    "Resume publishing for SCOPE (a lead lifts only a lead's pause; a coordinator's, a coordinator).",
    "SCOPE का प्रकाशन फिर शुरू करें (लीड केवल लीड की रोक हटाता है; कोऑर्डिनेटर की रोक, कोऑर्डिनेटर)।"))
@click.argument("scope", metavar="SCOPE")
@reported
def resume(scope: str) -> None:
    from prachar_cli import api
    from prachar_cli.output import console, plain

    result = api.signed_in().post("api/resume", {"scope": scope})
    resumed = plain(str(result.get("resumed") or scope))
    if result.get("was_paused"):
        console().print(say("[green]▶[/green] Publishing resumed for {scope}; {n} paused post(s) go out now.",
                            "[green]▶[/green] {scope} का प्रकाशन फिर शुरू; {n} रुकी पोस्ट अब जाएँगी।",
                            scope=resumed, n=result.get("posts_released", 0)), soft_wrap=True)
    else:
        console().print(say("{scope} was not paused; nothing changed.", "{scope} रुका नहीं था; कुछ नहीं बदला।",
                            scope=resumed), soft_wrap=True)
