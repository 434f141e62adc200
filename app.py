"""Prachar: the Lambda handlers. Each one is a few lines that hand the event to chalicelib."""

from __future__ import annotations

import functools

from chalice import (
    BadRequestError,
    Chalice,
    ChaliceViewError,
    CognitoUserPoolAuthorizer,
    ConvertToMiddleware,
    Cron,
    ForbiddenError,
    NotFoundError,
    Rate,
    Response,
    UnauthorizedError,
)

from chalicelib import entry, tracing
from chalicelib.errors import ConfigError, RequestError
from chalicelib.observability import logger
from chalicelib.settings import event_source_names, user_pool_arn

tracing.start()  # only if the stage traces (make deploy TRACING=1): else nothing of X-Ray is imported
app = Chalice(app_name="prachar")
CONTENT_BUCKET, PUBLISH_QUEUE, IMPORT_QUEUE, BROADCAST_QUEUE = event_source_names()
# clear_state: a warm Lambda's next invocation starts without the last one's correlation ids.
app.register_middleware(ConvertToMiddleware(functools.partial(logger.inject_lambda_context, clear_state=True)))
# Every /api route: API Gateway checks the campaign's Cognito token, the member's role in the config does the rest.
SIGNED_IN = CognitoUserPoolAuthorizer("prachar-members", provider_arns=[user_pool_arn()])


class ConflictError(ChaliceViewError):
    STATUS_CODE = 409


class ServiceUnavailableError(ChaliceViewError):
    STATUS_CODE = 503


HTTP_ERRORS = {400: BadRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
               409: ConflictError, 503: ServiceUnavailableError}


def answers(view):
    """A request the system cannot do as asked becomes its HTTP status with the reason (never a 500)."""
    @functools.wraps(view)
    def answered(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except RequestError as exc:
            raise HTTP_ERRORS[exc.status](str(exc)) from None

    return answered


# By prefix only: S3's suffix filters are case-sensitive and exact, and an upload they skip would get no answer.
@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="config/", events=["s3:ObjectCreated:*"])
def on_config_upload(event):
    entry.ingest_config(event.to_dict())


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="content/", events=["s3:ObjectCreated:*"])
def on_content_upload(event):
    entry.ingest_content(event.to_dict())


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="calendar/", events=["s3:ObjectCreated:*"])
def on_calendar_upload(event):
    entry.ingest_calendar(event.to_dict())


@app.on_s3_event(bucket=CONTENT_BUCKET, prefix="audience/", events=["s3:ObjectCreated:*"])
def on_audience_upload(event):
    entry.import_audience(event.to_dict(), event.context)


@app.on_sqs_message(queue=IMPORT_QUEUE, batch_size=1)
def on_import_continuation(event):
    entry.continue_audience_imports(event.to_dict(), event.context)


@app.on_sqs_message(queue=BROADCAST_QUEUE, batch_size=1)
def on_broadcast_chunk(event):
    entry.send_broadcast_chunks(event.to_dict())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="publishing_clock")
def publishing_clock(event):
    return entry.dispatch_due()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="broadcast_counts")
def broadcast_counts(event):
    return entry.count_broadcasts()


@app.schedule(Cron(30, 0, "*", "*", "?", "*"), name="token_health_check")  # 06:00 IST daily
def token_health_check(event):
    return entry.check_tokens()


@app.schedule(Cron(30, 13, "*", "*", "?", "*"), name="coverage_alert")  # 19:00 IST: tomorrow's gaps
def coverage_alert(event):
    return entry.alert_coverage_gaps()


@app.schedule(Cron(30, 15, "*", "*", "?", "*"), name="daily_report")  # 21:00 IST
def daily_report(event):
    return entry.write_daily_report()


@app.schedule(Cron(30, 21, "*", "*", "?", "*"), name="audience_purge")  # 03:00 IST: contacts past retention
def audience_purge(event):
    return entry.purge_audiences()


@app.schedule(Rate(6, unit=Rate.HOURS), name="engagement_collector")
def engagement_collector(event):
    return entry.collect_engagement()


@app.schedule(Rate(5, unit=Rate.MINUTES), name="campaign_closer")
def campaign_closer(event):
    return entry.close_polls()


@app.on_sqs_message(queue=PUBLISH_QUEUE, batch_size=5)
def on_publish_message(event):
    return entry.publish_batch(event.to_dict(), event.context)


@app.route("/health")
def health():
    return entry.health()


@app.route("/dashboard")
@answers
def dashboard():
    body, headers = entry.dashboard_page()
    return Response(body=body, status_code=200, headers=headers)


@app.route("/dashboard/{asset}")
@answers
def dashboard_asset(asset):
    body, headers = entry.dashboard_asset(asset)
    return Response(body=body, status_code=200, headers=headers)


@app.route("/api/posts", authorizer=SIGNED_IN)
@answers
def list_posts():
    return entry.list_posts(*_query())


@app.route("/api/posts/{content_id}", authorizer=SIGNED_IN)
@answers
def get_post(content_id):
    return entry.post(content_id, app.current_request.context)


@app.route("/api/posts/{content_id}/approve", methods=["POST"], authorizer=SIGNED_IN)
@answers
def approve(content_id):
    return entry.decide("approve", content_id, *_caller_request())


@app.route("/api/posts/{content_id}/reject", methods=["POST"], authorizer=SIGNED_IN)
@answers
def reject(content_id):
    return entry.decide("reject", content_id, *_caller_request())


@app.route("/api/posts/{content_id}/clear-silence", methods=["POST"], authorizer=SIGNED_IN)
@answers
def clear_silence(content_id):
    return entry.decide("clear", content_id, *_caller_request())


@app.route("/api/posts/{content_id}/settle", methods=["POST"], authorizer=SIGNED_IN)
@answers
def settle(content_id):
    return entry.settle(content_id, *_caller_request())


@app.route("/api/pause", methods=["POST"], authorizer=SIGNED_IN)
@answers
def pause():
    return entry.control("pause", *_caller_request())


@app.route("/api/audience/erase", methods=["POST"], authorizer=SIGNED_IN)
@answers
def erase_contact():
    return entry.erase_contact(*_caller_request())


@app.route("/api/audience/export", methods=["POST"], authorizer=SIGNED_IN)
@answers
def export_contacts():
    return entry.export_contacts(*_caller_request())


@app.route("/api/resume", methods=["POST"], authorizer=SIGNED_IN)
@answers
def resume():
    return entry.control("resume", *_caller_request())


@app.route("/api/overview", authorizer=SIGNED_IN)
@answers
def overview():
    return entry.overview(*_query())


@app.route("/api/pauses", authorizer=SIGNED_IN)
@answers
def list_pauses():
    return entry.pauses(app.current_request.context)


@app.route("/api/accounts", authorizer=SIGNED_IN)
@answers
def list_accounts():
    return entry.accounts(app.current_request.context)


@app.route("/api/activity", authorizer=SIGNED_IN)
@answers
def list_activity():
    return entry.activity(*_query())


@app.route("/api/me", authorizer=SIGNED_IN)
@answers
def whoami():
    return entry.me(app.current_request.context)


@app.route("/api/campaign", authorizer=SIGNED_IN)
@answers
def active_campaign():
    return entry.campaign_document(app.current_request.context)


@app.route("/api/uploads", authorizer=SIGNED_IN)
@answers
def upload_answer():
    return entry.upload_answer(*_query())


@app.route("/webhooks/whatsapp", methods=["GET"])
def whatsapp_subscription():
    try:
        challenge = entry.whatsapp_verify(app.current_request.query_params or {})
    except RequestError:
        return Response(body="forbidden", status_code=403, headers={"Content-Type": "text/plain"})
    except ConfigError as exc:  # the one 500: a deployment without its secrets refuses, loudly
        logger.error("WhatsApp webhook refused: the deployment is misconfigured", extra={"problem": str(exc)})
        return Response(body="the webhook is not configured", status_code=500, headers={"Content-Type": "text/plain"})
    return Response(body=challenge, status_code=200, headers={"Content-Type": "text/plain"})


@app.route("/webhooks/whatsapp", methods=["POST"])
@answers
def whatsapp_events():
    request = app.current_request
    try:
        return entry.whatsapp_webhook(request.raw_body, request.headers.get("x-hub-signature-256"))
    except ConfigError as exc:  # the one 500: a deployment without its secrets refuses, loudly
        logger.error("WhatsApp webhook refused: the deployment is misconfigured", extra={"problem": str(exc)})
        return Response(body={"error": "the webhook is not configured"}, status_code=500)


def _caller_request():
    request = app.current_request
    return entry.request_body(request.json_body), request.context


def _query():
    request = app.current_request
    return request.query_params or {}, request.context
