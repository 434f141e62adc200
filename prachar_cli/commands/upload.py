"""`prachar upload`: files under the team's prefix, then the system's answer to each.

Items of one daily series without a time (manifests, or calendar rows, with the same `series:` and no publish_at)
take the series' next free daily slot in the order they reach the system — and each upload is its own Lambda run, so
two sent together race for the first slot. They are sent in turn: each after the system answered the one before
(files.LocalFile.series says which files are such items). When an item is refused or gets no answer, the later
items of its series are not sent: uploaded later, they would take slots before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from prachar_cli.api import reported
from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say

if TYPE_CHECKING:
    from prachar_cli.files import LocalFile


@click.command(cls=Command, help=bilingual(
    "Upload files under your team's prefix and wait for the system's answer to each manifest, calendar and audience "
    "file. Items of one daily series go one at a time, in the order given. Exit 0: all accepted; 1: something was "
    "refused or unanswered; 2: the command was used wrongly (nothing was uploaded).",
    "फ़ाइलें अपनी टीम के फ़ोल्डर में अपलोड करें और हर मैनिफ़ेस्ट, कैलेंडर और ऑडियंस फ़ाइल पर सिस्टम के जवाब की "
    "प्रतीक्षा करें। एक दैनिक सीरीज़ की कड़ियाँ एक-एक करके, दिए गए क्रम में जाती हैं। एग्ज़िट 0: सब स्वीकार; 1: कुछ "
    "अस्वीकार हुआ या जवाब नहीं आया; 2: कमांड ग़लत तरह से दी गई (कुछ अपलोड नहीं हुआ)।"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, readable=True))
@click.option("--scope", metavar="SCOPE", help=bilingual(
    "Upload for this scope (default: your team's, e.g. constituency/sahada). It must be your team's.",
    "इस स्कोप के लिए अपलोड करें (डिफ़ॉल्ट: आपकी टीम का, जैसे constituency/sahada)। यह आपकी टीम का ही होना चाहिए।"))
@click.option("--folder", metavar="F", default="", help=bilingual(
    "A folder under the scope's prefix (e.g. 2021-03).", "स्कोप के फ़ोल्डर के अंदर एक फ़ोल्डर (जैसे 2021-03)।"))
@click.option("--as", "as_kind", metavar="KIND", help=bilingual(
    "Take every file that is not media as this kind (manifest, calendar, audience, config, media); its name must "
    "still suit the kind — a manifest .yaml/.yml/.json, a calendar or contacts .csv — for the system reads a file by "
    "its name.",
    "मीडिया के अलावा हर फ़ाइल को इस प्रकार की मानें (manifest, calendar, audience, config, media); फिर भी नाम प्रकार "
    "के अनुरूप हो "
    "— मैनिफ़ेस्ट .yaml/.yml/.json, कैलेंडर या संपर्क .csv — क्योंकि सिस्टम फ़ाइल को उसके नाम से पढ़ता है।"))
@click.option("--bucket", metavar="NAME", help=bilingual(
    "The content bucket (default: the one the API names).", "कंटेंट बकेट (डिफ़ॉल्ट: जो API बताता है)।"))
@click.option("--no-wait", is_flag=True, help=bilingual(
    "Upload and exit without waiting for the system's answers (items of one series still wait for each other).",
    "अपलोड करके सिस्टम के जवाबों की प्रतीक्षा किए बिना निकलें (एक सीरीज़ की कड़ियाँ फिर भी एक-दूसरे की प्रतीक्षा "
    "करती हैं)।"))
@click.option("--timeout", metavar="S", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help=bilingual("Seconds to wait for the answers.", "जवाबों की प्रतीक्षा के सेकंड।"))
@reported
def upload(paths: tuple[str, ...], scope: str | None, folder: str, as_kind: str | None, bucket: str | None,
           no_wait: bool, timeout: float) -> None:
    import time

    from prachar_cli import api, uploading
    from prachar_cli.campaign_cache import parse_time
    from prachar_cli.files import DEFAULT_MAX_UPLOAD_BYTES
    from prachar_cli.output import console, printable

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
    limit = me.get("max_upload_bytes")
    max_bytes = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 \
        else DEFAULT_MAX_UPLOAD_BYTES
    items = plan(list(paths), scope, folder, as_kind, max_bytes=max_bytes)
    if not items:
        raise click.UsageError(say("nothing to upload", "अपलोड करने को कुछ नहीं"))
    refusal = uploading.scope_refusal(scope, me, [str(item.key) for item in items])
    if refusal:
        raise click.UsageError(refusal)

    out = console()
    s3 = uploading.s3_client(client.session.region)
    since = parse_time(me.get("now"))
    deadline = time.monotonic() + timeout

    def said_sent(sent: uploading.Sent) -> None:
        out.print(say("  uploaded {key}", "  अपलोड हुआ {key}", key=printable(sent.key)), soft_wrap=True)

    def said_answer(done: uploading.Sent) -> None:
        for line in uploading.describe(done, bucket):
            out.print(line, soft_wrap=True)

    out.print(say("Uploading {n} file(s) to s3://{bucket}/ for {scope}:",
                  "{scope} के लिए s3://{bucket}/ पर {n} फ़ाइलें अपलोड हो रही हैं:",
                  n=len(items), bucket=printable(bucket), scope=printable(scope)), soft_wrap=True)
    batches = in_turn(items)
    waited: list[uploading.Sent] = []
    held: list[tuple[LocalFile, str, uploading.Sent]] = []  # not sent: (file, its series, the item it waited on)
    stopped: dict[str, uploading.Sent] = {}                  # series → its item that was refused or unanswered
    for number, batch in enumerate(batches):
        ready = []
        for item in batch:
            blocked = next((series for series in item.series if series in stopped), None)
            if blocked is None:
                ready.append(item)
            else:
                held.append((item, blocked, stopped[blocked]))
        batch_sent = uploading.send(ready, bucket, s3, out, said_sent)
        last = number == len(batches) - 1
        waits = [s for s in batch_sent if s.waits]
        if not waits or (last and no_wait):
            continue
        if last:
            out.print(say("Waiting for the system's answer ({n} file(s), up to {seconds:g} s)…",
                          "सिस्टम के जवाब की प्रतीक्षा ({n} फ़ाइलें, अधिकतम {seconds:g} सेकंड)…", n=len(waits),
                          seconds=timeout), soft_wrap=True)
        else:
            out.print(say("Waiting for the system's answer before the next item of each series ({n} file(s))…",
                          "हर सीरीज़ की अगली कड़ी से पहले सिस्टम के जवाब की प्रतीक्षा ({n} फ़ाइलें)…", n=len(waits)),
                      soft_wrap=True)
        uploading.wait_for_answers(client, waits, max(deadline - time.monotonic(), 0.0), said_answer, since=since)
        waited += waits
        by_key = {item.key: item for item in ready}
        for done in waits:
            if not uploading.good(done):
                for series in by_key[done.key].series:
                    stopped.setdefault(series, done)

    for upload_ in waited:
        if upload_.answer is None:
            out.print(uploading.unanswered(upload_, timeout), soft_wrap=True)
    for item, series, before in held:
        out.print(say("[red]✗[/red] {key}: not uploaded — an item of series {series}, after {before}, which was "
                      "{what}: the series' items take their daily slots in the order they are uploaded, so fix "
                      "{before} and upload it and the later items again, in order.",
                      "[red]✗[/red] {key}: अपलोड नहीं हुई — सीरीज़ {series} की कड़ी, {before} के बाद, जो {what}: "
                      "सीरीज़ की कड़ियाँ अपलोड के क्रम में अपने दैनिक स्लॉट लेती हैं, इसलिए {before} ठीक करें और "
                      "उसे व बाद की कड़ियों को फिर से, क्रम में, अपलोड करें।",
                      key=printable(item.key), series=printable(series), before=printable(before.key),
                      what=say("not answered in time", "समय पर जवाब नहीं मिला") if before.answer is None
                      else say("not accepted", "स्वीकार नहीं हुई")), soft_wrap=True)
    if held or not all(uploading.good(s) for s in waited):
        raise SystemExit(1)


def in_turn(items: list[LocalFile]) -> list[list[LocalFile]]:
    """The planned files in rounds: a file goes in the round after the last earlier file of any series it has items
    of (media and files of no series go in the first round, in the plan's order: media first)."""
    rounds: list[list[LocalFile]] = []
    last_round: dict[str, int] = {}
    for item in items:
        number = max((last_round[series] + 1 for series in item.series if series in last_round), default=0)
        for series in item.series:
            last_round[series] = number
        while len(rounds) <= number:
            rounds.append([])
        rounds[number].append(item)
    return rounds


def plan(paths: list[str], scope: str, folder: str, as_kind: str | None, *, max_bytes: int | None = None
         ) -> list[Any]:
    """files.plan_files's answer: which file goes under which key, media first (with the media the files name that
    are on disk beside them), read up to the system's upload limit. Media named but not on disk are said: they must
    be in the bucket already. Two different files for one key, a name S3 cannot hold or a kind the name contradicts
    refuse the whole upload before anything is sent."""
    from prachar_cli.files import DEFAULT_MAX_UPLOAD_BYTES, plan_files, shown_path
    from prachar_cli.output import console, printable

    try:
        planned = plan_files(paths, scope, folder=folder, as_kind=as_kind,
                             max_bytes=max_bytes or DEFAULT_MAX_UPLOAD_BYTES)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for absent in planned.missing:
        console().print(say("[yellow]![/yellow] {file} names {reference}, which is not at {path}: it must be in the "
                            "bucket already, as {key}.",
                            "[yellow]![/yellow] {file} में {reference} का नाम है, जो {path} पर नहीं है: वह बकेट में "
                            "{key} के रूप में पहले से होना चाहिए।", file=printable(shown_path(absent.referenced_by.name)),
                            reference=printable(absent.reference), path=printable(shown_path(absent.expected_at)),
                            key=printable(absent.key)), soft_wrap=True)
    return planned.files
