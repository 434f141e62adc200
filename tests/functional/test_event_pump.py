"""The event pump runs the real handlers on their real triggers, as Lambda would."""

import time
from datetime import datetime
from urllib.parse import unquote_plus

import app
from chalicelib.adapters import aws
from chalicelib.domain.post import PostStatus, content_id_for
from local.console import upload_failure_line
from local.pump import EventPump
from local.stack import UploadFailureFeed

KEY = "content/constituency/sahada/pumped post.yaml"


def pump_for(world, reports=None):
    return EventPump(app.app, aws.client("sqs"), aws.client("s3"), world.clock,
                     report=(reports.append if reports is not None else lambda _: None)).wire()


def drain(pump, rounds=20):
    for _ in range(rounds):
        if pump.pump_once() == 0 and pump.queues_idle():
            return
        time.sleep(0.05)


def test_an_s3_upload_reaches_its_handler_through_the_bucket_notification(active):
    pump = pump_for(active)
    active.put(KEY, "title: t\ntext: x\nplatforms: [facebook]\npublish_at: 2021-03-03T10:00:00\n")
    active.put("content/constituency/sahada/poster.png", b"\x89PNG")
    drain(pump)
    assert pump.invocations["on_content_upload"] == 2  # the manifest and the media file (ignored)
    assert "on_config_upload" not in pump.invocations, "S3 filters by prefix: content/ is not config/"
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert [p.status for p in posts] == [PostStatus.SCHEDULED]


def test_the_clock_fires_once_for_many_missed_minutes(active):
    pump = pump_for(active)
    active.put(KEY, "title: t\ntext: x\nplatforms: [facebook, x]\npublish_at: 2021-03-03T09:30:00\n")
    drain(pump)
    ticks = pump.invocations["publishing_clock"]
    active.clock.advance_to(datetime.fromisoformat("2021-03-03T09:45:00+05:30"))
    drain(pump)
    assert pump.invocations["publishing_clock"] == ticks + 1
    assert pump.invocations["on_publish_message"] >= 1
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert {p.status for p in posts} == {PostStatus.PUBLISHED}


def test_only_the_failed_record_of_a_batch_comes_back(active, monkeypatch):
    pump = pump_for(active)
    active.put(KEY, "title: t\ntext: x\nplatforms: [facebook, x]\npublish_at: 2021-03-03T09:30:00\n")
    drain(pump)
    monkeypatch.setattr(active.container.publisher.platforms["facebook"], "_base", "http://127.0.0.1:9/v25.0")
    active.clock.advance_to(datetime.fromisoformat("2021-03-03T09:31:00+05:30"))
    pump.fire_due_schedules()
    pump.pump_once()
    assert active.receive_count() == 1, "the failed record stays on the queue; the other was deleted"
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert {p.account_id: p.status for p in posts} == {"fb-sahada": PostStatus.QUEUED, "x-sahada": PostStatus.PUBLISHED}


def test_an_upload_whose_handler_keeps_failing_lands_on_the_failure_queue_as_lambda_would_send_it(active, monkeypatch):
    reports = []
    pump = pump_for(active, reports)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(type(active.container), "ingest", lambda self: type("I", (), {"content": broken})())
    active.put(KEY, "title: t\ntext: x\n")
    deadline = time.monotonic() + 15
    while pump.invocations.get("on_content_upload", 0) < 3 and time.monotonic() < deadline:
        pump.pump_once()
        time.sleep(0.2)
    time.sleep(2.2)
    pump.pump_once()
    assert pump.invocations["on_content_upload"] == 3, "the first try and two retries, as Lambda does"
    assert all("disk on fire" in r for r in reports)

    failures = UploadFailureFeed(aws.client("sqs"), pump.failure_queue_url)
    assert failures.queue == "prachar-test-upload-failures"
    [record] = failures.new_records()
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:prachar-test-on_content_upload:$LATEST")
    [s3_record] = record["requestPayload"]["Records"]
    assert unquote_plus(s3_record["s3"]["object"]["key"]) == KEY, "the S3 event itself, to replay it"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "disk on fire"
    assert any("raise RuntimeError" in line for line in record["responsePayload"]["stackTrace"])
    assert record["responsePayload"]["requestId"] == record["requestContext"]["requestId"]

    line = upload_failure_line(record, failures.queue)
    assert "UPLOAD FAILED" in line and KEY in line and "RuntimeError: disk on fire" in line
    assert "prachar-test-upload-failures" in line and "3 times" in line
    assert failures.new_records() == [], "each record is shown once"
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=pump.failure_queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert sum(int(v) for v in attributes.values()) == 1, "showing a record does not take it off the queue"


def test_an_upload_that_succeeds_on_a_retry_leaves_no_failure_record(active, monkeypatch):
    pump = pump_for(active)
    calls = []
    real_ingest = type(active.container).ingest

    def flaky(self):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("throttled once")
        return real_ingest(self)

    monkeypatch.setattr(type(active.container), "ingest", flaky)
    active.put(KEY, "title: t\ntext: x\nplatforms: [facebook]\npublish_at: 2021-03-03T10:00:00\n")
    deadline = time.monotonic() + 15
    while pump.invocations.get("on_content_upload", 0) < 2 and time.monotonic() < deadline:
        pump.pump_once()
        time.sleep(0.2)
    drain(pump)
    assert pump.invocations["on_content_upload"] == 2
    assert UploadFailureFeed(aws.client("sqs"), pump.failure_queue_url).new_records() == []
    _, posts = active.container.store.content_with_posts(content_id_for(KEY))
    assert [p.status for p in posts] == [PostStatus.SCHEDULED]
