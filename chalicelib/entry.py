"""From Lambda events to services: decode the event, call the service, shape the answer. No chalice here."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from chalicelib.bootstrap import container
from chalicelib.domain.scope import Scope, ScopeError, decode_s3_key
from chalicelib.domain.times import to_iso
from chalicelib.errors import BadRequest, Forbidden, NotFound, Unauthorized
from chalicelib.observability import logger


def uploaded_keys(event: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(decoded key, uploader principal) for each record of an S3 notification."""
    keys = []
    for record in event.get("Records", []):
        raw = record.get("s3", {}).get("object", {}).get("key")
        if raw:
            keys.append((decode_s3_key(raw), record.get("userIdentity", {}).get("principalId")))
    return keys


def ingest_config(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [ingest.config(key).outcome for key, _ in uploaded_keys(event)]


def ingest_content(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [ingest.content(key, uploaded_by).outcome for key, uploaded_by in uploaded_keys(event)]


def ingest_calendar(event: dict[str, Any]) -> list[str]:
    ingest = container().ingest()
    return [ingest.calendar(key, uploaded_by).outcome for key, uploaded_by in uploaded_keys(event)]


def dispatch_due() -> dict[str, int]:
    result = container().dispatcher().run()
    summary = {"queued": len(result.queued), "requeued": len(result.requeued), "expired": len(result.expired),
               "abandoned": len(result.abandoned), "send_failures": result.send_failures}
    if any(summary.values()):
        logger.info("publishing clock tick", extra=summary)
    return summary


def publish_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from chalicelib.adapters.publish_queue import backoff_seconds
    from chalicelib.services.publish import RetryLater

    c = container()

    def publish_record(record: Any) -> str:
        try:
            return c.publisher.publish(record.json_body)
        except RetryLater as exc:
            receives = int(record.attributes.approximate_receive_count or 1)
            delay = exc.delay_seconds
            if delay is None:
                delay = backoff_seconds(receives, c.settings.retry_base_seconds)
            c.publish_queue.delay(record.receipt_handle, delay)
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=publish_record, processor=processor,
                                    context=context)


def check_tokens() -> dict[str, str]:
    return container().token_check().run()


def accounts() -> dict[str, Any]:
    c = container()
    campaign = c.campaigns.active()
    rows = []
    for account in campaign.accounts if campaign else []:
        state = c.store.account_state(account.id)
        rows.append({"account_id": account.id, "platform": account.platform, "scope": account.scope,
                     "health": str(state.health), "until": to_iso(state.until) if state.until else None,
                     "reason": state.reason, "checked_at": to_iso(state.checked_at) if state.checked_at else None})
    return {"accounts": rows}



def whatsapp_verify(params: dict[str, str]) -> str:
    """Meta's subscription check: echo hub.challenge when hub.verify_token is ours, else Forbidden (403).
    A blank configured token raises ConfigError (see domain/whatsapp_webhook for every answer)."""
    from chalicelib.domain.whatsapp_webhook import valid_verify_token

    _, verify_token = container().whatsapp_webhook_secrets()
    if params.get("hub.mode") != "subscribe" or not valid_verify_token(verify_token, params.get("hub.verify_token")):
        raise Forbidden("verify token mismatch")
    challenge = params.get("hub.challenge")
    return challenge if isinstance(challenge, str) else ""


def whatsapp_webhook(raw_body: bytes, signature: str | None) -> dict[str, int]:
    """Meta's events: Unauthorized (401) unless signed with our app secret, BadRequest (400) if the signed body
    is not JSON, else what was understood of it (see domain/whatsapp_webhook for why an odd shape is a 200)."""
    from chalicelib.domain.whatsapp_webhook import parse, valid_signature

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
    return c.webhooks().handle(batch)



def caller(headers: dict[str, str], context: dict[str, Any]) -> Any:
    """The campaign member making an API call: from the IAM identity (the member's `principal` in the
    config) in the cloud, or from the X-Prachar-Member header where the stage trusts it (local, tests)."""
    c = container()
    campaign = c.campaigns.active()
    if campaign is None:
        raise Forbidden("no campaign is active")
    identity = (context or {}).get("identity") or {}
    principal = identity.get("userArn") or identity.get("caller")
    member = campaign.member_by_principal(principal) if principal else None
    if member is None and c.settings.trust_member_header:
        member = campaign.member(headers.get("x-prachar-member", ""))
    if member is None:
        raise Unauthorized("who are you? sign the request as a campaign member's AWS principal"
                           + (" or send X-Prachar-Member" if c.settings.trust_member_header else ""))
    return campaign, member


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


def control(action: str, body: dict[str, Any], headers: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    campaign, member = caller(headers, context)
    scope = body.get("scope") or "state"
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




def decide(action: str, content_id: str, body: dict[str, Any], headers: dict[str, str],
           context: dict[str, Any]) -> dict[str, Any]:
    campaign, member = caller(headers, context)
    service = container().approvals()
    if action == "approve":
        return service.approve(content_id, member, campaign, _revision_seen(body), str(body.get("note") or ""))
    if action == "reject":
        reason = str(body.get("reason") or "").strip()
        if not reason:
            raise BadRequest("say why: {\"reason\": \"…\"} (the team sees it on the post)")
        return service.reject(content_id, member, campaign, reason)
    return service.clear_silence(content_id, member, _revision_seen(body, "clear for the silence"))


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


def settle(content_id: str, body: dict[str, Any], headers: dict[str, str], context: dict[str, Any]) -> dict[str, Any]:
    """A coordinator's answer for a call in doubt: {"account_id": "wa-sahada", "went_out": true|false} (and, for X,
    the tweet's "platform_id" when it went out)."""
    _, member = caller(headers, context)
    account_id, went_out, platform_id = body.get("account_id"), body.get("went_out"), body.get("platform_id")
    if not isinstance(account_id, str) or not account_id:
        raise BadRequest("say which account's post: {\"account_id\": \"wa-sahada\", \"went_out\": false}")
    if not isinstance(went_out, bool):
        raise BadRequest("say whether it went out: {\"went_out\": true} or {\"went_out\": false}")
    if platform_id is not None and (not isinstance(platform_id, str) or len(platform_id) > 200):
        raise BadRequest("platform_id must be the post's id on the platform, as text")
    return container().settlement().settle(content_id, account_id, member, went_out, platform_id)


def pauses() -> dict[str, Any]:
    return {"paused": [{"scope": scope, "by": item.get("by"), "reason": item.get("reason"), "since": item.get("since")}
                       for scope, item in sorted(container().store.pauses().items())]}


def close_polls() -> dict[str, int]:
    c = container()
    campaign = c.campaigns.active()
    return c.controls().close_polls(campaign) if campaign else {}


def queries():
    return container().queries()


def post(content_id: str) -> dict[str, Any]:
    found = queries().post(content_id)
    if found is None:
        raise NotFound(f"no post with id {content_id}")
    return found


def list_posts(params: dict[str, str]) -> dict[str, Any]:
    from chalicelib.domain.post import PostStatus

    campaign = container().campaigns.active()
    if campaign is None:
        return {"posts": [], "total": 0}
    scope = params.get("scope") or "state"
    try:
        scope = str(Scope.parse(scope))
    except ScopeError as exc:
        raise BadRequest(str(exc)) from None
    status = params.get("status")
    if status and status not in {s.value for s in PostStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in PostStatus)}")
    try:
        limit = int(params.get("limit", 200))
    except ValueError:
        raise BadRequest("limit must be a whole number") from None
    return queries().posts(campaign, scope, status, max(1, min(limit, 1000)))


def health() -> dict[str, Any]:
    c = container()
    campaign = c.campaigns.active()
    return {"status": "ok", "service": "prachar", "stage": c.settings.stage, "now": to_iso(c.clock.now()),
            "campaign": campaign.campaign if campaign else None}


def activity(params: dict[str, str]) -> dict[str, Any]:
    day = None
    if params.get("date"):
        try:
            day = date.fromisoformat(params["date"])
        except ValueError:
            raise BadRequest(f"date must look like 2021-03-05, got {params['date']!r}") from None
    scope = params.get("scope")
    if scope:
        try:
            scope = str(Scope.parse(scope))
        except ScopeError as exc:
            raise BadRequest(str(exc)) from None
    try:
        limit = int(params.get("limit", 100))
    except ValueError:
        raise BadRequest(f"limit must be a whole number, got {params['limit']!r}") from None
    return queries().activity(day, scope, limit)
