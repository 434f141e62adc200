"""`prachar upload`: files under the team's prefix, then the system's answer to each."""

from __future__ import annotations

import click

from prachar_cli.api import reported
from prachar_cli.i18n import say


@click.command(help="Upload files under your team's prefix and wait for the system's answer to each manifest, "
                    "calendar and audience file. Exit 0: all accepted; 1: something was refused or unanswered.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, readable=True))
@click.option("--scope", metavar="SCOPE", help="Upload for this scope (default: your team's, e.g. "
                                                "constituency/sahada). It must be your team's.")
@click.option("--folder", metavar="F", default="", help="A folder under the scope's prefix (e.g. 2021-03).")
@click.option("--as", "as_kind", metavar="KIND", help="Take every file as this kind (manifest, calendar, audience, "
                                                      "media), whatever its name.")
@click.option("--bucket", metavar="NAME", help="The content bucket (default: the one the API names).")
@click.option("--no-wait", is_flag=True, help="Upload and exit without waiting for the system's answers.")
@click.option("--timeout", metavar="S", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Seconds to wait for the answers.")
@reported
def upload(paths: tuple[str, ...], scope: str | None, folder: str, as_kind: str | None, bucket: str | None,
           no_wait: bool, timeout: float) -> None:
    from prachar_cli import api, uploading
    from prachar_cli.campaign_cache import parse_time
    from prachar_cli.output import console, plain

    client = api.signed_in()
    me = client.get("api/me")
    team = me.get("team") or {}
    scope = scope or team.get("scope")
    if not scope:
        raise api.CliError(say("You are in no team of the campaign, so there is no prefix to upload under: ask a "
                               "coordinator.", "आप कैंपेन की किसी टीम में नहीं हैं, इसलिए अपलोड का कोई फ़ोल्डर नहीं: "
                               "किसी कोऑर्डिनेटर से पूछें।"))
    bucket = bucket or me.get("bucket")
    if not bucket:
        raise click.UsageError(say("the API names no content bucket: give --bucket", "API ने कोई बकेट नहीं बताया: "
                                   "--bucket दें"))
    items = plan(list(paths), scope, folder, as_kind)
    if not items:
        raise click.UsageError(say("nothing to upload", "अपलोड करने को कुछ नहीं"))
    refusal = uploading.scope_refusal(scope, me, [str(item.key) for item in items])
    if refusal:
        raise click.UsageError(refusal)

    out = console()
    s3 = uploading.s3_client(client.session.region)

    def said_sent(sent: uploading.Sent) -> None:
        out.print(say("  uploaded {key}", "  अपलोड हुआ {key}", key=plain(sent.key)), soft_wrap=True)

    out.print(say("Uploading {n} file(s) to s3://{bucket}/ for {scope}:",
                  "{scope} के लिए s3://{bucket}/ पर {n} फ़ाइलें अपलोड हो रही हैं:",
                  n=len(items), bucket=plain(bucket), scope=plain(scope)), soft_wrap=True)
    sent = uploading.send(items, bucket, s3, out, said_sent)
    if no_wait or not any(s.waits for s in sent):
        return

    waiting = [s for s in sent if s.waits]
    out.print(say("Waiting for the system's answer ({n} file(s), up to {seconds:g} s)…",
                  "सिस्टम के जवाब की प्रतीक्षा ({n} फ़ाइलें, अधिकतम {seconds:g} सेकंड)…", n=len(waiting),
                  seconds=timeout), soft_wrap=True)

    def said_answer(done: uploading.Sent) -> None:
        for line in uploading.describe(done, bucket):
            out.print(line, soft_wrap=True)

    uploading.wait_for_answers(client, sent, timeout, said_answer, since=parse_time(me.get("now")))
    for upload_ in waiting:
        if upload_.answer is None:
            out.print(uploading.unanswered(upload_, timeout), soft_wrap=True)
    if not all(uploading.good(s) for s in sent):
        raise SystemExit(1)


def plan(paths: list[str], scope: str, folder: str, as_kind: str | None) -> list:
    """files.upload_plan's answer: which file goes under which key, media first (with the media the files name that
    are on disk beside them). Media named but not on disk are said: they must be in the bucket already."""
    from prachar_cli.files import missing_media, upload_plan
    from prachar_cli.output import console, plain

    try:
        items = upload_plan(paths, scope, folder=folder, as_kind=as_kind)
        missing = missing_media(paths, scope, folder=folder, as_kind=as_kind)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for absent in missing:
        console().print(say("[yellow]![/yellow] {file} names {reference}, which is not at {path}: it must be in the "
                            "bucket already, as {key}.",
                            "[yellow]![/yellow] {file} में {reference} का नाम है, जो {path} पर नहीं है: वह बकेट में "
                            "{key} के रूप में पहले से होना चाहिए।", file=plain(absent.referenced_by.name),
                            reference=plain(absent.reference), path=plain(str(absent.expected_at)),
                            key=plain(absent.key)), soft_wrap=True)
    return items
