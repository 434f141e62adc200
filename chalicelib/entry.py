"""From Lambda events to services: decode the event, call the service, shape the answer. No chalice here."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, NamedTuple

from chalicelib.bootstrap import container
from chalicelib.errors import BadRequest, Forbidden, NotFound, Unauthorized
from chalicelib.observability import correlated, logger


class Uploaded(NamedTuple):
    key: str                # decoded
    principal: str | None   # who uploaded
    etag: str | None
    version: str | None     # the object's version id (a versioned bucket's events carry it)


def uploaded_objects(event: dict[str, Any]) -> list[Uploaded]:
    """Each object of an S3 notification."""
    from chalicelib.domain.scope import decode_s3_key  # deferred, as every import here: each Lambda loads its own

    found = []
    for record in event.get("Records", []):
        uploaded = record.get("s3", {}).get("object", {})
        if uploaded.get("key"):
            version = uploaded.get("versionId")
            found.append(Uploaded(decode_s3_key(uploaded["key"]), record.get("userIdentity", {}).get("principalId"),
                                  str(uploaded.get("eTag") or "").strip('"') or None,
                                  str(version) if version and version != "null" else None))
    return found


def ingest_config(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [_each_upload(ingest.config, u.key, u.principal, u.etag, u.version).outcome
            for u in uploaded_objects(event)]


def ingest_content(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [_each_upload(ingest.content, u.key, u.principal, u.etag, u.version).outcome
            for u in uploaded_objects(event)]


def ingest_calendar(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [_each_upload(ingest.calendar, u.key, u.principal, u.etag, u.version).outcome
            for u in uploaded_objects(event)]


def _each_upload(handle: Callable[..., Any], key: str, *args: Any, **kwargs: Any) -> Any:
    """One upload's work, its log lines carrying its key."""
    with correlated(upload_key=key):
        return handle(key, *args, **kwargs)


def import_audience(event: dict[str, Any], context: Any) -> list[str]:
    """An audience file uploaded: import it (as far as this invocation's time allows)."""
    return [_each_upload(_import, u.key, u.etag, u.principal, context, version=u.version)
            for u in uploaded_objects(event)]


def continue_audience_imports(event: dict[str, Any], context: Any) -> list[str]:
    """An import that ran short of time, continued (one message per import; the import queue's batch is 1)."""
    return [_each_upload(_import, body["key"], body["etag"], None, context, continued=True)
            for body in (json.loads(r["body"]) for r in event.get("Records", []))]


def _import(key: str, etag: str | None, uploader: str | None, context: Any, continued: bool = False,
            version: str | None = None) -> str:
    c = container()
    campaign = c.campaigns.active()
    if campaign is None or etag is None:
        logger.warning("audience upload without an active campaign or an ETag; not imported", extra={"key": key})
        if etag is not None and not continued:  # told where the uploader looks, as a manifest would be
            from chalicelib.domain.vetting import NO_CAMPAIGN

            c.audience_import().refuse(key, [NO_CAMPAIGN], version or etag)
        return "ignored"
    millis_left = getattr(context, "get_remaining_time_in_millis", None)
    return c.audience_import().run(campaign, key, etag, lambda: millis_left() / 1000 if millis_left else 900.0,
                                   uploaded_by=uploader, continued=continued, version=version).outcome


def send_broadcast_chunks(event: dict[str, Any]) -> list[str]:
    """A broadcast's chunks (the queue's batch is 1: each chunk paces itself for seconds)."""
    broadcaster = container().broadcaster
    outcomes = []
    for record in event.get("Records", []):
        chunk = json.loads(record["body"])
        with correlated(broadcast_id=chunk.get("broadcast"), constituency=chunk.get("constituency")):
            outcomes.append(broadcaster.run_chunk(chunk).outcome)
    return outcomes


def count_broadcasts() -> int:
    """The broadcasts of the week the dashboard shows counted again (as much as 40 s of a minute allows)."""
    c = container()
    return len(c.broadcaster.rollups(c.clock.now() - timedelta(days=7), budget=40.0))


def dispatch_due() -> dict[str, int]:
    result = container().dispatcher().run()
    summary = {"queued": len(result.queued), "requeued": len(result.requeued), "expired": len(result.expired),
               "abandoned": len(result.abandoned), "send_failures": result.send_failures}
    if any(summary.values()):
        logger.info("publishing clock tick", extra=summary)
    return summary


def publish_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of posts to publish, each on its own: the ones that failed go back to SQS by message id (the partial
    batch response), so only those are delivered again."""
    from chalicelib.adapters.publish_queue import backoff_seconds
    from chalicelib.services.publish import RetryLater

    c = container()

    def publish_one(record: dict[str, Any]) -> None:
        message = json.loads(record["body"])
        with correlated(content_id=message.get("content_id"), account_id=message.get("account_id"),
                        post_id=f"{message.get('content_id')}.{message.get('account_id')}"):
            try:
                c.publisher.publish(message)
            except RetryLater as exc:
                receives = int(record.get("attributes", {}).get("ApproximateReceiveCount") or 1)
                delay = exc.delay_seconds
                if delay is None:
                    delay = backoff_seconds(receives, c.settings.retry_base_seconds)
                c.publish_queue.delay(record["receiptHandle"], delay)
                raise

    records = event.get("Records")
    if not records or not isinstance(records, list):
        raise ValueError("not an SQS batch: the event has no list of Records")
    failed = [record for record in records if not _handled(publish_one, record)]
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in failed]}


def _handled(handle: Callable[[dict[str, Any]], None], record: dict[str, Any]) -> bool:
    """Whether one record of a batch was handled; a record that raised fails alone, and SQS delivers it again."""
    try:
        handle(record)
    except Exception as exc:
        logger.debug(f"record processing exception: {type(exc).__name__}: {exc}")
        return False
    return True


def check_tokens() -> dict[str, str]:
    return container().token_check().run()


def accounts(context: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services.queries import account_rows

    campaign, seen_by = viewer_of(context)
    return {"accounts": account_rows(container().store, campaign, seen_by.scopes)}


def whatsapp_verify(params: dict[str, str]) -> str:
    """Meta's subscription check: echo hub.challenge when hub.verify_token is ours, else Forbidden (403).
    A blank configured token raises ConfigError (see domain/whatsapp_webhook for every answer)."""
    from chalicelib.domain.whatsapp_envelope import valid_verify_token

    _, verify_token = container().whatsapp_webhook_secrets()
    if params.get("hub.mode") != "subscribe" or not valid_verify_token(verify_token, params.get("hub.verify_token")):
        raise Forbidden("verify token mismatch")
    challenge = params.get("hub.challenge")
    return challenge if isinstance(challenge, str) else ""


def whatsapp_webhook(raw_body: bytes, signature: str | None) -> dict[str, int]:
    """Meta's events: Unauthorized (401) unless signed with our app secret, BadRequest (400) if the signed body
    is not JSON, else what was understood of it (see domain/whatsapp_webhook for why an odd shape is a 200)."""
    from chalicelib.domain.whatsapp_envelope import parse, valid_signature

    c = container()
    app_secret, _ = c.whatsapp_webhook_secrets()
    if not valid_signature(app_secret, raw_body, signature):
        raise Unauthorized("bad X-Hub-Signature-256")
    try:
        envelope = json.loads(raw_body)
    except (ValueError, RecursionError):  # syntax, UTF-8, digits past int's limit; nesting past the stack
        raise BadRequest("the body is not JSON") from None
    batch = parse(envelope)
    if batch.not_understood_count:
        logger.warning("WhatsApp webhook acknowledged; parts of it were not understood and are skipped",
                       extra={"not_understood": batch.not_understood, "count": batch.not_understood_count})
    # A STOP first: it takes effect at once, even when a status in the same envelope asks Meta to deliver it again.
    campaign = c.campaigns.active() if batch.messages or batch.preferences else None
    stops = c.opt_outs().handle(campaign, batch) if campaign is not None else {}
    return {**c.webhooks().handle(batch), **{f"audience_{k}": v for k, v in stops.items()}}



def caller(context: dict[str, Any] | None) -> tuple[Any, Any]:
    """The campaign and the signed-in member making an API call.

    API Gateway's Cognito authorizer has checked the token (in the cloud; the local stack's gateway does the
    same) and put its claims in the request context; the user name is the member's id in the campaign config,
    and the member's role there decides what they may do."""
    claims = (((context or {}).get("authorizer") or {}).get("claims")) or {}
    member_id = claims.get("cognito:username")
    if not isinstance(member_id, str) or not member_id:
        raise Unauthorized("sign in: send your ID token in the Authorization header")
    campaign = container().campaigns.active()
    if campaign is None:
        raise Forbidden("no campaign is active yet: a coordinator uploads config/campaign.yaml first")
    member = campaign.member(member_id.lower())  # the pool's user names are case-insensitive; ids are lower case
    if member is None:
        raise Forbidden(f"{member_id} is not a member of campaign {campaign.campaign}; "
                        "ask a coordinator to add you to config/campaign.yaml")
    holder = container().store.member_subs().get(member.id)
    if holder is not None and holder != claims.get("sub"):
        # The id went to someone else (`make deploy` made a new user): an earlier holder's token, still unexpired.
        raise Unauthorized(f"this sign-in is not for the current holder of {member.id}: sign in again")
    return campaign, member


def viewer_of(context: dict[str, Any] | None) -> tuple[Any, Any]:
    from chalicelib.domain.access import viewer

    campaign, member = caller(context)
    return campaign, viewer(campaign, member)


MAX_REASON_CHARACTERS = 1000  # a reason is shown on every paused or rejected post: a sentence, not a file


def request_body(body: Any) -> dict[str, Any]:
    """A JSON request body must be an object of fields; anything else is the caller's mistake (400)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object of fields, not a {type(body).__name__}")
    for name in ("scope", "reason", "note"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name} must be text, not a {type(value).__name__}")
        if isinstance(value, str) and len(value) > MAX_REASON_CHARACTERS:
            raise BadRequest(f"{name} is {len(value):,} characters; keep it under {MAX_REASON_CHARACTERS:,}")
    return body


def control(action: str, body: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.domain.scope import Scope, ScopeError

    campaign, seen_by = viewer_of(context)
    member = seen_by.member
    scope = body.get("scope") or ("state" if seen_by.sees_everything else seen_by.team_scope)
    try:
        scope = str(Scope.parse(scope))
    except ScopeError as exc:
        raise BadRequest(str(exc)) from None
    if scope not in campaign.scopes:
        raise BadRequest(f"{scope} is not part of campaign {campaign.campaign}")
    controls = container().controls()
    if action == "pause":
        reason = str(body.get("reason") or "").strip()
        if not reason:
            raise BadRequest("say why: {\"reason\": \"…\"} (it is shown on every paused post)")
        return controls.pause(campaign, member, scope, reason)
    return controls.resume(campaign, member, scope)


def erase_contact(body: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A coordinator erases one voter's number on their request (nobody else may: it cannot be undone)."""
    campaign, seen_by = viewer_of(context)
    if seen_by.member.role != "coordinator":
        raise Forbidden("only a coordinator erases a voter's data")
    phone = body.get("phone")
    if not isinstance(phone, str) or not phone.strip():
        raise BadRequest('send the number to erase: {"phone": "+91 98765 43210"}')
    return container().opt_outs().erase(campaign, phone, seen_by.member.id)


def export_contacts(body: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A constituency's contacts in the clear, for a coordinator or that constituency's lead — logged."""
    campaign, seen_by = viewer_of(context)
    constituency = body.get("constituency")
    if not isinstance(constituency, str) or not constituency.strip():
        raise BadRequest('name the constituency: {"constituency": "sahada"}')
    return container().audience_export().export(campaign, constituency.strip(), seen_by.member)


def _seen_content(content_id: str, seen_by: Any) -> None:
    """A decision on another team's post answers as GET does: not found (its id must not confirm it exists)."""
    content = container().store.content(content_id)
    if content is None or not seen_by.may_see(content.scope):
        raise NotFound(f"no post with id {content_id} in what you can see")


def decide(action: str, content_id: str, body: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Another team's content answers as a GET does — not found (its id must not confirm it exists): the service
    checks the caller's scopes on the content it reads anyway. A malformed body is refused first, whoever asks."""
    campaign, seen_by = viewer_of(context)
    member, may_see = seen_by.member, seen_by.may_see
    service = container().approvals()
    if action == "approve":
        return service.approve(content_id, member, campaign, _revision_seen(body), str(body.get("note") or ""),
                               may_see=may_see)
    if action == "reject":
        reason = str(body.get("reason") or "").strip()
        if not reason:
            raise BadRequest("say why: {\"reason\": \"…\"} (the team sees it on the post)")
        return service.reject(content_id, member, campaign, reason, may_see=may_see)
    return service.clear_silence(content_id, member, _revision_seen(body, "clear for the silence"), may_see=may_see)


def _revision_seen(body: dict[str, Any], verb: str = "approve") -> int:
    """An approval (or a clearance for the silence) names the revision its maker looked at (GET /api/posts/<id>
    shows it)."""
    revision = body.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int | str):
        raise BadRequest(f"say which revision you {verb}: {{\"revision\": 2}} (GET /api/posts/<id> shows it)")
    try:
        return int(revision)
    except ValueError:
        raise BadRequest(f"revision must be a whole number, got {revision!r}") from None


def settle(content_id: str, body: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """A coordinator's answer for a call in doubt: {"account_id": "wa-sahada", "went_out": true|false} (and, for X,
    the tweet's "platform_id" when it went out)."""
    _, seen_by = viewer_of(context)
    member = seen_by.member
    _seen_content(content_id, seen_by)
    account_id, went_out, platform_id = body.get("account_id"), body.get("went_out"), body.get("platform_id")
    if not isinstance(account_id, str) or not account_id:
        raise BadRequest("say which account's post: {\"account_id\": \"wa-sahada\", \"went_out\": false}")
    if not isinstance(went_out, bool):
        raise BadRequest("say whether it went out: {\"went_out\": true} or {\"went_out\": false}")
    if platform_id is not None and (not isinstance(platform_id, str) or len(platform_id) > 200):
        raise BadRequest("platform_id must be the post's id on the platform, as text")
    return container().settlement().settle(content_id, account_id, member, went_out, platform_id)


def pauses(context: dict[str, Any]) -> dict[str, Any]:
    """The pauses that stop any post the caller may see: inside their scopes, or above them (a state pause)."""
    from chalicelib.services.queries import pauses_reaching

    campaign, seen_by = viewer_of(context)
    return {"paused": pauses_reaching(container().store, campaign, seen_by.scopes)}


def _for_active_campaign(run: Any) -> Any:
    """A schedule's work on the active campaign (nothing before one is uploaded)."""
    c = container()
    campaign = c.campaigns.active()
    return run(c, campaign) if campaign else {}


def alert_coverage_gaps() -> dict[str, Any]:
    return _for_active_campaign(lambda c, campaign: c.coordinator_alerts().coverage_gaps(campaign))


def purge_audiences() -> dict[str, Any]:
    return _for_active_campaign(lambda c, campaign: c.retention().purge(campaign))


def write_daily_report() -> dict[str, Any]:
    return _for_active_campaign(lambda c, campaign: c.daily_reports().write(campaign))


def collect_engagement() -> dict[str, int]:
    return _for_active_campaign(lambda c, campaign: c.engagement().collect(campaign))


def close_polls() -> dict[str, int]:
    return _for_active_campaign(lambda c, campaign: c.controls().close_polls(campaign))


def queries():
    return container().queries()


def post(content_id: str, context: dict[str, Any]) -> dict[str, Any]:
    _, seen_by = viewer_of(context)
    found = queries().post(content_id)
    # Another team's post answers as if it did not exist: its id (a hash of its key) must not confirm it does.
    if found is None or not seen_by.may_see(found["scope"]):
        raise NotFound(f"no post with id {content_id} in what you can see")
    return found


def list_posts(params: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.domain.post import PostStatus

    campaign, seen_by = viewer_of(context)
    scope = _visible_scope(params.get("scope"), seen_by)
    status = params.get("status")
    if status and status not in {s.value for s in PostStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in PostStatus)}")
    try:
        limit = int(params.get("limit", 200))
    except ValueError:
        raise BadRequest("limit must be a whole number") from None
    return queries().posts(campaign, scope, status, max(1, min(limit, 1000)), seen_by.scopes)


def _visible_scope(asked: str | None, seen_by: Any) -> str:
    """The scope a list is for: the one asked for, if the caller may see it; else the caller's team's."""
    from chalicelib.domain.scope import Scope, ScopeError

    if not asked:
        return "state" if seen_by.sees_everything else seen_by.team_scope
    try:
        scope = str(Scope.parse(asked))
    except ScopeError as exc:
        raise BadRequest(str(exc)) from None
    if not seen_by.may_see(scope):
        raise Forbidden(f"{seen_by.member.id} ({seen_by.member.role} of {seen_by.team_scope}) cannot see {scope}")
    return scope


def me(context: dict[str, Any]) -> dict[str, Any]:
    """Who the signed-in caller is in the active campaign, and what `prachar` needs to upload for them."""
    from chalicelib.domain.times import to_iso

    campaign, member = caller(context)
    c = container()
    team = campaign.team_of(member.id)
    return {"member": {"id": member.id, "name": member.name, "role": member.role},
            "team": {"id": team.id, "scope": team.scope} if team else None, "campaign": campaign.campaign,
            "config_version": c.campaigns.active_version(), "bucket": c.settings.content_bucket,
            "max_upload_bytes": c.settings.max_upload_bytes, "now": to_iso(c.clock.now())}


def campaign_document(context: dict[str, Any]) -> dict[str, Any]:
    """The active campaign, for `prachar check` to judge files offline as the Lambdas will — without what no check
    reads and not every member may: other teams' members, and anyone's phone number, e-mail address and principal."""
    from chalicelib.domain.times import to_iso

    campaign, member = caller(context)
    c = container()
    record = c.store.active_campaign()
    if record is None:
        raise NotFound("no campaign is active yet")
    document = json.loads(json.dumps(record.document))
    # No check reads the roster: a member gets their own team's (ids, names, roles), a coordinator every team's.
    own = campaign.team_of(member.id)
    document["teams"] = [
        {**team, "members": [{k: v for k, v in m.items() if k not in ("phone", "email", "principal")}
                             for m in team.get("members") or []]}
        for team in document.get("teams") or [] if member.role == "coordinator" or (own and team["id"] == own.id)]
    return {"campaign": document, "config_version": record.version,
            "max_upload_bytes": c.settings.max_upload_bytes, "now": to_iso(c.clock.now())}


def upload_answer(params: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    """What became of one upload (`key`, and the `etag` S3 gave it), once the system has answered it."""
    from chalicelib.domain.scope import ScopeError, split_scoped_key

    key, etag, version = params.get("key") or "", (params.get("etag") or "").strip('"'), params.get("version") or ""
    if not key or not etag or not version:
        # The version is what tells two uploads of the same bytes apart (one ETag): without it, an earlier upload's
        # answer would pass for this one's. S3 gives both in the PutObject answer (ETag, VersionId).
        raise BadRequest("give the upload's key, etag and version — the ETag and VersionId S3 answered the upload "
                         "with: /api/uploads?key=content/…&etag=…&version=…")
    _, seen_by = viewer_of(context)
    area = key.split("/", 1)[0]
    try:
        scope = ("state" if key == "config/campaign.yaml" else f"constituency/{key.split('/')[1]}"
                 if area == "audience" else str(split_scoped_key(key).scope))
    except (ScopeError, IndexError):
        scope = None
    # The config is the coordinators' (who see everything, an upload under no known scope too); anything else is
    # its scope's. An unknown or unseen scope answers 403 alike.
    allowed = seen_by.sees_everything or (area != "config" and scope is not None and seen_by.may_see(scope))
    if not allowed:
        raise Forbidden(f"{seen_by.member.id} cannot see uploads under {key.rsplit('/', 1)[0]}/")
    c = container()
    # A bucket without versions answers PutObject with the version "null": its uploads are told apart by ETag alone.
    answer = c.store.upload_answer(key, etag if version == "null" else version)
    if answer is None and area == "audience":  # a file that was read is answered by its import, by ETag
        return _import_answer(key, c.audience.import_state(key, etag))
    return {"answered": False, "key": key} if answer is None else {"answered": True, **answer}


def _import_answer(key: str, state: dict[str, Any] | None) -> dict[str, Any]:
    from chalicelib.errors import Problem
    from chalicelib.services.audience_import import DONE

    if state is None or state.get("status") not in (*DONE, "superseded"):  # running, or not an import's state
        return {"answered": False, "key": key}
    problems = [Problem(**p).to_dict() for p in state.get("listed") or []]
    return {"answered": True, "key": key, "outcome": state["status"], "counts": state.get("counts") or {},
            "content_ids": [], "accounts": [], "problems": problems,
            "answered_at": state.get("finished_at") or state.get("started_at")}


def health() -> dict[str, Any]:
    from chalicelib.domain.times import to_iso

    c = container()
    campaign = c.campaigns.active()
    return {"status": "ok", "service": "prachar", "stage": c.settings.stage, "now": to_iso(c.clock.now()),
            "campaign": campaign.campaign if campaign else None}


def activity(params: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    _, seen_by = viewer_of(context)
    day = None
    if params.get("date"):
        try:
            day = date.fromisoformat(params["date"])
        except ValueError:
            raise BadRequest(f"date must look like 2021-03-05, got {params['date']!r}") from None
    scope = _visible_scope(params.get("scope"), seen_by) if params.get("scope") else None
    try:
        limit = int(params.get("limit", 100))
    except ValueError:
        raise BadRequest(f"limit must be a whole number, got {params['limit']!r}") from None
    return queries().activity(day, scope, limit, None if seen_by.sees_everything else seen_by.scopes)


def overview(params: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's data: the caller's scope (or one inside it), today and the next 7 days."""
    campaign, seen_by = viewer_of(context)
    c = container()
    scope = _visible_scope(params.get("scope"), seen_by)
    return {**c.overview().of(campaign, seen_by, scope), "clock_speed": c.settings.clock_speed,
            "broadcasts": c.broadcaster.visible_rollups(campaign, scope)}


def dashboard_page() -> tuple[str, dict[str, str]]:
    from chalicelib import dashboard

    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache",
               **dashboard.security_headers(container().settings.cognito_endpoint)}
    return dashboard.read("index.html"), headers


def dashboard_asset(name: str) -> tuple[str, dict[str, str]]:
    """A file of the page, or identity.json: where and with which app client the page signs members in."""
    from chalicelib import dashboard

    settings = container().settings
    if name == "identity.json":
        body = json.dumps({"endpoint": settings.cognito_endpoint, "client_id": settings.user_pool_client_id})
        return body, {"Content-Type": "application/json", "Cache-Control": "no-cache"}
    if name not in dashboard.ASSETS:
        raise NotFound(f"the dashboard has no file {name!r}")
    return dashboard.read(name), {"Content-Type": dashboard.ASSETS[name], "Cache-Control": "max-age=300",
                                  "X-Content-Type-Options": "nosniff"}
