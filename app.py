"""Prachar: the Lambda handlers. Each one is a few lines that hand the event to chalicelib."""

from __future__ import annotations

from chalice import (
    BadRequestError,
    Chalice,
    ChaliceViewError,
    ConvertToMiddleware,
    Cron,
    ForbiddenError,
    IAMAuthorizer,
    NotFoundError,
    Rate,
    Response,
    UnauthorizedError,
)

from chalicelib import entry
from chalicelib.observability import logger
from chalicelib.settings import event_source_names

app = Chalice(app_name="prachar")
CONTENT_BUCKET, PUBLISH_QUEUE = event_source_names()
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="config/", suffix=".yaml", events=["s3:ObjectCreated:*"])
def on_config_upload(event):
    entry.ingest_config(event.to_dict())


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="content/", events=["s3:ObjectCreated:*"])
def on_content_upload(event):
    entry.ingest_content(event.to_dict())


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="calendar/", suffix=".csv", events=["s3:ObjectCreated:*"])
def on_calendar_upload(event):
    entry.ingest_calendar(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="publishing_clock")
def publishing_clock(event):
    return entry.dispatch_due()


@app.schedule(Cron(30, 0, "*", "*", "?", "*"), name="token_health_check")  # 06:00 IST daily
def token_health_check(event):
    return entry.check_tokens()


@app.schedule(Rate(5, unit=Rate.MINUTES), name="campaign_closer")
def campaign_closer(event):
    return entry.close_polls()


@app.on_sqs_message(queue=PUBLISH_QUEUE, batch_size=5)
def on_publish_message(event):
    return entry.publish_batch(event.to_dict(), event.context)


@app.route("/health")
def health():
    return entry.health()


@app.route("/api/pause", methods=["POST"], authorizer=IAMAuthorizer())
def pause():
    return _control("pause")


@app.route("/api/resume", methods=["POST"], authorizer=IAMAuthorizer())
def resume():
    return _control("resume")


@app.route("/api/pauses")
def list_pauses():
    return entry.pauses()


@app.route("/api/posts/{content_id}/approve", methods=["POST"], authorizer=IAMAuthorizer())
def approve(content_id):
    return _answer(entry.decide, "approve", content_id)


@app.route("/api/posts/{content_id}/reject", methods=["POST"], authorizer=IAMAuthorizer())
def reject(content_id):
    return _answer(entry.decide, "reject", content_id)


@app.route("/api/posts/{content_id}/clear-silence", methods=["POST"], authorizer=IAMAuthorizer())
def clear_silence(content_id):
    return _answer(entry.decide, "clear", content_id)


def _control(action):
    return _answer(entry.control, action)


class ConflictError(ChaliceViewError):
    STATUS_CODE = 409


def _answer(handler, *args):
    """A coordinator's call: who is asking comes from the request; errors become the right HTTP status."""
    request = app.current_request
    try:
        return handler(*args, request.json_body or {}, request.headers, request.context)
    except entry.Unauthorized as exc:
        raise UnauthorizedError(str(exc)) from None
    except entry.Forbidden as exc:
        raise ForbiddenError(str(exc)) from None
    except entry.NotFound as exc:
        raise NotFoundError(str(exc)) from None
    except entry.Conflict as exc:
        raise ConflictError(str(exc)) from None
    except entry.BadQuery as exc:
        raise BadRequestError(str(exc)) from None


@app.route("/api/accounts")
def list_accounts():
    return entry.accounts()


@app.route("/api/posts")
def list_posts():
    try:
        return entry.list_posts(app.current_request.query_params or {})
    except entry.BadQuery as exc:
        raise BadRequestError(str(exc)) from None


@app.route("/api/posts/{content_id}")
def get_post(content_id):
    post = entry.queries().post(content_id)
    if post is None:
        raise NotFoundError(f"no post with id {content_id}")
    return post


@app.route("/api/activity")
def list_activity():
    try:
        return entry.activity(app.current_request.query_params or {})
    except entry.BadQuery as exc:
        raise BadRequestError(str(exc)) from None


@app.route("/webhooks/whatsapp", methods=["GET"])
def whatsapp_subscription():
    try:
        challenge = entry.whatsapp_verify(app.current_request.query_params or {})
    except entry.Unauthorized:
        return Response(body="forbidden", status_code=403, headers={"Content-Type": "text/plain"})
    return Response(body=challenge, status_code=200, headers={"Content-Type": "text/plain"})


@app.route("/webhooks/whatsapp", methods=["POST"])
def whatsapp_events():
    request = app.current_request
    try:
        return entry.whatsapp_webhook(request.raw_body, request.headers.get("x-hub-signature-256"))
    except entry.Unauthorized:
        return Response(body={"error": "signature"}, status_code=401)
    except entry.BadQuery as exc:
        raise BadRequestError(str(exc)) from None
