"""The event pump: runs the real Chalice handlers on their real triggers, as Lambda would.

- on_s3_event: a bucket notification to a queue per handler (S3 filters by prefix and suffix), long-polled;
  each notification body is the real S3 event, handed to the handler as Lambda would. Like Lambda's
  asynchronous invocation, a failing handler gets two retries; then the event goes, as Lambda's on-failure
  record, to the stage's upload-failures queue (the destination `make deploy` configures in the cloud).
- on_sqs_message: receive up to batch_size, build Lambda-shaped records (each its own messageId), honour
  batchItemFailures; failures stay on the queue, redeliver after the visibility timeout and end in the DLQ.
- schedule: fired from app.event_sources on the simulated clock; missed firings are coalesced into one.

Given `peek` (the local stack's in-process emulator, local/emulator.peek_queue), the pump looks at each queue's
messages without a request and calls ReceiveMessage only on a queue that has one to hand out — what an event source
mapping's long poll does for free, and an empty receive over HTTP costs the emulator ~18 ms.
"""

from __future__ import annotations

import json
import os
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import S3EventConfig, ScheduledEventConfig, SQSEventConfig

from chalicelib.adapters.clock import Clock
from chalicelib.domain.times import to_iso
from chalicelib.settings import DEFAULT_STAGE
from local.aws_calls import running
from local.emulator import LOCAL_REGION, QueueState
from local.schedules import Schedule, schedules_of

ACCOUNT = "123456789012"
S3_DELIVERY_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries


def function_arn(function_name: str) -> str:
    return f"arn:aws:lambda:{LOCAL_REGION}:{ACCOUNT}:function:{function_name}"


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.function_name)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    log_stream_name = "local"
    function_version = "$LATEST"

    millis_left: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.millis_left


@dataclass
class _Source:
    handler: Callable[..., Any]
    name: str
    queue_url: str
    batch_size: int = 10
    queue_arn: str = ""


@dataclass
class _Outcome:
    ok: bool
    result: Any = None
    error: BaseException | None = None


class EventPump:
    def __init__(self, app: Chalice, sqs: Any, s3: Any, clock: Clock, *,
                 report: Callable[[str], None] = print, stage: str | None = None,
                 peek: Callable[[str], QueueState | None] | None = None) -> None:
        self._app = app
        self._sqs = sqs
        self._s3 = s3
        self._clock = clock
        self._report = report
        self._peek = peek
        self.stage = stage or os.environ.get("PRACHAR_STAGE", DEFAULT_STAGE)
        self.failure_queue_url = ""
        self._s3_sources: list[_Source] = []
        self._sqs_sources: list[_Source] = []
        self.schedules: list[Schedule] = []
        self.invocations: dict[str, int] = {}
        self.millis_left: int | None = None  # what each invocation is told it has left (None: 60 s)
        # Each function with a container of its own, as in the cloud (the IAM test's run); tests that reach into
        # the shared container's adapters leave it off.
        self.separate_functions = False

    def wire(self) -> EventPump:
        notifications: dict[str, list[dict[str, Any]]] = {}
        for config in self._app.event_sources:
            handler = self._app_module_handler(config)
            if isinstance(config, S3EventConfig):
                url = self._sqs.create_queue(QueueName=f"local-s3-{config.name}",
                                             Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
                arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"]
                rules = [{"Name": "prefix", "Value": config.prefix}] if config.prefix else []
                rules += [{"Name": "suffix", "Value": config.suffix}] if config.suffix else []
                entry: dict[str, Any] = {"Id": config.name, "QueueArn": arn, "Events": config.events}
                if rules:
                    entry["Filter"] = {"Key": {"FilterRules": rules}}
                notifications.setdefault(config.bucket, []).append(entry)
                self._s3_sources.append(_Source(handler, config.name, url))
            elif isinstance(config, SQSEventConfig):
                url = self._sqs.get_queue_url(QueueName=config.queue)["QueueUrl"]
                arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"]
                self._sqs_sources.append(_Source(handler, config.name, url, config.batch_size, arn))
        for bucket, entries in notifications.items():
            self._s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": entries})
        if self._s3_sources:  # created from infra/resources.yaml, as in the cloud
            self.failure_queue_url = self._sqs.get_queue_url(
                QueueName=upload_failures_queue(self.stage))["QueueUrl"]
        scheduled = [c for c in self._app.event_sources if isinstance(c, ScheduledEventConfig)]
        self.schedules = schedules_of(scheduled, self._clock.now())
        return self

    def _app_module_handler(self, config: Any) -> Any:
        import app as app_module  # the handlers as Lambda would load them: attributes of app.py

        return getattr(app_module, config.name)

    # ---- one pass over every trigger ----------------------------------------------------------
    def pump_once(self) -> int:
        handled = 0
        for source in self._s3_sources:
            handled += self._drain_s3(source)
        for source in self._sqs_sources:
            handled += self._drain_sqs(source)
        handled += self.fire_due_schedules()
        return handled

    def _looked_at(self, source: _Source) -> QueueState | None:
        return self._peek(source.queue_url) if self._peek is not None else None

    def _drain_s3(self, source: _Source) -> int:
        state = self._looked_at(source)
        if state is not None and not state.visible:
            return 0
        messages = self._sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10,
                                             AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("Event") == "s3:TestEvent" or "Records" not in event:
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            attempt = int(message["Attributes"].get("ApproximateReceiveCount", "1"))
            # Lambda keeps one request id across the retries of an asynchronous event.
            request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, message["MessageId"]))
            outcome = self._invoke(source.name, source.handler, event, request_id=request_id)
            if not outcome.ok and attempt >= S3_DELIVERY_ATTEMPTS:
                self._send_failure_record(source.name, event, outcome.error, request_id, attempt)
            if outcome.ok or attempt >= S3_DELIVERY_ATTEMPTS:
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _send_failure_record(self, name: str, event: dict[str, Any], error: BaseException | None, request_id: str,
                             attempts: int) -> None:
        """What Lambda sends its on-failure destination once an asynchronous event has used up its retries."""
        record = {
            "version": "1.0",
            "timestamp": self._clock.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {"requestId": request_id,
                               "functionArn": f"{function_arn(self.function_name(name))}:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            # The Python runtime's error object for an exception the handler let out.
            "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__,
                                "requestId": request_id,
                                "stackTrace": traceback.format_tb(error.__traceback__) if error else []},
        }
        self._sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(record, ensure_ascii=False))

    def function_name(self, name: str) -> str:
        """As Chalice names a handler's function: <app>-<stage>-<handler>."""
        return f"prachar-{self.stage}-{name}"

    def _drain_sqs(self, source: _Source) -> int:
        state = self._looked_at(source)
        if state is not None and not state.visible:
            return 0
        messages = self._sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=min(source.batch_size, 10),
            AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._sqs_record(source, m) for m in messages]}
        outcome = self._invoke(source.name, source.handler, event)
        if not outcome.ok:
            failed_ids = {m["MessageId"] for m in messages}
        elif isinstance(outcome.result, dict):
            failed_ids = {f["itemIdentifier"] for f in outcome.result.get("batchItemFailures", [])}
        else:
            failed_ids = set()
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])])
        return len(messages)

    def _sqs_record(self, source: _Source, message: dict[str, Any]) -> dict[str, Any]:
        return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"], "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}), "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs", "eventSourceARN": source.queue_arn, "awsRegion": LOCAL_REGION}

    def fire_due_schedules(self) -> int:
        now = self._clock.now()
        fired = 0
        for schedule in self.schedules:
            if schedule.next_fire > now:
                continue
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": ACCOUNT, "time": to_iso(now), "region": LOCAL_REGION,
                     "resources": [f"arn:aws:events:{LOCAL_REGION}:{ACCOUNT}:rule/{self.function_name(schedule.name)}"],
                     "detail": {}}
            self._invoke(schedule.name, self._app_module_handler(schedule.config), event)
            schedule.next_fire = schedule.fire_after(now)
            fired += 1
        return fired

    def next_schedule_after(self, moment: datetime, *, skip: set[str] = frozenset()) -> datetime | None:
        times = [s.fire_after(moment) for s in self.schedules if s.name not in skip]
        return min(times) if times else None

    def queues_idle(self) -> bool:
        for source in self._s3_sources + self._sqs_sources:
            state = self._looked_at(source)
            if state is not None:
                if not state.empty:
                    return False
                continue
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=source.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            if any(int(count) for count in attributes.values()):
                return False
        return True

    def retry_wait(self) -> float | None:
        """With `peek`: seconds until the first message that waits on a queue (a retry's delay, a failed batch's
        visibility) is handed out again; None when no message waits or the pump cannot look."""
        if self._peek is None:
            return None
        waits = [state.next_visible_in for state in map(self._looked_at, self._s3_sources + self._sqs_sources)
                 if state is not None and state.next_visible_in is not None]
        return min(waits) if waits else None

    def _invoke(self, name: str, handler: Callable[..., Any], event: dict[str, Any], *,
                request_id: str | None = None) -> _Outcome:
        self.invocations[name] = self.invocations.get(name, 0) + 1
        context = LambdaContext(function_name=self.function_name(name))
        if self.millis_left is not None:
            context.millis_left = self.millis_left
        if request_id:
            context.aws_request_id = request_id
        try:
            with running(name, own_container=self.separate_functions):
                return _Outcome(True, handler(event, context))
        except Exception as exc:  # a Lambda that raises: report it and let its trigger retry
            self._report(f"!! {name} raised:\n{traceback.format_exc()}")
            return _Outcome(False, error=exc)


def upload_failures_queue(stage: str) -> str:
    """The stage's on-failure destination of the S3-triggered functions (infra/resources.yaml)."""
    return f"prachar-{stage}-upload-failures"
