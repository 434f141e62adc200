"""`prachar check`: files judged offline, exactly as the upload would judge them (prachar_cli/checking.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from prachar_cli.helptext import Command, bilingual
from prachar_cli.i18n import say
from prachar_cli.output import visible

if TYPE_CHECKING:
    from prachar_cli.checking import Judge, PostPreview, Verdict

KINDS = ("manifest", "calendar", "audience", "config")
NEEDS_CAMPAIGN = ("manifest", "calendar", "audience")
SHOWN_ROWS = 12  # calendar rows and contacts listed one by one; the rest are counted


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(say("{value} is not a time: write it like 2021-03-05T09:00:00+05:30",
                                     "{value} कोई समय नहीं है: 2021-03-05T09:00:00+05:30 की तरह लिखें",
                                     value=visible(value))) from None
    if moment.tzinfo is None:  # as the system reads a time without a zone: IST
        from chalicelib.domain.times import IST

        moment = moment.replace(tzinfo=IST)
    return moment


@click.command(cls=Command, help=bilingual(
    "Check manifests, calendars, audience files and the campaign config offline, with the rules the system runs at "
    "upload: the same verdict, the same problems. Exit status 0: every file passes; 1: a file has a problem; 2: the "
    "command was used wrongly.",
    "मैनिफ़ेस्ट, कैलेंडर, ऑडियंस फ़ाइलें और कैंपेन कॉन्फ़िग बिना अपलोड किए जाँचें, उन्हीं नियमों से जो सिस्टम अपलोड पर "
    "चलाता है: वही फ़ैसला, वही समस्याएँ। एग्ज़िट स्थिति 0: हर फ़ाइल ठीक; 1: किसी फ़ाइल में समस्या; 2: कमांड ग़लत "
    "तरह से दी गई।"))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=bilingual("A local campaign.yaml to check against (default: the campaign saved at sign-in).",
                             "जाँच के लिए एक लोकल campaign.yaml (डिफ़ॉल्ट: साइन-इन पर सहेजा गया कैंपेन)।"))
@click.option("--scope", help=bilingual("state, district/<id> or constituency/<id> (default: your team's scope).",
                                        "state, district/<id> या constituency/<id> (डिफ़ॉल्ट: आपकी टीम का स्कोप)।"))
@click.option("--folder", default="", help=bilingual("The folder under the scope, e.g. 2021-03.",
                                                     "स्कोप के अंदर का फ़ोल्डर, जैसे 2021-03।"))
@click.option("--as", "as_kind", type=click.Choice(KINDS),
              help=bilingual("Read every file that is not media as this kind (its name must still suit the kind: "
                             "a manifest .yaml/.yml/.json, a calendar or contacts .csv).",
                             "मीडिया के अलावा हर फ़ाइल को इसी प्रकार की मानें (नाम फिर भी प्रकार के अनुरूप हो: "
                             "मैनिफ़ेस्ट .yaml/.yml/.json, कैलेंडर या संपर्क .csv)।"))
@click.option("--at", "at", callback=_moment, metavar="TIME",
              help=bilingual("Judge as at this time, e.g. 2021-03-05T09:00:00+05:30 (default: the system's clock).",
                             "इस समय के अनुसार जाँचें, जैसे 2021-03-05T09:00:00+05:30 (डिफ़ॉल्ट: सिस्टम की घड़ी)।"))
@click.option("--json", "as_json", is_flag=True,
              help=bilingual("Print one JSON document (for scripts and hooks).",
                             "एक JSON दस्तावेज़ छापें (स्क्रिप्ट और हुक के लिए)।"))
def check(paths: tuple[Path, ...], config_file: Path | None, scope: str | None, folder: str, as_kind: str | None,
          at: datetime | None, as_json: bool) -> None:
    import hashlib
    from datetime import UTC

    from chalicelib.errors import Problem
    from prachar_cli import campaign_cache, checking
    from prachar_cli.files import BadNameError, FileKindError, classify, gather, key_for

    try:
        kinds = [classify(path, as_kind) for path in paths]
    except FileKindError as exc:
        raise click.UsageError(str(exc)) from None
    needs_campaign = any(kind in NEEDS_CAMPAIGN for kind in kinds)
    # The saved campaign, fresh from the API when signed in and reachable (never raises) — for a campaign config too,
    # which is compared with the active one; with --config, only what else it knows (the team's scope, the system's
    # clock and upload limit, the bucket).
    fresh = config_file is None and (needs_campaign or "config" in kinds)
    cache = campaign_cache.refresh_quietly() if fresh else campaign_cache.cached()
    max_bytes = cache.max_upload_bytes if cache else checking.DEFAULT_MAX_UPLOAD_BYTES
    now = at or (cache.system_now() if cache else datetime.now(UTC))

    campaign = None
    active_version, active_fetched_at = (cache.version, cache.fetched_at) if cache else (None, None)
    if config_file is not None:
        from chalicelib.domain.vetting import CONFIG_KEY

        config = checking.check_file(config_file, "config", CONFIG_KEY, checking.Judge(None, now, max_bytes))
        if not config.ok:
            _finish([config], as_json, bad_config=True)
        raw = config_file.read_bytes()
        campaign = checking.campaign_from_config(raw, max_bytes)
        active_version, active_fetched_at = hashlib.sha256(raw).hexdigest(), None
    elif cache is not None and needs_campaign:
        try:
            campaign = checking.campaign_from_document(cache.document)
        except Exception as exc:
            _usage_error(say("the saved campaign could not be read ({error}): sign in again (prachar login) or give "
                             "--config config/campaign.yaml", "सहेजा हुआ कैंपेन पढ़ा नहीं जा सका ({error}): फिर से "
                             "साइन इन करें (prachar login) या --config config/campaign.yaml दें",
                             error=type(exc).__name__))
    if needs_campaign and campaign is None:
        _usage_error(say("no campaign to check against: sign in (prachar login) or give --config "
                         "config/campaign.yaml",
                         "जाँचने के लिए कोई कैंपेन नहीं: साइन इन करें (prachar login) या --config "
                         "config/campaign.yaml दें"))

    scope = scope or (cache.team_scope if cache else None) or ""
    keys: list[str | None] = []
    refused: dict[int, list[Problem]] = {}
    for index, (path, kind) in enumerate(zip(paths, kinds, strict=True)):
        try:
            keys.append(key_for(path, kind, scope, folder) if kind != "media" or scope else None)
        except BadNameError as exc:  # this file's problem: no key can hold its name
            keys.append(None)
            refused[index] = [Problem("(name)", exc.message, exc.fix)]
        except FileKindError as exc:
            raise click.UsageError(str(exc)) from None
    # Two different local files for one key: `prachar upload` refuses them together, so the check does too — but
    # campaign configs, each judged on its own against the active one, may be checked side by side.
    _, clashes = gather([(path, kind, key) for path, kind, key in zip(paths, kinds, keys, strict=True)
                         if key and kind != "config"], max_bytes=max_bytes)
    for clash in clashes:
        for index, path in enumerate(paths):
            if path in clash.given:
                refused.setdefault(index, []).append(Problem("(key)", clash.message(), clash.fix()))

    bucket, unavailable = _bucket(cache) if any(k in ("manifest", "calendar") for k in kinds) else (None, None)
    judge = checking.Judge(campaign, now, max_bytes, active_version, active_fetched_at, bucket=bucket,
                           bucket_unavailable=unavailable)
    verdicts = []
    for index, (path, kind, key) in enumerate(zip(paths, kinds, keys, strict=True)):
        if index in refused and key is None:
            verdicts.append(checking.Verdict(path, kind, None, problems=refused[index]))
            continue
        verdict = checking.check_file(path, kind, key, judge)
        verdict.problems = [*refused.get(index, []), *verdict.problems]
        verdicts.append(verdict)
    if not as_json:
        _say_when(judge, cache, at, config_file, kinds)
    _finish(verdicts, as_json)


def _bucket(cache: Any) -> tuple[Any, str | None]:
    """How to ask the bucket for a media file's size (None when it cannot be asked), and if not, why."""
    from prachar_cli import checking

    try:
        from prachar_cli.session import current

        signed_in = current()
    except Exception:
        signed_in = None
    if signed_in is None:
        return None, say("not signed in (prachar login)", "साइन इन नहीं (prachar login)")
    if cache is None or not cache.bucket:
        return None, say("the bucket is not known yet: sign in again (prachar login)",
                         "बकेट अभी पता नहीं: फिर से साइन इन करें (prachar login)")
    try:
        region = signed_in.region  # the campaign's region (the pool's), when the member's AWS setup names none
    except Exception:
        region = None
    return checking.bucket_sizes(cache.bucket, region), None


def _usage_error(message: str) -> None:
    from prachar_cli.output import errors, plain

    errors().print(f"[red]{plain(message)}[/red]")
    raise SystemExit(2)


def _say_when(judge: Judge, cache: Any, at: datetime | None, config_file: Path | None, kinds: list[str]) -> None:
    from chalicelib.domain.times import ist_text
    from prachar_cli.output import console, plain, printable

    if config_file:
        against = say("{file} (local)", "{file} (लोकल)", file=_path(config_file))
    elif cache:
        against = say("the campaign as fetched at {time} ({age}; version {version})",
                      "{time} पर लाया गया कैंपेन ({age}; संस्करण {version})", version=cache.version[:12],
                      time=ist_text(cache.fetched_at), age=_age(cache))
        if "config" in kinds and not cache.fresh():
            against += say(" — the API could not be asked now: a coordinator may have activated another config since",
                           " — अभी API से पूछा नहीं जा सका: हो सकता है तब से किसी कोऑर्डिनेटर ने दूसरी कॉन्फ़िग सक्रिय की हो")
    elif "config" in kinds:
        against = say("no active config known (not signed in): whether uploading it changes anything is not known",
                      "कोई सक्रिय कॉन्फ़िग पता नहीं (साइन इन नहीं): अपलोड से कुछ बदलेगा या नहीं, पता नहीं")
    else:
        against = "—"
    clock = (say("as at {time} (--at)", "{time} के समय के अनुसार (--at)", time=ist_text(judge.now)) if at else
             say("now: {time} (the system's clock)", "अभी: {time} (सिस्टम की घड़ी)", time=ist_text(judge.now))
             if cache else say("now: {time} (this computer's clock)", "अभी: {time} (इस कंप्यूटर की घड़ी)",
                               time=ist_text(judge.now)))
    label = say("Checked against", "किसके विरुद्ध जाँचा")
    console().print(f"[dim]{plain(label)}: {printable(against)} · {plain(clock)}[/dim]")


def _age(cache: Any) -> str:
    """How long ago the campaign was fetched, in words."""
    seconds = int(cache.age().total_seconds())
    if seconds < 60:
        return say("just now", "अभी-अभी")
    if seconds < 3600:
        return say("{n} min ago", "{n} मिनट पहले", n=seconds // 60)
    if seconds < 2 * 86400:
        return say("{n} h ago", "{n} घंटे पहले", n=seconds // 3600)
    return say("{n} days ago", "{n} दिन पहले", n=seconds // 86400)


def _finish(verdicts: list[Verdict], as_json: bool, bad_config: bool = False) -> None:
    import json

    if as_json:
        document = [v.to_json() for v in verdicts]
        text = json.dumps(document, ensure_ascii=False, indent=2)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8: its bytes escaped, still one JSON document
            text = json.dumps(document, ensure_ascii=True, indent=2)
        click.echo(text)
    else:
        from prachar_cli.output import console, plain

        out = console()
        if bad_config:
            bad = say("The campaign config given with --config has problems; nothing else was checked.",
                      "--config से दी गई कैंपेन कॉन्फ़िग में समस्याएँ हैं; और कुछ नहीं जाँचा गया।")
            out.print(f"[red]{plain(bad)}[/red]")
        for verdict in verdicts:
            _show(verdict)
        good = sum(v.ok for v in verdicts)
        summary = say("{n} file(s): {good} pass, {bad} with problems", "{n} फ़ाइलें: {good} ठीक, {bad} में समस्याएँ",
                      n=len(verdicts), good=good, bad=len(verdicts) - good)
        out.print(f"[{'green' if good == len(verdicts) else 'red'}]{plain(summary)}[/]")
    if not all(v.ok for v in verdicts):
        raise SystemExit(1)


# ---- what a person reads --------------------------------------------------------------------------------------------
_KIND_NAMES = {"manifest": ("manifest", "मैनिफ़ेस्ट"), "calendar": ("calendar", "कैलेंडर"),
               "audience": ("contacts", "संपर्क"), "config": ("campaign config", "कैंपेन कॉन्फ़िग"),
               "media": ("media", "मीडिया")}


def _show(verdict: Verdict) -> None:
    from prachar_cli.output import console, plain, printable

    out = console()
    mark = "[green]✓[/green]" if verdict.ok else "[red]✗[/red]"
    kind = say(*_KIND_NAMES[verdict.kind])
    where = f" → {printable(verdict.key)}" if verdict.key else ""
    out.print(f"{mark} [bold]{plain(kind)}[/bold]  {printable(_path(verdict.path))}{where}")
    if verdict.kind == "media":
        out.print("    " + plain(say("read when a post that names it is published; checked with that post",
                                      "जिस पोस्ट में इसका नाम है, उसके प्रकाशन पर पढ़ी जाती है; उसी पोस्ट के साथ जाँची "
                                      "जाती है")))
    elif verdict.kind == "config" and verdict.ok:
        _show_config(verdict)
    elif verdict.kind == "audience":
        _show_audience(verdict)
    elif verdict.kind == "calendar" and verdict.read:
        _show_calendar(verdict)
    elif verdict.kind == "manifest" and verdict.ok:
        _show_manifest(verdict)
    _show_problems(verdict)
    for warning in verdict.warnings:
        out.print(f"    [yellow]⚠ {plain(warning)}[/yellow]")
    if verdict.warnings:
        out.print("    [yellow]" + plain(say("(warnings do not stop the upload: the post is accepted and the election "
                                              "calendar holds or cancels it at its time)",
                                              "(चेतावनियाँ अपलोड नहीं रोकतीं: पोस्ट स्वीकार होगी, और चुनाव कैलेंडर "
                                              "उसके समय पर उसे रोकेगा या रद्द करेगा)")) + "[/yellow]")


def _show_problems(verdict: Verdict) -> None:
    from prachar_cli.output import console, plain, printable

    out = console()
    if verdict.problems:
        count = say("{n} problem(s):", "{n} समस्याएँ:", n=len(verdict.problems))
        out.print(f"    [red]{plain(count)}[/red]")
    fix = say("fix", "सुधार")
    for problem in verdict.problems:
        row = say("row {n} · ", "पंक्ति {n} · ", n=problem.row) if problem.row is not None else ""
        out.print(f"    [red]•[/red] {plain(row)}[bold]{printable(problem.field)}[/bold]: {plain(problem.message)}")
        out.print(f"        [cyan]{plain(fix)}:[/cyan] {plain(problem.fix)}")
        missing = next(((key, where) for key, where in verdict.not_local.items()
                        if problem.message == f"{key} is not in the bucket"), None)
        if missing is None:
            continue
        key, where = missing
        if key in verdict.unverified:
            why = verdict.unverified[key]
            said = say("(and not next to the file here either: looked for {path}; whether it is in the bucket could "
                       "not be verified{why})", "(और यहाँ फ़ाइल के पास भी नहीं: {path} में देखा; यह बकेट में है या "
                       "नहीं, इसकी पुष्टि नहीं हो सकी{why})", path=_path(where), why=f" — {why}" if why else "")
        else:
            said = say("(and not next to the file here either: looked for {path}; nor in the bucket: asked, it has "
                       "no such file)", "(और यहाँ फ़ाइल के पास भी नहीं: {path} में देखा; बकेट में भी नहीं: पूछने पर "
                       "ऐसी कोई फ़ाइल नहीं मिली)", path=_path(where))
        out.print(f"        [dim]{printable(said)}[/dim]")


def _path(path: Path) -> str:
    """A local path as text that can be printed, even when its name is not UTF-8 or holds control characters."""
    from prachar_cli.files import shown_path

    return shown_path(path)


def _show_manifest(verdict: Verdict) -> None:
    from chalicelib.domain.times import ist_text
    from prachar_cli.output import console, plain

    out = console()
    out.print("    " + plain(say("posts, one per account:", "पोस्ट, हर अकाउंट पर एक:")))
    for post in verdict.posts:
        extra = ""
        if post.platform == "whatsapp":
            audience = post.payload.get("audience") or "team"
            template = (post.payload.get("template") or {}).get("name")
            named = say(", template {name}", ", टेम्पलेट {name}", name=template) if template else ""
            extra = f"  ({audience}{named})"
        out.print(f"      {plain(post.platform):<9} {plain(post.account):<14} {plain(ist_text(post.due_at))}"
                  f"{plain(extra)}")
    if any(post.slot_estimated for post in verdict.posts):
        out.print("      [dim]" + plain(say("(the series' next daily slot from now: the system gives the next free "
                                             "one, which may be later)",
                                             "(अभी से सीरीज़ का अगला दैनिक स्लॉट: सिस्टम अगला खाली स्लॉट देगा, जो बाद "
                                             "का हो सकता है)")) + "[/dim]")
    for post in verdict.posts:
        if post.platform == "x":
            _show_thread(post)
    _show_media(verdict)


def _show_thread(post: PostPreview) -> None:
    from chalicelib.domain.x_text import MAX_WEIGHT
    from prachar_cli.output import console, plain

    out = console()
    parts = post.thread()
    if len(parts) == 1:
        heading = say("X ({account}): one post", "X ({account}): एक पोस्ट", account=post.account)
    else:
        heading = say("X ({account}): a thread of {n} posts", "X ({account}): {n} पोस्ट का थ्रेड",
                      account=post.account, n=len(parts))
    out.print(f"    {plain(heading)}")
    for index, (text, weight) in enumerate(parts, start=1):
        colour = "green" if weight <= MAX_WEIGHT else "red"
        out.print(f"      [{colour}]{index}/{len(parts)}  {weight}/{MAX_WEIGHT}[/{colour}]")
        for line in text.splitlines() or [""]:
            out.print(f"        {plain(line)}")


def _show_media(verdict: Verdict) -> None:
    from prachar_cli.output import console, plain, printable

    out = console()
    if not verdict.media:
        return
    out.print("    " + plain(say("media, per platform (size / the platform's limit):",
                                  "मीडिया, हर प्लेटफ़ॉर्म पर (आकार / प्लेटफ़ॉर्म की सीमा):")))
    for item in verdict.media:
        size = _size(item.size) if item.size is not None else "?"
        where = (" " + plain(say("(in the bucket)", "(बकेट में)"))) if item.key in verdict.in_bucket else ""
        limits = []
        for platform, limit in item.limits.items():
            if limit is None:
                limits.append(f"[red]{plain(platform)} ✗[/red]")
            else:
                fits = item.size is not None and item.size <= limit
                colour = "green" if fits else "red"
                limits.append(f"[{colour}]{plain(platform)} {size} / {_size(limit)} {'✓' if fits else '✗'}[/{colour}]")
        out.print(f"      {printable(item.name)}{where}  " + "  ".join(limits))


def _size(count: int) -> str:
    mb = 1024 * 1024
    if count >= mb:
        return f"{count / mb:.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count} B"


def _show_calendar(verdict: Verdict) -> None:
    from chalicelib.domain.times import ist_text
    from prachar_cli.output import console, plain

    out = console()
    bad_rows = sorted({p.row for p in verdict.problems if p.row and p.row > 1})
    out.print("    " + plain(say("{good} row(s) go ahead, {bad} refused", "{good} पंक्तियाँ आगे जाएँगी, {bad} अस्वीकार",
                                  good=verdict.accepted_rows, bad=len(bad_rows))))
    rows: dict[int, list[PostPreview]] = {}
    for post in verdict.posts:
        rows.setdefault(post.row or 0, []).append(post)
    for number, posts in list(rows.items())[:SHOWN_ROWS]:
        first = posts[0]
        accounts = ", ".join(p.account for p in posts)
        thread = next((p.thread() for p in posts if p.platform == "x"), [])
        x_part = say(" · X: {n} part(s), heaviest {w}/280", " · X: {n} भाग, सबसे भारी {w}/280", n=len(thread),
                     w=max(w for _, w in thread)) if thread else ""
        estimated = say(" (series slot from now)", " (अभी से सीरीज़ स्लॉट)") if first.slot_estimated else ""
        out.print(f"      {plain(say('row {n}', 'पंक्ति {n}', n=number))}  {plain(first.title)}  → "
                  f"{plain(ist_text(first.due_at))}{plain(estimated)}  {plain(accounts)}{plain(x_part)}")
    if len(rows) > SHOWN_ROWS:
        out.print("      " + plain(say("… and {n} more row(s)", "… और {n} पंक्तियाँ", n=len(rows) - SHOWN_ROWS)))
    _show_media(verdict)


def _show_audience(verdict: Verdict) -> None:
    from prachar_cli.output import console, plain

    out = console()
    if not verdict.read:
        return
    out.print("    " + plain(say("{n} contact(s) would be imported, {bad} row(s) refused",
                                  "{n} संपर्क जुड़ेंगे, {bad} पंक्तियाँ अस्वीकार", n=verdict.accepted_rows,
                                  bad=len(verdict.refused))))
    if verdict.merged:
        out.print("    " + plain(say("{n} row(s) repeat a number given earlier in the file: one person, the latest "
                                      "consent kept", "{n} पंक्तियों में फ़ाइल में पहले आया नंबर फिर है: एक ही व्यक्ति, "
                                      "सबसे नई सहमति रहेगी", n=verdict.merged)))
    for contact in verdict.contacts[:SHOWN_ROWS]:
        out.print(f"      {plain(say('row {n}', 'पंक्ति {n}', n=contact['row']))}  {plain(contact['phone'])}  "
                  f"{plain(contact['language'])}")
    if len(verdict.contacts) > SHOWN_ROWS:
        out.print("      " + plain(say("… and {n} more", "… और {n}", n=len(verdict.contacts) - SHOWN_ROWS)))
    out.print("    [dim]" + plain(say("(a number that sent STOP or was erased is refused at import: the check cannot "
                                      "see the stop list)", "(जिस नंबर ने STOP भेजा या जिसे मिटाया गया, वह इम्पोर्ट "
                                      "पर अस्वीकार होगा: जाँच रोक-सूची नहीं देख सकती)")) + "[/dim]")


def _show_config(verdict: Verdict) -> None:
    from chalicelib.domain.times import ist_text
    from prachar_cli.output import console, plain

    out = console()
    if verdict.unchanged:
        version = (verdict.active_version or "")[:12]
        fetched = verdict.active_fetched_at
        if fetched is None:  # compared with the --config file, taken as the active one
            said = say("the very bytes of the config given with --config: if that is the active one, uploading this "
                       "changes nothing", "--config से दी गई कॉन्फ़िग के ठीक यही बाइट: अगर वही सक्रिय है, तो इसे "
                       "अपलोड करने से कुछ नहीं बदलेगा")
        elif _fresh(fetched):
            said = say("the active campaign config (version {version}, as the API said just now), byte for byte: "
                       "uploading it changes nothing", "यही सक्रिय कैंपेन कॉन्फ़िग है (संस्करण {version}, API ने अभी "
                       "बताया), बाइट-दर-बाइट: अपलोड से कुछ नहीं बदलेगा", version=version)
        else:
            said = say("the config that was active when last fetched, at {time} (version {version}), byte for byte — "
                       "the API could not be asked now: if a coordinator has activated another since, uploading "
                       "this one brings it back", "पिछली बार ({time}) लाई गई सक्रिय कॉन्फ़िग (संस्करण {version}) के "
                       "ठीक यही बाइट — अभी API से पूछा नहीं जा सका: अगर तब से किसी कोऑर्डिनेटर ने दूसरी कॉन्फ़िग "
                       "सक्रिय की है, तो इसे अपलोड करने से यह पुरानी फिर लागू हो जाएगी", time=ist_text(fetched),
                       version=version)
        out.print("    " + plain(said))
    elif verdict.summary:
        s = verdict.summary
        out.print("    " + plain(say("campaign {campaign}: {districts} district(s), {constituencies} "
                                      "constituencies, {teams} team(s), {accounts} account(s)",
                                      "कैंपेन {campaign}: {districts} ज़िले, {constituencies} विधानसभा क्षेत्र, "
                                      "{teams} टीमें, {accounts} अकाउंट", **s)))


def _fresh(fetched: datetime) -> bool:
    from datetime import UTC, timedelta

    return datetime.now(UTC) - fetched <= timedelta(minutes=1)
