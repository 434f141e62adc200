"""`prachar check`'s judgement: a local file judged offline by the very code the upload Lambdas run.

The sequence of each check is the Lambda's (chalicelib/services/ingest.py: `_content`, `_calendar`, `_calendar_row`,
`_config`; services/audience_import.py: `run`, `_continue`), and every rule is the domain's own
(chalicelib/domain/vetting.py and what it calls), so that a file this passes is accepted on upload and one it refuses
is refused with the same problems — field, row, what is wrong, how to fix it — that `errors/<key>.json` would hold.
Only what needs the bucket or the table is answered here instead: a media file's size is read from the disk (next
to the manifest, where the reference points) — or, when it is not there and the member is signed in, from the bucket
itself (a HEAD with the member's own AWS credentials); when the bucket cannot be asked, the file is judged as the
system would judge a media file that is not there, and the verdict says it could not be verified — and a series item
without a time takes the series' next daily slot from now (the system's may be later, when other items of the
series hold the earlier ones).

What cannot be known offline — who uploads (the system refuses a member outside the prefix's team when the config
maps principals), a re-upload whose rows are unchanged, numbers on the stop list — is left to the upload.

No rich here: commands/check.py shows what this finds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.domain import vetting
from chalicelib.domain.scope import ScopeError, split_scoped_key
from chalicelib.domain.times import ist_text, to_iso
from chalicelib.errors import InvalidContentError, Problem
from chalicelib.settings import DEFAULT_MAX_UPLOAD_BYTES
from prachar_cli.files import local_media_path, suffix_refusal

READ_CHUNK = 256 * 1024                # an audience file is read as the import streams it, never whole


@dataclass
class Judge:
    """What a file is judged against: the campaign, the moment, the upload limit, the active config's version."""

    campaign: Any | None
    now: datetime
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    active_version: str | None = None
    # When the active version was learnt from the API (None: it is the --config file's, or not known).
    active_fetched_at: datetime | None = None
    # A media key's size in the bucket (None: not there); raises when the bucket cannot tell. None: not asked.
    bucket: Callable[[str], int | None] | None = None
    bucket_unavailable: str | None = None  # why the bucket is not asked (in the user's language)
    # The series' last slot given in this run, (scope, series) → time: items checked together take slots one after
    # another, as uploads of them would.
    cursors: dict[tuple[str, str], datetime] = field(default_factory=dict)


@dataclass
class MediaSize:
    key: str
    content_type: str
    size: int | None                # None: not next to the manifest
    limits: dict[str, int | None]   # platform → largest size it takes (None: it does not take this type)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "content_type": self.content_type, "bytes": self.size, "limits": self.limits}


@dataclass
class PostPreview:
    """One post an accepted manifest (or calendar row) makes: this content to this account at this time."""

    account: str
    platform: str
    scope: str
    due_at: datetime
    title: str
    payload: dict[str, Any]
    row: int | None = None
    slot_estimated: bool = False  # a series item's slot, taken from now: the system's may be later

    def thread(self) -> list[tuple[str, int]]:
        """X: each part of the thread with its weighted length (twitter-text; at most 280)."""
        from chalicelib.domain.x_text import weighted_length

        if self.platform != "x":
            return []
        return [(part, weighted_length(part)) for part in self.payload.get("thread") or []]

    def to_json(self) -> dict[str, Any]:
        from chalicelib.domain.x_text import MAX_WEIGHT

        payload = self.payload
        data: dict[str, Any] = {
            "row": self.row, "title": self.title, "account": self.account, "platform": self.platform,
            "scope": self.scope, "due_at": to_iso(self.due_at), "due_at_ist": ist_text(self.due_at),
            "slot_estimated": self.slot_estimated, "text": payload.get("text"), "link": payload.get("link"),
            "media": [item["key"] for item in payload.get("media") or []]}
        if self.platform == "x":
            data["thread"] = [{"text": text, "weight": weight, "limit": MAX_WEIGHT} for text, weight in self.thread()]
        if self.platform == "whatsapp":
            data["audience"] = payload.get("audience")
            data["template"] = payload.get("template")
        return data


@dataclass
class Verdict:
    path: Path
    kind: str
    key: str | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    posts: list[PostPreview] = field(default_factory=list)
    media: list[MediaSize] = field(default_factory=list)
    accepted_rows: int | None = None    # calendars: rows that go ahead; audience files: contacts imported
    refused: list[dict[str, Any]] = field(default_factory=list)   # audience: {row, reason}
    contacts: list[dict[str, Any]] = field(default_factory=list)  # audience: {row, phone (masked), language}
    merged: int = 0                     # audience: rows whose number came earlier in the file (one person)
    sizes: dict[str, int | None] = field(default_factory=dict)    # media key → its size (None: not found)
    not_local: dict[str, Path] = field(default_factory=dict)      # media key → where it was looked for on disk
    in_bucket: dict[str, int] = field(default_factory=dict)       # media key → its size in the bucket (not on disk)
    unverified: dict[str, str] = field(default_factory=dict)      # media key → why the bucket could not be asked
    active_version: str | None = None   # config: the version it was compared with
    active_fetched_at: datetime | None = None  # config: when that version was learnt from the API
    summary: dict[str, Any] = field(default_factory=dict)         # config: the campaign in numbers
    unchanged: bool = False             # config: the very bytes of the active config
    read: bool = False                  # calendars, audience files: read past the file's own checks (rows judged)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": str(self.path), "kind": self.kind, "key": self.key, "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "accepted_rows": self.accepted_rows,
            "posts": [post.to_json() for post in self.posts],
            "warnings": list(self.warnings),
            "media": [item.to_json() for item in self.media],
            "missing_media": [{"key": key, "looked_for": str(where)} for key, where in self.not_local.items()
                              if key not in self.in_bucket],
            "in_bucket": [{"key": key, "bytes": size} for key, size in self.in_bucket.items()],
            "not_verified_in_bucket": [{"key": key, "why": why} for key, why in self.unverified.items()],
        }
        if self.kind == "audience":
            data["refused"] = list(self.refused)
            data["merged"] = self.merged
        if self.kind == "config":
            data["campaign"] = self.summary or None
            data["unchanged"] = self.unchanged
            data["compared_with"] = {"version": self.active_version, "fetched_at": (
                to_iso(self.active_fetched_at) if self.active_fetched_at else None)} if self.active_version else None
        return data


def check_file(path: Path, kind: str, key: str | None, judge: Judge) -> Verdict:
    """One file's verdict. Whatever the bytes, this returns: an exception no check foresaw is the file's problem,
    in the words ingest gives it (here, for every kind: the checks below let such exceptions through)."""
    verdict = Verdict(path, kind, key, accepted_rows=0 if kind in ("calendar", "audience") else None)
    try:
        if kind == "manifest":
            _manifest(verdict, judge)
        elif kind == "calendar":
            _calendar(verdict, judge)
        elif kind == "config":
            _config(verdict, judge)
        elif kind == "audience":
            _audience(verdict, judge)
    except Exception as exc:  # the last line of defence: every file gets an answer
        verdict.problems = [vetting.unforeseen(exc)]
        verdict.posts, verdict.warnings, verdict.contacts = [], [], []
        verdict.accepted_rows = 0 if kind in ("calendar", "audience") else None
    return verdict


# ---- content/<scope>/…/<name>.yaml|.yml|.json (ingest._content) ---------------------------------------------------
def _manifest(verdict: Verdict, judge: Judge) -> None:
    from chalicelib.domain.manifest import MANIFEST_SUFFIXES, decode_document

    key = verdict.key or ""
    if not key.lower().endswith(MANIFEST_SUFFIXES):
        # The system takes any other file under content/ for media, and never reads it as a post.
        message, fix = suffix_refusal(key.rsplit("/", 1)[-1], "manifest") or ("", "")
        verdict.problems = [Problem("(key)", message, fix)]
        return
    scoped = _scoped_and_within(verdict, "content", judge.max_upload_bytes)
    if scoped is None:
        return
    raw = verdict.path.read_bytes()
    try:
        vetted, estimated = _vet(verdict, decode_document(raw, key, judge.max_upload_bytes), scoped, judge)
    except InvalidContentError as exc:
        verdict.problems = list(exc.problems)
        return
    _preview(verdict, vetted, judge, None, estimated)
    verdict.warnings += [str(w) for w in vetting.election_warnings(vetted.plans, judge.campaign)]


def _vet(verdict: Verdict, document: dict[str, Any], scoped: Any, judge: Judge) -> tuple[vetting.Vetted, bool]:
    """vetting.vet_manifest with the disk for the bucket's sizes and from-now series slots; whether a slot was
    estimated."""
    scope = str(scoped.scope)
    estimated: list[bool] = []
    referencing_key = verdict.key or ""

    def size_of(media_key: str) -> int | None:
        """The bucket's answer, from the disk — the file where the reference points from this file's folder, the
        one `prachar upload` sends — else from the bucket, when it can be asked."""
        local = local_media_path(verdict.path, referencing_key, media_key)
        try:
            size = local.stat().st_size if local.is_file() else None
        except OSError:
            size = None
        if size is None:
            verdict.not_local[media_key] = local
            size = _in_bucket(verdict, judge, media_key)
        verdict.sizes[media_key] = size
        return size

    def slot(manifest: Any, plans: list) -> list:
        cursor = judge.cursors.get((scope, manifest.series))
        due = vetting.series_slot(manifest.series, scope, judge.campaign, judge.now, cursor)
        judge.cursors[scope, manifest.series] = due
        estimated.append(True)
        return [replace(plan, due_at=due) for plan in plans]

    vetted = vetting.vet_manifest(document, scoped, judge.campaign, judge.now, size_of=size_of, slot=slot)
    return vetted, bool(estimated)


def _preview(verdict: Verdict, vetted: vetting.Vetted, judge: Judge, row: int | None, estimated: bool) -> None:
    from chalicelib.domain.media_rules import RULES

    title = vetted.manifest.title
    for plan in vetted.plans:
        verdict.posts.append(PostPreview(plan.account.id, plan.account.platform, plan.account.scope, plan.due_at,
                                         title, plan.payload, row, estimated))
    if vetted.plans:
        platforms = sorted({plan.account.platform for plan in vetted.plans})
        known = {item.key for item in verdict.media}
        for item in vetted.plans[0].payload["media"]:
            if item["key"] in known:
                continue
            known.add(item["key"])
            verdict.media.append(MediaSize(item["key"], item["content_type"], verdict.sizes.get(item["key"]),
                                           {p: RULES[p].types.get(item["content_type"]) for p in platforms}))


def _in_bucket(verdict: Verdict, judge: Judge, media_key: str) -> int | None:
    """A media file's size in the bucket (None: not there, or not known — then said in verdict.unverified)."""
    if judge.bucket is None:
        verdict.unverified[media_key] = judge.bucket_unavailable or ""
        return None
    try:
        size = judge.bucket(media_key)
    except Exception as exc:  # whatever stops the question, the answer is "not known"
        verdict.unverified[media_key] = _why(exc)
        return None
    if size is not None:
        verdict.in_bucket[media_key] = size
    return size


def _why(exc: BaseException) -> str:
    from prachar_cli.output import visible

    return visible(f"{type(exc).__name__}: {exc}")[:200]


def bucket_sizes(bucket: str, region: str | None = None) -> Callable[[str], int | None]:
    """A media key's size in `bucket`, asked with a HEAD and the member's own AWS credentials (the default chain;
    AWS_ENDPOINT_URL honoured, as `prachar upload` has it): None when S3 says there is no such key; any other
    answer (no credentials, AccessDenied, no network) raises. Each key is asked once."""
    known: dict[str, int | None] = {}
    clients: list[Any] = []

    def size(key: str) -> int | None:
        if key in known:
            return known[key]
        if not clients:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()
            clients.append(session.client("s3", region_name=session.region_name or region,
                                          config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                                        connect_timeout=3, read_timeout=5)))
        from botocore.exceptions import ClientError

        try:
            answer = clients[0].head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                known[key] = None
                return None
            raise
        known[key] = int(answer["ContentLength"])
        return known[key]

    return size


def _scoped_and_within(verdict: Verdict, area: str, limit: int) -> Any:
    """The key's scope, and the file within the upload limit — what ingest looks at before it reads the file; None
    (with the file's problem) when either fails."""
    try:
        scoped = split_scoped_key(verdict.key or "")
    except ScopeError as exc:
        verdict.problems = [vetting.outside_any_scope(str(exc), area)]
        return None
    size = verdict.path.stat().st_size
    if size > limit:
        verdict.problems = [vetting.too_large(size, limit)]
        return None
    return scoped


# ---- calendar/<scope>/…/<name>.csv (ingest._calendar, _calendar_row) ---------------------------------------------
def _calendar(verdict: Verdict, judge: Judge) -> None:
    from chalicelib.domain.calendar import read_calendar

    key = verdict.key or ""
    if not key.lower().endswith(".csv"):
        verdict.problems = [vetting.not_a_calendar(key)]
        return
    limit = judge.max_upload_bytes * vetting.CALENDAR_SIZE_FACTOR
    scoped = _scoped_and_within(verdict, "calendar", limit)
    if scoped is None:
        return
    try:
        sheet = read_calendar(verdict.path.read_bytes(), limit)
    except InvalidContentError as exc:
        verdict.problems = list(exc.problems)
        return
    verdict.read = True
    problems = list(sheet.problems)
    accepted = 0
    for row in sheet.rows:
        if row.problems:  # found while reading the row
            problems += row.problems
            continue
        try:
            vetted, estimated = _vet(verdict, row.document, scoped, judge)
        except InvalidContentError as exc:
            problems += vetting.at_row(exc.problems, row.row)
            continue
        except Exception as exc:  # one row's surprise is that row's problem; the other rows go ahead
            problems.append(replace(vetting.unforeseen(exc, "this row"), row=row.row))
            continue
        accepted += 1
        _preview(verdict, vetted, judge, row.row, estimated)
        title = row.document["title"]
        verdict.warnings += [f"row {row.row} ({title}) {w}" for w in vetting.election_warnings(vetted.plans,
                                                                                            judge.campaign)]
    verdict.problems = problems
    verdict.accepted_rows = accepted


# ---- config/campaign.yaml (ingest._config) -----------------------------------------------------------------------
def _config(verdict: Verdict, judge: Judge) -> None:
    from chalicelib.domain.campaign import parse_campaign
    from chalicelib.domain.manifest import decode_document

    key = verdict.key or ""
    if key != vetting.CONFIG_KEY:
        verdict.problems = [vetting.not_the_config(key)]
        return
    if refused := suffix_refusal(verdict.path, "config"):  # `--as config` on a file that is not YAML or JSON
        verdict.problems = [Problem("(file)", *refused)]
        return
    size = verdict.path.stat().st_size
    if size > judge.max_upload_bytes:
        verdict.problems = [vetting.too_large(size, judge.max_upload_bytes)]
        return
    raw = verdict.path.read_bytes()
    if judge.active_version is not None and hashlib.sha256(raw).hexdigest() == judge.active_version:
        verdict.unchanged = True  # the system changes nothing: this is the active config (as last learnt)
        verdict.active_version, verdict.active_fetched_at = judge.active_version, judge.active_fetched_at
        return
    try:
        campaign = parse_campaign(decode_document(raw, key, judge.max_upload_bytes))
    except InvalidContentError as exc:
        verdict.problems = list(exc.problems)
        return
    verdict.summary = {"campaign": campaign.campaign, "districts": len(campaign.districts),
                       "constituencies": len(campaign.constituencies), "teams": len(campaign.teams),
                       "accounts": len(campaign.accounts)}


def campaign_from_config(raw: bytes, max_upload_bytes: int) -> Any:
    """The campaign of a local config file as the Lambdas hold it once it is active: validated by the config upload's
    parser, then read back from its stored form (domain/stored_campaign.py). InvalidContentError when it is bad."""
    from chalicelib.domain.campaign import parse_campaign
    from chalicelib.domain.manifest import decode_document
    from chalicelib.domain.stored_campaign import read_campaign

    campaign = parse_campaign(decode_document(raw, vetting.CONFIG_KEY, max_upload_bytes))
    return read_campaign(campaign.model_dump(mode="json"))


def campaign_from_document(document: dict[str, Any]) -> Any:
    """The campaign of the active config as the API gave it (the stored dump, members' contact details left out)."""
    from chalicelib.domain.stored_campaign import read_campaign

    return read_campaign(document)


# ---- audience/<constituency>/…/<name>.csv (audience_import.run, _continue) ------------------------------------------
def _audience(verdict: Verdict, judge: Judge) -> None:
    import csv

    from chalicelib.domain.audience import (
        Refusal,
        check_header,
        check_row,
        empty_audience,
        not_a_constituency,
        unreadable_audience,
    )
    from chalicelib.domain.audience_file import NotText, rows
    from chalicelib.domain.phone import mask

    key = verdict.key or ""
    campaign = judge.campaign
    if refused := suffix_refusal(verdict.path, "audience"):  # `--as audience` on a file that is not a CSV
        verdict.problems = [Problem("(file)", *refused)]
        return
    if refused := not_a_constituency(key, campaign):
        verdict.problems = [refused]
        return
    notices = frozenset(campaign.audience.notices) or None
    names: list[str] | None = None
    problems: list[Problem] = []
    seen: set[str] = set()
    accepted, last_row = 0, 0
    try:
        for row in rows(_chunks(verdict.path)):
            if names is None:
                names, header_problems = check_header(row.cells)
                if header_problems:
                    verdict.problems = header_problems
                    return
                verdict.read = True
                last_row = row.number
                continue
            checked = check_row(row.number, names, row.cells, judge.now, notices)
            last_row = row.number
            if isinstance(checked, Refusal):
                problems += checked.problems
                verdict.refused.append({"row": checked.row, "reason": checked.reason})
            elif checked is not None:
                if checked.phone in seen:  # the same number again: one person, the latest consent kept
                    verdict.merged += 1
                    continue
                seen.add(checked.phone)
                accepted += 1
                verdict.contacts.append({"row": checked.row, "phone": mask(checked.phone),
                                         "language": checked.language})
    except (NotText, csv.Error) as exc:
        problems.append(unreadable_audience(last_row, exc))
        verdict.refused.append({"row": last_row + 1, "reason": "unreadable"})
    if names is None:
        verdict.problems = [empty_audience()]
        return
    verdict.problems = problems
    verdict.accepted_rows = accepted


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk
