"""`prachar upload`'s work: files to S3 with the member's own AWS credentials, then the system's answer to each.

Which file goes under which key is files.upload_plan's business (media first, so a manifest never names media that
is not there yet). Media goes by boto3's managed transfer — multipart over 8 MB, with a progress bar; a manifest,
calendar or audience file by one put_object, whose version id (and ETag) name exactly that upload when the command
asks GET /api/uploads?key=…&etag=…&version=… what became of it (a later upload of the same key has its own answer,
even of the same bytes). A bucket without versions is the exception: there the system keeps one answer per key and
ETag, the first, so the same bytes uploaded again are told the earlier upload's answer — said as such.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prachar_cli.api import ApiError, Client, CliError, Unreachable
from prachar_cli.files import MANIFEST_SUFFIXES
from prachar_cli.i18n import say
from prachar_cli.output import plain

MULTIPART_BYTES = 8 * 1024 * 1024
POLL_SECONDS = 1.0
DEFAULT_TIMEOUT = 120.0
SHOWN_PROBLEMS = 20  # the rest are counted; errors/<key>.json has them all
# Outcomes after which nothing is wrong with the upload (an audience import "continuing" goes on by itself; a
# "superseded" upload was replaced by a later upload of the same key, whose own answer counts).
GOOD = {"accepted", "unchanged", "imported", "continuing", "superseded"}


@dataclass
class Sent:
    key: str
    kind: str
    path: Path
    etag: str | None          # without quotes; None for media (nothing answers a media upload)
    version: str | None = None  # the object's version id (the stage's bucket is versioned)
    answer: dict[str, Any] | None = None
    trouble: str | None = None  # why no answer could be read (the last error while waiting)
    earlier: bool = False     # the answer is an earlier upload's of the same bytes (a bucket without versions)

    @property
    def waits(self) -> bool:
        return self.etag is not None


@dataclass
class Upload:
    bucket: str
    sent: list[Sent] = field(default_factory=list)


def is_media(kind: str, key: str) -> bool:
    """Nothing answers a media upload: it is read when a post that names it is published."""
    if kind == "media":
        return True
    return key.startswith("content/") and not key.lower().endswith(MANIFEST_SUFFIXES)


def scope_refusal(scope: str, me: dict[str, Any], keys: Iterable[str]) -> str | None:
    """Why the signed-in member may not upload these keys for `scope` (the system would refuse them), or None.

    A team uploads under its own prefix only (its scope's content/ and calendar/, and for a constituency its
    audience/); a coordinator — of any team, as the system reads it (ingest's _config_uploader_refused and
    audience_import.uploader_refused) — may also upload any constituency's audience file and the campaign config.
    Where S3's bucket policy is narrower (it keeps a coordinator outside the state team to their own team's
    audience/), S3 itself refuses the upload, and says so."""
    member = me.get("member") or {}
    team = me.get("team") or {}
    own = team.get("scope")
    role = member.get("role")
    coordinator = role == "coordinator"
    for key in keys:
        area = key.split("/", 1)[0]
        if area == "config":
            if not coordinator:
                return say("only a coordinator replaces the campaign config; {member} is a {role}.",
                           "कैंपेन कॉन्फ़िग केवल कोऑर्डिनेटर बदलते हैं; {member} {role} हैं।",
                           member=member.get("id", "?"), role=role or "?")
            continue
        if area == "audience" and coordinator:
            continue
        if own is None:
            return say("{member} is in no team of the campaign, so has no prefix to upload under.",
                       "{member} कैंपेन की किसी टीम में नहीं हैं, इसलिए अपलोड का कोई फ़ोल्डर नहीं है।",
                       member=member.get("id", "?"))
        if scope != own:
            return say("{member} uploads for {own}, not {scope}: the system would refuse the upload. Leave out "
                       "--scope to upload for your team.",
                       "{member} {own} के लिए अपलोड करते हैं, {scope} के लिए नहीं: सिस्टम अपलोड अस्वीकार करेगा। "
                       "अपनी टीम के लिए अपलोड करने हेतु --scope न दें।",
                       member=member.get("id", "?"), own=own, scope=scope)
    return None


def s3_client(region: str | None) -> Any:
    """S3 with the user's own credentials (the default chain: environment, profile, SSO…); AWS_ENDPOINT_URL, when
    set, points it at the local emulator. The region: the user's, else the campaign's pool's."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    return session.client("s3", region_name=session.region_name or region,
                          config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10,
                                        read_timeout=60))


def _s3_trouble(exc: Exception, key: str, bucket: str) -> CliError:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return CliError(say("No AWS credentials for the upload: set them up with `aws configure` (or AWS_PROFILE), "
                            "as your coordinator gave them to you.",
                            "अपलोड के लिए AWS क्रेडेंशियल नहीं मिले: `aws configure` (या AWS_PROFILE) से सेट करें, "
                            "जैसे आपके कोऑर्डिनेटर ने दिए हैं।"))
    if isinstance(exc, NoRegionError):
        return CliError(say("No AWS region: set AWS_DEFAULT_REGION (the campaign's region).",
                            "AWS रीजन नहीं: AWS_DEFAULT_REGION सेट करें (कैंपेन का रीजन)।"))
    if isinstance(exc, EndpointConnectionError):
        return CliError(say("S3 does not answer ({why}).", "S3 जवाब नहीं दे रहा ({why})।", why=str(exc)))
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "?"
        if code in ("AccessDenied", "403", "Forbidden"):
            return CliError(say("S3 refused {key} (AccessDenied): your AWS credentials may not write there — a team "
                                "uploads under its own prefix only.",
                                "S3 ने {key} अस्वीकार किया (AccessDenied): आपके AWS क्रेडेंशियल वहाँ नहीं लिख सकते — "
                                "टीम केवल अपने फ़ोल्डर में अपलोड करती है।", key=key))
        if code in ("NoSuchBucket", "404"):
            return CliError(say("There is no bucket {bucket} where your AWS credentials point.",
                                "आपके AWS क्रेडेंशियल जहाँ इशारा करते हैं, वहाँ {bucket} बकेट नहीं है।", bucket=bucket))
        return CliError(say("S3 refused {key}: {code} {why}", "S3 ने {key} अस्वीकार किया: {code} {why}", key=key,
                            code=code, why=error.get("Message") or ""))
    return CliError(say("The upload of {key} failed: {why}", "{key} का अपलोड विफल: {why}", key=key,
                        why=f"{type(exc).__name__}: {exc}"))


def send(items: list[Any], bucket: str, s3: Any, console: Any, on_sent: Callable[[Sent], None]) -> list[Sent]:
    """Upload each planned file in order (media first); stops at the first failure, raising why."""
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError

    transfer = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES,
                              max_concurrency=4)
    sent: list[Sent] = []
    for item in items:
        path, key, kind = Path(item.path), str(item.key), str(item.kind)
        try:
            if is_media(kind, key):
                _upload_media(s3, path, bucket, key, transfer, console)
                done = Sent(key, kind, path, None)
            else:
                answer = s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                                       ContentType=_content_type(path, default="text/plain; charset=utf-8"))
                done = Sent(key, kind, path, str(answer.get("ETag") or "").strip('"') or None,
                            version=answer.get("VersionId"))
        except (BotoCoreError, ClientError) as exc:
            raise _s3_trouble(exc, key, bucket) from None
        except S3UploadFailedError as exc:  # a managed transfer's ClientError, wrapped (the original is its context)
            cause = exc.__context__ if isinstance(exc.__context__, ClientError) else exc
            raise _s3_trouble(cause, key, bucket) from None
        except OSError as exc:
            raise CliError(say("Cannot read {path}: {why}", "{path} पढ़ी नहीं जा सकी: {why}", path=str(path),
                               why=exc.strerror or str(exc))) from None
        except UnicodeError:  # a file name that is not UTF-8 (a zip from Windows): no S3 key can hold it
            raise CliError(say("{name} is not a name S3 can store (it is not UTF-8 text): rename the file and upload "
                               "it again.",
                               "{name} ऐसा नाम नहीं है जिसे S3 रख सके (यह UTF-8 टेक्स्ट नहीं है): फ़ाइल का नाम बदलकर "
                               "फिर से अपलोड करें।", name=ascii(path.name))) from None
        sent.append(done)
        on_sent(done)
    return sent


def _content_type(path: Path, default: str = "application/octet-stream") -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if path.suffix.lower() in (".yaml", ".yml"):
        return "application/yaml; charset=utf-8"
    if path.suffix.lower() == ".csv":
        return "text/csv; charset=utf-8"
    if path.suffix.lower() == ".json":
        return "application/json; charset=utf-8"
    return guessed or default


def _upload_media(s3: Any, path: Path, bucket: str, key: str, transfer: Any, console: Any) -> None:
    """One media file by boto3's managed transfer (multipart over MULTIPART_BYTES) with a progress bar."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    size = path.stat().st_size
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        task = progress.add_task(plain(path.name), total=size)
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": _content_type(path)}, Config=transfer,
                       Callback=lambda sent: progress.update(task, advance=sent))
        progress.update(task, completed=size)


def wait_for_answers(client: Client, sent: list[Sent], timeout: float, on_answer: Callable[[Sent], None], *,
                     since: datetime | None = None, every: float = POLL_SECONDS,
                     clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Ask GET /api/uploads for each upload that gets an answer, `every` seconds, until each has one or `timeout`
    seconds have passed. A refusal (403/404/400) stops asking about that upload; the API not answering is kept as
    the trouble and asked again until the time is up.

    Answers are asked for by version id. On a bucket without versions, the same bytes uploaded again have the same
    ETag, and the system keeps the first answer to them (services/upload_answers.py): an answer given before `since`
    (the system's time before this upload) is that earlier upload's, and no answer of this upload's own will ever
    come. It is taken, marked `earlier` (describe() says so) — except for an audience file, whose answer is its
    import of those bytes (the system does not read the same bytes twice, so the earlier import's answer is this
    upload's too)."""
    from prachar_cli.campaign_cache import parse_time

    waiting = [s for s in sent if s.waits]
    deadline = clock() + timeout
    while waiting:
        for upload in list(waiting):
            try:
                # A bucket without versions: S3's own word for that version is "null" (the answer goes by ETag).
                answer = client.get("api/uploads", {"key": upload.key, "etag": upload.etag,
                                                    "version": upload.version or "null"})
            except ApiError as exc:
                upload.trouble = exc.message
                waiting.remove(upload)
                continue
            except Unreachable as exc:
                upload.trouble = exc.message
                continue
            if isinstance(answer, dict) and answer.get("answered"):
                answered_at = parse_time(answer.get("answered_at"))
                upload.earlier = upload.version is None and since is not None and answered_at is not None \
                    and answered_at < since and not upload.key.startswith("audience/")
                upload.answer, upload.trouble = answer, None
                waiting.remove(upload)
                on_answer(upload)
        if not waiting or clock() + every > deadline:
            return
        sleep(every)


def good(upload: Sent) -> bool:
    """Whether nothing needs the uploader's attention: media sent, or an answer that took the file whole."""
    if not upload.waits:
        return True
    answer = upload.answer
    return bool(answer) and answer.get("outcome") in GOOD and not answer.get("problems")


def describe(upload: Sent, bucket: str) -> list[str]:
    """The system's answer to one upload, as lines of rich markup (user text escaped)."""
    answer = upload.answer or {}
    key = plain(upload.key)
    outcome = str(answer.get("outcome") or "?")
    ids = [plain(str(i)) for i in answer.get("content_ids") or []]
    accounts = [plain(str(a)) for a in answer.get("accounts") or []]
    lines: list[str] = []
    if outcome == "accepted":
        if upload.key.startswith("calendar/"):
            lines.append(say("[green]✓[/green] {key}: accepted — {n} post(s) scheduled",
                             "[green]✓[/green] {key}: स्वीकार — {n} पोस्ट निर्धारित", key=key, n=len(ids)))
        else:
            lines.append(say("[green]✓[/green] {key}: accepted", "[green]✓[/green] {key}: स्वीकार", key=key))
        if ids:
            lines.append(say("    post id(s): {ids}", "    पोस्ट आईडी: {ids}", ids=", ".join(ids)))
        if accounts:
            lines.append(say("    scheduled for: {accounts}", "    इन अकाउंट पर निर्धारित: {accounts}",
                             accounts=", ".join(accounts)))
    elif outcome == "unchanged":
        lines.append(say("[green]=[/green] {key}: unchanged — the same bytes were uploaded before; nothing changed",
                         "[green]=[/green] {key}: अपरिवर्तित — यही फ़ाइल पहले अपलोड हो चुकी है; कुछ नहीं बदला",
                         key=key))
        if ids:
            lines.append(say("    post id(s): {ids}", "    पोस्ट आईडी: {ids}", ids=", ".join(ids)))
    elif outcome == "superseded":
        lines.append(say("[yellow]~[/yellow] {key}: superseded — the key was uploaded again before the system read "
                         "this file; the later upload's answer is the one that counts",
                         "[yellow]~[/yellow] {key}: प्रतिस्थापित — सिस्टम के पढ़ने से पहले यही कुंजी फिर अपलोड हुई; "
                         "बाद वाले अपलोड का जवाब ही मान्य है", key=key))
    elif outcome in ("imported", "incomplete", "continuing"):
        counts = answer.get("counts") or {}
        summary = ", ".join(f"{plain(str(k))} {v}" for k, v in sorted(counts.items())) or "—"
        words = {"imported": say("imported", "आयात हुआ"), "incomplete": say("imported in part", "आंशिक आयात"),
                 "continuing": say("still importing (it goes on by itself)", "आयात जारी है (अपने आप चलता रहेगा)")}
        mark = "[yellow]![/yellow]" if outcome == "incomplete" or answer.get("problems") else "[green]✓[/green]"
        lines.append(f"{mark} {key}: {words[outcome]} ({summary})")
    elif outcome == "rejected":
        lines.append(say("[red]✗[/red] {key}: rejected", "[red]✗[/red] {key}: अस्वीकार", key=key))
    elif outcome == "gone":
        lines.append(say("[red]✗[/red] {key}: deleted before the system read it",
                         "[red]✗[/red] {key}: सिस्टम के पढ़ने से पहले हटा दी गई", key=key))
    elif outcome == "ignored":
        lines.append(say("[red]✗[/red] {key}: not a file the system reads there",
                         "[red]✗[/red] {key}: सिस्टम वहाँ ऐसी फ़ाइल नहीं पढ़ता", key=key))
    else:
        lines.append(f"[yellow]?[/yellow] {key}: {plain(outcome)}")
    for label_en, label_hi, name in (("kept (already out, not sent again)", "रखे गए (पहले ही जा चुके)", "kept"),
                                     ("withdrawn", "वापस लिए गए", "withdrawn")):
        if answer.get(name):
            lines.append(say("    {label}: {items}", "    {label}: {items}", label=say(label_en, label_hi),
                             items=", ".join(plain(str(i)) for i in answer[name])))
    for warning in answer.get("warnings") or []:
        lines.append(f"    [yellow]![/yellow] {plain(str(warning))}")
    problems = [p for p in answer.get("problems") or [] if isinstance(p, dict)]
    if problems and outcome in ("accepted", "unchanged", "imported", "incomplete"):
        lines.append(say("    row(s) refused (the other rows went ahead):",
                         "    अस्वीकार पंक्तियाँ (बाकी आगे बढ़ीं):"))
    for problem in problems[:SHOWN_PROBLEMS]:
        lines.extend(problem_lines(problem))
    more = len(problems[SHOWN_PROBLEMS:]) + int(answer.get("more_problems") or 0)
    if more:
        lines.append(say("    … and {n} more", "    … और {n}", n=more))
    if problems or outcome == "rejected":
        lines.append(say("    the whole report: s3://{bucket}/errors/{key}.json",
                         "    पूरी रिपोर्ट: s3://{bucket}/errors/{key}.json", bucket=plain(bucket), key=key))
    if upload.earlier:
        lines.insert(1, say(
            "    same bytes as an upload already answered ({when}): {outcome} — the bucket keeps no versions, so the "
            "system keeps that first answer for these bytes and gives this upload none of its own",
            "    यही फ़ाइल पहले के एक अपलोड में आ चुकी है, जिसका जवाब ({when}): {outcome} — बकेट संस्करण नहीं रखता, "
            "इसलिए सिस्टम इन बाइट्स का पहला जवाब ही रखता है और इस अपलोड को अलग जवाब नहीं देता",
            when=plain(str(answer.get("answered_at") or "?")), outcome=plain(outcome)))
    return lines


def problem_lines(problem: dict[str, Any]) -> list[str]:
    where = plain(str(problem.get("field") or ""))
    if problem.get("row") is not None:
        where = say("row {row}, {field}", "पंक्ति {row}, {field}", row=problem["row"], field=where)
    said = problem.get("problem") or problem.get("message") or ""  # an audience import lists its rows' "message"
    lines = [f"    [red]•[/red] {where}: {plain(str(said))}"]
    if problem.get("fix"):
        lines.append(say("      fix: {fix}", "      सुधार: {fix}", fix=plain(str(problem["fix"]))))
    return lines


def unanswered(upload: Sent, timeout: float) -> str:
    if upload.trouble:
        return say("[red]✗[/red] {key}: no answer — {why}", "[red]✗[/red] {key}: कोई जवाब नहीं — {why}",
                   key=plain(upload.key), why=plain(upload.trouble))
    return say("[red]✗[/red] {key}: no answer within {seconds:g} s. The system may still be working on it: see "
               "`prachar status`, or look for errors/{key}.json in the bucket.",
               "[red]✗[/red] {key}: {seconds:g} सेकंड में कोई जवाब नहीं। सिस्टम शायद अभी काम कर रहा है: "
               "`prachar status` देखें, या बकेट में errors/{key}.json देखें।", key=plain(upload.key), seconds=timeout)
