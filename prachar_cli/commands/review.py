"""`prachar pending`, `prachar approve` and `prachar reject`: the sign-off, as the dashboard's approval queue."""

from __future__ import annotations

import urllib.parse
from typing import Any

import click

from prachar_cli.api import reported
from prachar_cli.commands.status import scope_option
from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say


@click.command(cls=Command, help=bilingual(
    "Posts waiting for approval in what you can see, by due time (IST).",
    "जो आप देख सकते हैं उसमें मंज़ूरी की प्रतीक्षा कर रही पोस्ट, तय समय (IST) के क्रम में।"))
@scope_option
@reported
def pending(scope: str | None) -> None:
    from rich.table import Table

    from prachar_cli import api
    from prachar_cli.commands.status import due_text, titled
    from prachar_cli.output import console, plain

    listing = api.signed_in().get("api/posts", {"scope": scope, "status": "pending_approval", "limit": 1000})
    posts = listing.get("posts") or []
    out = console()
    if not posts:
        out.print(say("Nothing waits for approval in {scope}.", "{scope} में कुछ भी मंज़ूरी की प्रतीक्षा में नहीं है।",
                      scope=plain(str(listing.get("scope") or ""))), soft_wrap=True)
        return
    table = Table(title=say("{scope}: {n} post(s) waiting for approval", "{scope}: {n} पोस्ट मंज़ूरी की प्रतीक्षा में",
                            scope=plain(str(listing.get("scope") or "")), n=len(posts)), title_justify="left")
    table.add_column(say("id / due (IST)", "आईडी / समय (IST)"), no_wrap=True)
    table.add_column(say("title", "शीर्षक"), overflow="fold", ratio=3)
    table.add_column(say("rev.", "संस्करण"), justify="right", no_wrap=True)
    table.add_column(say("waiting", "प्रतीक्षारत"), overflow="fold", ratio=2)
    for post in posts:
        waiting = sorted(a for a, s in (post.get("accounts") or {}).items() if s == "pending_approval")
        table.add_row(f"{plain(str(post.get('id')))}\n[dim]{due_text(post.get('due_at'))}[/dim]", titled(post),
                      str(post.get("revision", "")), plain("\n".join(waiting)))
    out.print(table)
    out.print(say("Decide: prachar approve ID [--note …] · prachar reject ID --reason …",
                  "निर्णय: prachar approve ID [--note …] · prachar reject ID --reason …"), soft_wrap=True)


def _post(client: Any, content_id: str) -> dict[str, Any]:
    """The post as it stands (its revision: the one the decision is about)."""
    return client.get(f"api/posts/{urllib.parse.quote(content_id, safe='')}")


def _heading(post: dict[str, Any]) -> str:
    from prachar_cli.output import plain

    return say("“{title}” ({scope}, revision {revision}, {key})", "“{title}” ({scope}, संस्करण {revision}, {key})",
               title=plain(str(post.get("title") or "")), scope=plain(str(post.get("scope") or "")),
               revision=post.get("revision"), key=plain(str(post.get("key") or "")))


@click.command(cls=Command, help=bilingual(
    "Approve a post: the revision it has now (read first, so no wording you did not see goes out).",
    "पोस्ट को मंज़ूरी दें: उसका अभी का संस्करण (पहले पढ़ा जाता है, ताकि बिना देखे शब्द न जाएँ)।"))
@click.argument("content_id", metavar="ID")
@click.option("--note", metavar="N", default="", help=bilingual(
    "A note kept with the approval (e.g. facts checked).",
    "मंज़ूरी के साथ रखी जाने वाली टिप्पणी (जैसे तथ्य जाँचे गए)।"))
@reported
def approve(content_id: str, note: str) -> None:
    from prachar_cli import api
    from prachar_cli.output import console, plain

    client = api.signed_in()
    post = _post(client, content_id)
    out = console()
    out.print(say("Approving {post}", "मंज़ूरी दी जा रही है: {post}", post=_heading(post)), soft_wrap=True)
    text = (post.get("manifest") or {}).get("text")
    if isinstance(text, str) and text.strip():
        out.print(f"  [dim]{plain(text.strip())}[/dim]", soft_wrap=True)
    body: dict[str, Any] = {"revision": post.get("revision")}
    if note:
        body["note"] = note
    result = client.post(f"api/posts/{urllib.parse.quote(content_id, safe='')}/approve", body)
    out.print(say("[green]✓[/green] Approved by {by} for {accounts}.", "[green]✓[/green] {by} ने {accounts} के लिए "
                  "मंज़ूरी दी।", by=plain(str(result.get("approved_by") or "")),
                  accounts=plain(", ".join(result.get("accounts") or []))), soft_wrap=True)


@click.command(cls=Command, help=bilingual(
    "Reject a post, with the reason (the team sees it on the post).",
    "कारण सहित पोस्ट अस्वीकार करें (टीम उसे पोस्ट पर देखती है)।"))
@click.argument("content_id", metavar="ID")
@click.option("--reason", metavar="R", required=True, help=bilingual(
    "Why (shown to the team).", "क्यों (टीम को दिखाया जाता है)।"))
@reported
def reject(content_id: str, reason: str) -> None:
    from prachar_cli import api
    from prachar_cli.output import console, plain

    if not reason.strip():
        raise click.UsageError(say("say why: --reason \"…\"", "कारण बताएँ: --reason \"…\""))
    client = api.signed_in()
    post = _post(client, content_id)
    out = console()
    out.print(say("Rejecting {post}", "अस्वीकार किया जा रहा है: {post}", post=_heading(post)), soft_wrap=True)
    result = client.post(f"api/posts/{urllib.parse.quote(content_id, safe='')}/reject",
                         {"reason": reason, "revision": post.get("revision")})
    out.print(say("[green]✓[/green] Rejected by {by} for {accounts}: {reason}",
                  "[green]✓[/green] {by} ने {accounts} के लिए अस्वीकार किया: {reason}",
                  by=plain(str(result.get("rejected_by") or "")),
                  accounts=plain(", ".join(result.get("accounts") or [])),
                  reason=plain(str(result.get("reason") or reason))), soft_wrap=True)
