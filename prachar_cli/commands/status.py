"""`prachar status`: posts and their state on each account, by due time (IST)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import click

from prachar_cli.api import reported
from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say

IST = timezone(timedelta(hours=5, minutes=30), "IST")
# A post's states in the order of its story (docs/post-states.md); a state this list does not know goes last.
STATES = ("pending_approval", "scheduled", "queued", "publishing", "published", "ambiguous", "held_throttled",
          "held_account", "held_silence", "paused", "failed", "rejected", "expired", "withdrawn",
          "cancelled_campaign_over")
TROUBLE = {"failed", "ambiguous", "held_account", "held_throttled", "rejected", "expired"}
ALL = 1000  # the most the API lists at once
# The lists' --scope (status, pending): what the API's posts list takes.
scope_option = click.option("--scope", metavar="S", help=bilingual(
    "A scope you may see (default: your team's; a coordinator's: state).",
    "कोई स्कोप जो आप देख सकते हैं (डिफ़ॉल्ट: आपकी टीम का; कोऑर्डिनेटर के लिए: state)।"))


@click.command(cls=Command, help=bilingual(
    "Your posts and their state on each account, by due time (IST).",
    "आपकी पोस्ट और हर अकाउंट पर उनकी स्थिति, तय समय (IST) के क्रम में।"))
@scope_option
@click.option("--today", is_flag=True, help=bilingual(
    "Only posts due today (IST, by the system's clock).",
    "केवल आज (IST, सिस्टम की घड़ी से) की पोस्ट।"))
@click.option("--status", "status_", metavar="ST", help=bilingual(
    "Only posts with an account in this state (e.g. failed).",
    "केवल वे पोस्ट जिनका कोई अकाउंट इस स्थिति में है (जैसे failed)।"))
@click.option("--limit", type=click.IntRange(1, ALL), default=200, show_default=True, help=bilingual(
    "At most this many posts.", "अधिकतम इतनी पोस्ट।"))
@click.option("--json", "as_json", is_flag=True, help=bilingual(
    "Print the API's answer as JSON.", "API का जवाब JSON में छापें।"))
@reported
def status(scope: str | None, today: bool, status_: str | None, limit: int, as_json: bool) -> None:
    from prachar_cli import api

    client = api.signed_in()
    now = None
    if today:
        me = client.get("api/me")
        now = _time(me.get("now")) or datetime.now(UTC)
    listing = client.get("api/posts", {"scope": scope, "status": status_, "limit": ALL if today else limit})
    posts = listing.get("posts") or []
    if now is not None:
        day = now.astimezone(IST).date()
        posts = [p for p in posts if (_time(p.get("due_at")) or now).astimezone(IST).date() == day][:limit]
    if as_json:
        shown = {**listing, "posts": posts}
        if now is not None:
            shown["today"] = now.astimezone(IST).date().isoformat()
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    show_posts(listing, posts, now, today)


def show_posts(listing: dict[str, Any], posts: list[dict[str, Any]], now: datetime | None, today: bool) -> None:
    from rich.table import Table

    from prachar_cli.output import console, plain

    out = console()
    scope = plain(str(listing.get("scope") or ""))
    if today and now is not None:
        title = say("{scope}: due today, {day} (IST)", "{scope}: आज, {day} (IST)", scope=scope,
                    day=now.astimezone(IST).strftime("%Y-%m-%d"))
    else:
        title = say("{scope}: {n} of {total} post(s)", "{scope}: {total} में से {n} पोस्ट", scope=scope,
                    n=len(posts), total=listing.get("total", len(posts)))
    if listing.get("status"):
        title += f" · {plain(str(listing['status']))}"
    if not posts:
        out.print(title, soft_wrap=True)
        out.print(say("Nothing to show.", "दिखाने को कुछ नहीं।"), soft_wrap=True)
        return
    states = sorted({s for p in posts for s in (p.get("accounts") or {}).values()},
                    key=lambda s: (STATES.index(s) if s in STATES else len(STATES), s))
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column(say("due (IST) / id", "समय (IST) / आईडी"), no_wrap=True)
    table.add_column(say("title", "शीर्षक"), overflow="fold", ratio=2)
    for state in states:
        table.add_column(state.replace("_", " "), style="red" if state in TROUBLE else None, overflow="fold",
                         ratio=1)
    for post in posts:
        accounts = post.get("accounts") or {}
        cells = ["\n".join(plain(a) for a, s in sorted(accounts.items()) if s == state) for state in states]
        table.add_row(when_and_id(post), titled(post), *cells)
    out.print(table)


def titled(post: dict[str, Any]) -> str:
    """A post's title, and under it its scope (a lead's list holds the scopes inside theirs too)."""
    from prachar_cli.output import plain

    return f"{plain(str(post.get('title') or ''))}\n[dim]{plain(str(post.get('scope') or ''))}[/dim]"


def when_and_id(post: dict[str, Any]) -> str:
    from prachar_cli.output import plain

    return f"{due_text(post.get('due_at'))}\n[dim]{plain(str(post.get('id') or ''))}[/dim]"


def due_text(value: Any) -> str:
    moment = _time(value)
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M") if moment else str(value or "")


def _time(text: Any) -> datetime | None:
    from prachar_cli.campaign_cache import parse_time

    return parse_time(text)
