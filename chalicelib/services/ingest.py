"""Uploads into the system: the campaign config, and post manifests (one post per target account)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.bucket import ContentBucket, Superseded, TooLarge
from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import ActiveCampaign, ContentRecord, Store
from chalicelib.domain.approval import needs_approval
from chalicelib.domain.calendar import read_calendar
from chalicelib.domain.campaign import Campaign, parse_campaign, principal_matches
from chalicelib.domain.manifest import MANIFEST_SUFFIXES, MEDIA_TYPES, decode_document
from chalicelib.domain.post import APPROVAL_WINDOW, REPLACEABLE, Post, PostStatus, content_id_for
from chalicelib.domain.problems import MAX_PROBLEMS
from chalicelib.domain.scope import ScopeError, split_scoped_key
from chalicelib.domain.times import ist_text, to_iso
from chalicelib.domain.vetting import (
    CALENDAR_SIZE_FACTOR,
    CONFIG_KEY,
    NO_CAMPAIGN,
    at_row,
    election_warnings,
    not_a_calendar,
    not_the_config,
    outside_any_scope,
    problem_count,
    series_slot,
    too_large,
    unforeseen,
    vet_manifest,
)
from chalicelib.errors import InvalidContentError, PersistenceError, Problem
from chalicelib.observability import logger
from chalicelib.services import upload_answers
from chalicelib.services.activity import ActivityLog
from chalicelib.services.campaigns import CampaignSource
from chalicelib.services.publish import FAILED_MARK, deliveries_for

# Storage failing is not the upload's fault: these still raise, so that S3 and Lambda retry the event.
STORAGE_ERRORS = (PersistenceError, BotoCoreError, ClientError)

MAX_DOUBTS = 5  # earlier wordings looked for after a call in doubt (see Post.doubts)


@dataclass
class IngestResult:
    key: str
    outcome: str            # accepted | unchanged | rejected | ignored | gone | superseded
    content_id: str | None = None
    scheduled: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    partly_reached: dict[str, dict[str, int]] = field(default_factory=dict)  # account → {recipient: revision}
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # accepted, but the election calendar will stop a post

    def answer(self, now: Any) -> dict[str, Any]:
        """What `prachar upload` (through GET /api/uploads) is told became of the upload. A calendar's `scheduled`
        holds its rows' content ids; a manifest's, the accounts of its one content."""
        if self.key.startswith("calendar/"):
            content_ids, accounts = list(self.scheduled), []
        else:
            placed = self.content_id and self.outcome in ("accepted", "unchanged")
            content_ids, accounts = [self.content_id] if placed else [], list(self.scheduled)
        return {"key": self.key, "outcome": self.outcome, "answered_at": to_iso(now), "content_ids": content_ids,
                "accounts": accounts, "kept": self.kept, "withdrawn": self.withdrawn,
                "warnings": self.warnings[:MAX_PROBLEMS], **_problem_details(self.problems)}


@dataclass
class Ingest:
    store: Store
    bucket: ContentBucket
    campaigns: CampaignSource
    activity: ActivityLog
    clock: Clock
    max_upload_bytes: int
    config_writers: tuple[str, ...] = ()   # what the bucket policy lets write config/ besides coordinators
    # services/dispatch.Dispatcher.queue_now: posts due already go to the queue at once, not at the next minute
    queue_now: Callable[[list[Post]], list[str]] | None = None

    # ---- config/campaign.yaml -------------------------------------------------------------------
    def config(self, key: str, uploaded_by: str | None = None, etag: str | None = None,
               version: str | None = None) -> IngestResult:
        """The campaign config named by an upload event. With the event's `etag`, exactly that upload is read
        and credited to that event's uploader: a file replaced since (the other upload's own event decides) is
        skipped, so a coordinator's late event never activates someone else's file."""
        return self._answered(self._config(key, uploaded_by, etag), version or etag)

    def _config(self, key: str, uploaded_by: str | None, etag: str | None) -> IngestResult:
        if key != CONFIG_KEY:
            return self._reject_config(key, [not_the_config(key)])
        if refused := _config_uploader_refused(self.campaigns.active(), uploaded_by, self.config_writers):
            return self._reject_config(key, [refused])
        try:
            upload = self.bucket.read(key, self.max_upload_bytes, etag=etag)
        except TooLarge as exc:
            return self._reject_config(key, [too_large(exc.size, self.max_upload_bytes)])
        except Superseded:
            self.activity.record("config.superseded", "state", f"{key} was uploaded again before this upload was "
                                 "read: the later upload's own event decides", key=key)
            return IngestResult(key, "superseded")
        if upload is None:
            return IngestResult(key, "gone")
        version = hashlib.sha256(upload.body).hexdigest()
        if self.campaigns.active_version() == version:
            self.activity.record("config.unchanged", "state", "campaign config re-uploaded unchanged", key=key)
            return IngestResult(key, "unchanged")
        try:
            campaign = parse_campaign(decode_document(upload.body, key, self.max_upload_bytes))
        except InvalidContentError as exc:
            return self._reject_config(key, exc.problems)
        except Exception as exc:  # the last line of defence: every upload gets an answer
            return self._reject_config(key, [_unexpected(key, exc)])
        record = ActiveCampaign(document=campaign.model_dump(mode="json"), version=version, key=key,
                                activated_at=self.clock.now())
        self.campaigns.activate(record, campaign)
        self.bucket.clear_error_report(key)
        self.activity.record(
            "config.activated", "state",
            f"campaign {campaign.campaign} is active: {len(campaign.districts)} districts, "
            f"{len(campaign.constituencies)} constituencies, {len(campaign.teams)} teams, "
            f"{len(campaign.accounts)} accounts", key=key, details={"version": version[:12]})
        return IngestResult(key, "accepted")

    def _reject_config(self, key: str, problems: list[Problem]) -> IngestResult:
        self.bucket.write_error_report(key, _report(key, problems, self.clock,
                                                    "the campaign config that was active stays active"))
        self.activity.record("config.rejected", "state",
                             f"campaign config rejected ({problem_count(problems)}); the previous one stays active",
                             level="error", key=key, details=_problem_details(problems))
        return IngestResult(key, "rejected", problems=problems)

    # ---- content/<scope>/…/<name>.yaml|.yml|.json -----------------------------------------------
    def content(self, key: str, uploaded_by: str | None = None, etag: str | None = None,
                version: str | None = None) -> IngestResult:
        """A post manifest named by an upload event; with the event's `etag`, exactly that upload (a file replaced
        since is skipped: the later upload's own event decides) — and its answer is kept for `prachar upload`."""
        upload_id = version or etag
        return self._answered(self._content(key, uploaded_by, etag, upload_id), upload_id)

    def _content(self, key: str, uploaded_by: str | None, etag: str | None, upload_id: str | None) -> IngestResult:
        if not key.lower().endswith(MANIFEST_SUFFIXES):
            return IngestResult(key, "ignored")  # media: read when a post that names it is published
        try:
            scoped = split_scoped_key(key)
        except ScopeError as exc:
            return self._reject(key, "unknown", [outside_any_scope(str(exc), "content")])
        scope = str(scoped.scope)
        campaign = self.campaigns.active()
        if campaign is None:
            return self._reject(key, scope, [NO_CAMPAIGN])
        try:
            upload = self.bucket.read(key, self.max_upload_bytes, etag=etag)
        except TooLarge as exc:
            return self._reject(key, scope, [too_large(exc.size, self.max_upload_bytes)])
        except Superseded:
            return IngestResult(key, "superseded")
        if upload is None:
            return IngestResult(key, "gone")
        uploader, refused = _uploader(campaign, uploaded_by, scope)
        if refused:
            return self._reject(key, scope, [refused])
        content_id = content_id_for(key)
        sha256 = hashlib.sha256(upload.body).hexdigest()
        existing = self.store.content(content_id)
        if existing and existing.sha256 == sha256:
            if upload_id and existing.upload == upload_id:  # this very upload, done before its answer was kept
                return self._accepted_before(key, content_id)
            self.activity.record("upload.unchanged", scope, f"{key} re-uploaded unchanged; nothing to do",
                                 content_id=content_id, key=key)
            return IngestResult(key, "unchanged", content_id=content_id)
        try:
            manifest, plans = self._plan(decode_document(upload.body, key, self.max_upload_bytes), scoped, campaign,
                                         existing)
        except InvalidContentError as exc:
            return self._reject(key, scope, exc.problems, content_id)
        except STORAGE_ERRORS:
            raise  # not the upload's fault: S3 and Lambda retry the event
        except Exception as exc:  # the last line of defence: every upload gets an answer
            return self._reject(key, scope, [_unexpected(key, exc)], content_id)
        result = self._accept(key, scope, content_id, existing, sha256, manifest.model_dump(mode="json"), plans,
                              uploader, needs_approval(scope, campaign, manifest.model_dump(mode="json")), campaign,
                              upload_id)
        result.warnings += self._warn_about_the_calendar(key, scope, content_id, plans, campaign)
        return result

    def _warn_about_the_calendar(self, key: str, scope: str, content_id: str, plans: list,
                                 campaign: Campaign) -> list[str]:
        """Accepted, but the election calendar will stop it at its time: say so now, while it can be moved."""
        said = []
        for warning in election_warnings(plans, campaign):
            self.activity.record("upload.warning", scope, f"{key} {warning}", level="warning", content_id=content_id,
                                 key=key, account_id=warning.account_id)
            said.append(str(warning))
        return said

    def _accepted_before(self, key: str, content_id: str) -> IngestResult:
        """The answer to an upload whose work was done by an earlier run of its event (its answer was not kept)."""
        _, posts = self.store.content_with_posts(content_id)
        return IngestResult(key, "accepted", content_id=content_id,
                            scheduled=sorted(p.account_id for p in posts if p.status is not PostStatus.WITHDRAWN))

    def _answered(self, result: IngestResult, upload: str | None) -> IngestResult:
        """Kept for the uploader (GET /api/uploads), by the event's version id (or ETag): the one S3 gave the
        uploader's PutObject."""
        if upload:
            upload_answers.record(self.store, self.clock, result.key, upload, result.answer(self.clock.now()))
        return result

    def _plan(self, document: dict[str, Any], scoped: Any, campaign: Campaign,
              existing: ContentRecord | None) -> tuple[Any, list]:
        """A manifest, checked against the campaign and the bucket, as one post per target account."""
        def in_series(manifest: Any, plans: list) -> list:
            return self._in_series(manifest.series, str(scoped.scope), campaign, plans, existing)

        vetted = vet_manifest(document, scoped, campaign, self.clock.now(), size_of=self.bucket.size_of,
                              slot=in_series)
        return vetted.manifest, vetted.plans

    def _in_series(self, series: str, scope: str, campaign: Campaign, plans: list,
                   existing: ContentRecord | None) -> list:
        """A series item with no time takes the series' next daily slot (and keeps it when re-uploaded)."""
        if existing is not None:
            _, posts = self.store.content_with_posts(existing.content_id)
            if posts:
                return [replace(plan, due_at=posts[0].due_at) for plan in plans]
        for _ in range(5):  # another item of the series may take the same slot at the same moment
            cursor = self.store.series_cursor(scope, series)
            slot = series_slot(series, scope, campaign, self.clock.now(), cursor)
            if self.store.take_series_slot(scope, series, cursor, slot):
                return [replace(plan, due_at=slot) for plan in plans]
        raise PersistenceError(f"series {series} is busy; retrying")

    # ---- calendar/<scope>/…/<name>.csv -----------------------------------------------------------
    def calendar(self, key: str, uploaded_by: str | None = None, etag: str | None = None,
                 version: str | None = None) -> IngestResult:
        """Every good row goes ahead; bad rows are reported by row and column; nothing is duplicated. With the
        event's `etag`, exactly that upload is read, and its answer kept for `prachar upload`."""
        upload_id = version or etag
        return self._answered(self._calendar(key, uploaded_by, etag, upload_id), upload_id)

    def _calendar(self, key: str, uploaded_by: str | None, etag: str | None, upload_id: str | None) -> IngestResult:
        if key.lower().endswith(tuple(MEDIA_TYPES)):
            return IngestResult(key, "ignored")  # a calendar's media: read when a post that names it is published
        if not key.lower().endswith(".csv"):
            return self._reject(key, "unknown", [not_a_calendar(key)])
        try:
            scoped = split_scoped_key(key)
        except ScopeError as exc:
            return self._reject(key, "unknown", [outside_any_scope(str(exc), "calendar")])
        scope = str(scoped.scope)
        campaign = self.campaigns.active()
        if campaign is None:
            return self._reject(key, scope, [NO_CAMPAIGN])
        uploader, refused = _uploader(campaign, uploaded_by, scope)
        if refused:
            return self._reject(key, scope, [refused])
        limit = self.max_upload_bytes * CALENDAR_SIZE_FACTOR
        try:
            upload = self.bucket.read(key, limit, etag=etag)
        except TooLarge as exc:
            return self._reject(key, scope, [too_large(exc.size, limit)])
        except Superseded:
            return IngestResult(key, "superseded")
        if upload is None:
            return IngestResult(key, "gone")
        try:
            sheet = read_calendar(upload.body, limit)
        except InvalidContentError as exc:
            return self._reject(key, scope, exc.problems)
        except Exception as exc:  # the last line of defence: every upload gets an answer
            return self._reject(key, scope, [_unexpected(key, exc)])
        result = IngestResult(key, "accepted", problems=list(sheet.problems))
        counts = {"accepted": 0, "unchanged": 0, "replaced": 0}
        # Every good row's content record as it stands, in batch reads rather than one read a row (a title is
        # a row's identity, and titles do not repeat in a calendar that is read: each record is read once).
        ids = [content_id_for(f"{key}#{r.document['title']}") for r in sheet.rows if not r.problems]
        known = dict.fromkeys(ids) | self.store.contents(ids) if len(set(ids)) == len(ids) else {}
        for row in sheet.rows:
            outcome = self._calendar_row(key, scoped, scope, campaign, row, uploader, result, known, upload_id)
            if outcome:
                counts[outcome] += 1
        present = {content_id_for(f"{key}#{r.document['title']}") for r in sheet.rows}
        if sheet.complete:
            withdrawn = self._withdraw_dropped_rows(key, present)
        else:  # rows after an unreadable one are unknown: withdraw nothing, forget nothing
            self.store.remember_calendar_rows(key, sorted(present | set(self.store.calendar_rows(key))))
            withdrawn = 0
        if result.problems:
            self.bucket.write_error_report(key, _report(key, result.problems, self.clock,
                                                        "the other rows went ahead"))
        else:
            self.bucket.clear_error_report(key)
        bad_rows = sorted({p.row for p in result.problems if p.row})
        self.activity.record(
            "calendar.processed", scope,
            f"{key}: {counts['accepted']} row(s) scheduled, {counts['replaced']} replaced, {counts['unchanged']} "
            f"unchanged, {len(bad_rows)} rejected" + (f" (rows {', '.join(map(str, bad_rows))})" if bad_rows else "")
            + (f", {withdrawn} withdrawn" if withdrawn else ""),
            level="warning" if bad_rows else "info", key=key,
            details={**counts, "rejected_rows": bad_rows[:MAX_PROBLEMS], **_problem_details(result.problems)})
        if result.problems and not any(counts.values()):
            result.outcome = "rejected"  # not a row went ahead (nor was there already)
        return result

    def _calendar_row(self, key: str, scoped: Any, scope: str, campaign: Campaign, row: Any, uploader: str | None,
                      result: IngestResult, known: dict[str, ContentRecord | None],
                      upload_id: str | None = None) -> str | None:
        if row.problems:  # found while reading the row: reported, not planned, and not withdrawn either
            result.problems += row.problems
            return None
        title = row.document["title"]
        content_id = content_id_for(f"{key}#{title}")
        sha256 = hashlib.sha256(json.dumps(row.document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        existing = known[content_id] if content_id in known else self.store.content(content_id)
        if existing and existing.sha256 == sha256:
            if upload_id and existing.upload == upload_id:  # this very upload, done before its answer was kept
                result.scheduled.append(content_id)
                return "accepted"
            return "unchanged"
        try:
            manifest, plans = self._plan(row.document, scoped, campaign, existing)
        except InvalidContentError as exc:
            result.problems += at_row(exc.problems, row.row)
            return None
        except STORAGE_ERRORS:
            raise  # not the upload's fault: S3 and Lambda retry the event
        except Exception as exc:  # one row's surprise is that row's problem; the other rows go ahead
            result.problems.append(replace(_unexpected(key, exc, "this row"), row=row.row))
            return None
        document = manifest.model_dump(mode="json")
        self._accept(key, scope, content_id, existing, sha256, document, plans, uploader,
                     needs_approval(scope, campaign, document), campaign, upload_id)
        said = self._warn_about_the_calendar(key, scope, content_id, plans, campaign)
        result.warnings += [f"row {row.row} ({title}) {warning}" for warning in said]
        result.scheduled.append(content_id)
        return "replaced" if existing else "accepted"

    def _withdraw_dropped_rows(self, key: str, present: set[str]) -> int:
        """Rows deleted from the calendar: their posts that have not gone out are withdrawn."""
        previous = set(self.store.calendar_rows(key))
        self.store.remember_calendar_rows(key, sorted(present))
        withdrawn = 0
        for content_id in previous - present:
            _, posts = self.store.content_with_posts(content_id)
            withdrawn += sum(self.store.move_post(
                content_id, p.account_id, expected=REPLACEABLE, status=PostStatus.WITHDRAWN, now=self.clock.now(),
                fields={"reason": "its row was removed from the calendar"}) for p in posts if not _in_doubt(p))
        return withdrawn

    def _accept(self, key: str, scope: str, content_id: str, existing: ContentRecord | None, sha256: str,
                manifest: dict[str, Any], plans: list, uploaded_by: str | None, approval: bool,
                campaign: Campaign, upload_id: str | None = None) -> IngestResult:
        now = self.clock.now()
        revision = existing.revision + 1 if existing else 1
        result = IngestResult(key, "accepted", content_id=content_id)
        planned = {plan.account.id for plan in plans}
        current = self.store.content_with_posts(content_id)[1] if existing else []
        busy = [p.account_id for p in current if p.status is PostStatus.PUBLISHING]
        posts_before = {p.account_id: p for p in current}
        if busy:  # placed now, the new wording would be refused for these and the old one go out on a retry
            raise PersistenceError(f"{key}: {', '.join(busy)} being published right now; the upload is retried")
        # Changed content needs a new sign-off: its posts wait for approval again.
        first = PostStatus.PENDING_APPROVAL if approval else PostStatus.SCHEDULED
        placed: list[Post] = []
        for plan in plans:
            # Waiting for sign-off, a post wakes at its deadline: its time, or a day for "as soon as approved".
            timed = manifest.get("publish_at") or manifest.get("series")
            wake = plan.due_at if not approval or timed else now + APPROVAL_WINDOW
            post = Post(content_id=content_id, account_id=plan.account.id, platform=plan.account.platform,
                        scope=scope, status=first, due_at=plan.due_at, revision=revision,
                        payload=plan.payload, wake_at=wake)
            before = posts_before.get(plan.account.id)
            spent = _nothing_left(before, [d.key for d in deliveries_for(post, campaign)]) if before else None
            if spent:
                # Every call the new revision would make was made with an earlier one: given the new revision, the
                # post would send nothing and still be called published. It stays as it is, and the uploader is told.
                result.kept.append(f"{plan.account.id} ({spent})")
                continue
            if before and before.check_first and before.pending_delivery is None and before.status in REPLACEABLE:
                # A call of the wording being replaced is in doubt (an error answer): the next attempt looks for it
                # as well as for the new wording before it sends, so a post that did land is never sent again.
                doubts = [*before.doubts, {"revision": before.revision, "payload": before.payload}]
                # Each is a look-up before the next send: keep the first wording in doubt and the latest few.
                post.doubts = doubts if len(doubts) <= MAX_DOUBTS else [doubts[0], *doubts[-(MAX_DOUBTS - 1):]]
            placement = self.store.place_post(post, REPLACEABLE)
            previous = placement.previous
            if not placement.placed:
                result.kept.append(f"{plan.account.id} ({_why_kept(previous)})")
                continue
            result.scheduled.append(plan.account.id)
            placed.append(post)
            reached = sorted(k for k, v in (previous.deliveries if previous else {}).items()
                             if not v.startswith(FAILED_MARK))
            if reached:
                result.partly_reached[plan.account.id] = {
                    key: previous.delivery_revisions.get(key, previous.revision) for key in reached}
        if existing:
            for post in current:
                if post.account_id not in planned and not _in_doubt(post) and self.store.move_post(
                        content_id, post.account_id, expected=REPLACEABLE, status=PostStatus.WITHDRAWN, now=now,
                        fields={"reason": "a re-upload no longer targets this account"}):
                    result.withdrawn.append(post.account_id)
        record = ContentRecord(content_id=content_id, key=key, scope=scope, title=manifest["title"],
                               revision=revision, sha256=sha256, manifest=manifest, uploaded_at=now,
                               series=manifest.get("series"), uploaded_by=uploaded_by,
                               approval={"needed": True, "status": "pending"} if approval else None,
                               upload=upload_id)
        if not self.store.save_content(record, existing.revision if existing else None):
            raise PersistenceError(f"{key} was changed by a concurrent upload; retrying")
        self.bucket.clear_error_report(key)
        when = ist_text(plans[0].due_at)
        verb = "replaced" if existing else "accepted"
        message = f"{manifest['title']}: {verb}, {len(result.scheduled)} post(s) scheduled for {when}"
        if approval:
            message += f"; waiting for approval ({_approvers(scope)})"
        if result.kept:
            message += f"; not replaced for {', '.join(result.kept)}"
        for account_id, reached in result.partly_reached.items():
            message += (f"; {account_id} already reached {', '.join(reached)} — revision {revision} goes only to "
                        "the others")
        if result.withdrawn:
            message += f"; withdrawn from {', '.join(result.withdrawn)}"
        self.activity.record(f"upload.{verb}", scope, message, level="warning" if result.kept else "info",
                             content_id=content_id, key=key, details={
            "revision": revision, "due_at": to_iso(plans[0].due_at), "scheduled": result.scheduled,
            "kept": result.kept, "withdrawn": result.withdrawn, "uploaded_by": uploaded_by,
            "already_reached": result.partly_reached or None,
            "will_send": {plan.account.id: _preview(plan.payload) for plan in plans}})
        if self.queue_now is not None and placed:
            self.queue_now(placed)
        return result

    def _reject(self, key: str, scope: str, problems: list[Problem], content_id: str | None = None) -> IngestResult:
        self.bucket.write_error_report(key, _report(key, problems, self.clock,
                                                    "nothing from this file was scheduled; an earlier accepted "
                                                    "version of it, if any, stays in effect"))
        self.activity.record("upload.rejected", scope, f"{key} rejected ({problem_count(problems)}): "
                             f"{problems[0].field}: {problems[0].message}", level="error", content_id=content_id,
                             key=key, details=_problem_details(problems))
        return IngestResult(key, "rejected", content_id=content_id, problems=problems)


def _config_uploader_refused(active: Campaign | None, principal: str | None,
                             writers: tuple[str, ...] = ()) -> Problem | None:
    """Whoever writes the config decides roles, approvals and accounts: once the active campaign names
    principals, only its coordinators — and the config writers `make deploy` gave the bucket policy (ops, so
    that a config whose principals went stale can still be replaced) — may replace it. The bucket policy is
    the first guard, this the second, and both read a principal the same way. Before any campaign, and while
    the active one names no principal (the local emulator's events carry no uploader), the bucket policy
    alone decides."""
    if active is None or not active.maps_principals:
        return None
    member = active.member_by_principal(principal) if principal else None
    if member is not None and member.role == "coordinator":
        return None
    if principal and any(principal_matches(writer, principal) for writer in writers):
        return None
    who = f"{member.id}, a {member.role}" if member else (principal or "an unknown principal")
    return Problem("(uploader)", f"the config was uploaded by {who}, not by a coordinator of the active campaign "
                   f"{active.campaign}", "only a coordinator replaces the campaign config: upload it with a "
                   "coordinator's credentials (the active config stays in effect)")


def _uploader(campaign: Campaign, principal: str | None, scope: str) -> tuple[str | None, Problem | None]:
    """The member who uploaded, and — when the config maps principals — whether their team owns the prefix."""
    member = campaign.member_by_principal(principal) if principal else None
    if not campaign.maps_principals:
        return (member.id if member else None), None
    if member is None:
        return None, Problem("(uploader)", f"the uploader ({principal or 'unknown'}) is not a member of the campaign",
                             "upload with your own campaign credentials, or ask a coordinator to add your principal "
                             "to config/campaign.yaml")
    team = campaign.team_of(member.id)
    if team is None or team.scope != scope:
        owned = f"content/{team.scope}/" if team else "no prefix"
        return member.id, Problem("(key)", f"{member.id} uploads for {team.id if team else 'no team'}, which owns "
                                  f"{owned}, not content/{scope}/", f"upload under {owned}")
    return member.id, None


def _in_doubt(post: Post) -> bool:
    """Its last call may have landed: it is settled first, never withdrawn as if nothing went out."""
    return post.check_first or post.pending_delivery is not None


def _nothing_left(previous: Post, keys: list[str]) -> str | None:
    """Why a re-upload gives this account nothing to send — every call of the new revision (X: each part of the
    new thread; Facebook: the page post; WhatsApp: each member) was made with an earlier one — else None."""
    made = previous.deliveries
    if not keys or any(key not in made for key in keys) or all(made[key].startswith(FAILED_MARK) for key in keys):
        return None
    if previous.platform == "x":
        what = ("part 1 already went out" if len(keys) == 1 else f"parts 1–{len(keys)} already went out")
        what += " and the new text has no part after them"
    elif previous.platform == "whatsapp":
        unreachable = sum(made[key].startswith(FAILED_MARK) for key in keys)
        what = ("every team member already had it" if not unreachable else
                f"{len(keys) - unreachable} team member(s) already had it and {unreachable} could not be reached")
    else:
        what = "it already went out"
    if previous.status is PostStatus.PUBLISHED:
        return f"already published, not sent again: {what} — upload a follow-up instead"
    state = f"it keeps revision {previous.revision} and stays {previous.status}"
    if previous.platform == "x":
        own = len(previous.payload.get("thread") or [previous.payload.get("text")])
        rest = sum(f"part-{i}" not in made for i in range(1, own + 1))
        if rest:
            state += f", and the {rest} part(s) of revision {previous.revision} not yet out still go out"
    return f"not sent: {what}; {state} — upload a follow-up instead"


def _why_kept(post: Post | None) -> str:
    """Why a re-upload could not give a post its new revision."""
    if post is None:
        return "it changed meanwhile"
    if post.status is PostStatus.PUBLISHED:
        return "already published, not sent again"
    if post.status in REPLACEABLE:
        return "the outcome of an earlier send is still being checked; upload again once it is settled"
    return f"it is {post.status}"


def _approvers(scope: str) -> str:
    level = scope.split("/")[0]
    return {"constituency": "its district lead or a coordinator", "district": "a lead of the district or state, "
            "or a coordinator", "state": "a coordinator"}[level]


def _report(key: str, problems: list[Problem], clock: Clock, effect: str) -> dict[str, Any]:
    return {"key": key, "rejected_at": to_iso(clock.now()), "summary": f"{problem_count(problems)}; {effect}",
            "problems": [p.to_dict() for p in problems]}


def _problem_details(problems: list[Problem]) -> dict[str, Any]:
    """Problems for an activity entry: the first MAX_PROBLEMS (the error report in the bucket has them all), so
    that a calendar of a thousand bad rows still fits one DynamoDB item."""
    details: dict[str, Any] = {"problems": [p.to_dict() for p in problems[:MAX_PROBLEMS]]}
    if len(problems) > MAX_PROBLEMS:
        details["more_problems"] = len(problems) - MAX_PROBLEMS
    return details


def _unexpected(key: str, exc: Exception, subject: str = "the file") -> Problem:
    logger.exception("an upload met an error no check foresaw", extra={"key": key})
    return unforeseen(exc, subject)


def _preview(payload: dict[str, Any]) -> dict[str, Any]:
    preview = {k: payload[k] for k in ("text", "link", "audience", "template") if payload.get(k)}
    if len(payload.get("thread") or []) > 1:
        preview["thread"] = payload["thread"]
    if payload.get("media"):
        preview["media"] = [m["key"].rsplit("/", 1)[-1] for m in payload["media"]]
    return preview

