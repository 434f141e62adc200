"""The publish queue, the content bucket and the secrets, each against the emulator and its in-memory twin.

Each backend comes with a small harness that plays the other side (SQS's receiver and its partial failures,
an uploader putting objects, SSM holding a parameter) so one test body runs against both.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from chalicelib.adapters import aws
from chalicelib.adapters.bucket import ContentBucket, Superseded, TooLarge
from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryBucket, InMemoryQueue, InMemorySecrets
from chalicelib.adapters.publish_queue import PublishQueue
from chalicelib.adapters.secrets import SecretStore
from chalicelib.errors import PersistenceError
from chalicelib.ports import BucketPort, PublishQueuePort, SecretsPort
from tests.support.fixtures import START

QUEUE = "prachar-test-publish"
START_TIME = datetime.fromisoformat(START)
Refuse = Callable[[dict[str, Any]], bool]


# ---- the publish queue ------------------------------------------------------------------------------
@dataclass
class Received:
    body: dict[str, Any]
    receipt_handle: str
    receive_count: int


class SqsHarness:
    def __init__(self, refuse: Refuse | None = None, queue_name: str = QUEUE) -> None:
        self._sqs = aws.client("sqs")
        self._url = self._sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        self.batch_sizes: list[int] = []
        self.queue = PublishQueue(_ReportingFailures(self._sqs, refuse, self.batch_sizes), queue_name)

    def receive(self) -> list[Received]:
        found: list[Received] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10,
                                                 AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
            if not messages:
                return found
            found += [Received(json.loads(m["Body"]), m["ReceiptHandle"],
                               int(m["Attributes"]["ApproximateReceiveCount"])) for m in messages]

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)


class _ReportingFailures:
    """The SQS client, but the entries `refuse` picks come back in `Failed`, as SQS reports a partial failure."""

    def __init__(self, sqs: Any, refuse: Refuse | None, batch_sizes: list[int]) -> None:
        self._sqs, self._refuse, self._batch_sizes = sqs, refuse, batch_sizes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self._batch_sizes.append(len(Entries))
        refused = [e for e in Entries if self._refuse is not None and self._refuse(json.loads(e["MessageBody"]))]
        taken = [e for e in Entries if e not in refused]
        response = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=taken) if taken else {}
        return {**response, "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"}
                                       for e in refused]}


class MemoryQueueHarness:
    def __init__(self, refuse: Refuse | None = None, queue_name: str = QUEUE) -> None:
        self.clock = SteppedClock(START_TIME)
        self.fake = InMemoryQueue(self.clock, visibility_timeout_seconds=1, refuse=refuse)
        self.fake.available = queue_name == QUEUE
        self.queue = self.fake
        self.batch_sizes = self.fake.batch_sizes

    def receive(self) -> list[Received]:
        found: list[Received] = []
        while messages := self.fake.receive():
            found += [Received(m.json_body(), m.receipt_handle, m.receive_count) for m in messages]
        return found

    def wait(self, seconds: float) -> None:
        self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


@pytest.fixture(params=["sqs", "memory"])
def queue_harness(request: pytest.FixtureRequest) -> Callable[..., SqsHarness | MemoryQueueHarness]:
    if request.param == "sqs":
        request.getfixturevalue("world")  # a fresh emulator with the stage's queues
        return SqsHarness
    return MemoryQueueHarness


def test_both_queues_offer_what_the_services_use():
    assert isinstance(InMemoryQueue(), PublishQueuePort)
    assert isinstance(PublishQueue(client=None, name=QUEUE), PublishQueuePort)


def test_messages_go_in_batches_of_ten_and_all_arrive(queue_harness):
    harness = queue_harness()
    messages = [{"content_id": f"c{i}", "account_id": "wa-sahada"} for i in range(23)]
    assert harness.queue.send(messages) == []
    assert harness.batch_sizes == [10, 10, 3]
    received = harness.receive()
    assert sorted((r.body for r in received), key=lambda b: b["content_id"]) == sorted(
        messages, key=lambda b: b["content_id"])
    assert {r.receive_count for r in received} == {1}
    assert harness.queue.send([]) == [] and harness.batch_sizes == [10, 10, 3]


def test_the_messages_not_taken_are_handed_back_in_order(queue_harness):
    harness = queue_harness(refuse=lambda message: message["n"] % 4 == 0)
    messages = [{"n": n} for n in range(12)]
    assert harness.queue.send(messages) == [{"n": 0}, {"n": 4}, {"n": 8}]
    assert sorted(r.body["n"] for r in harness.receive()) == [1, 2, 3, 5, 6, 7, 9, 10, 11]


def test_a_queue_that_cannot_be_reached_raises_persistence_error(queue_harness):
    harness = queue_harness(queue_name="prachar-test-no-such-queue")
    with pytest.raises(PersistenceError):
        harness.queue.send([{"n": 1}])


def test_a_delayed_message_comes_back_after_the_delay_with_its_receive_count(queue_harness):
    harness = queue_harness()
    harness.queue.send([{"n": 1}, {"n": 2}])
    first, second = sorted(harness.receive(), key=lambda r: r.body["n"])
    harness.queue.delay(first.receipt_handle, 0)
    harness.queue.delay(second.receipt_handle, 600)
    assert [(r.body, r.receive_count) for r in harness.receive()] == [({"n": 1}, 2)]
    harness.wait(1.5)  # the stage's visibility timeout is 1 s: only the 10-minute delay still hides message 2
    assert [(r.body, r.receive_count) for r in harness.receive()] == [({"n": 1}, 3)]


def test_a_delay_past_sqs_limit_is_capped_not_refused(queue_harness):
    """SQS counts its 12-hour limit from when the message was received, and refuses a timeout past it: the delay is
    capped at 12 hours less the longest a Lambda can run, which always fits."""
    harness = queue_harness()
    harness.queue.send([{"n": 1}])
    (received,) = harness.receive()
    harness.wait(1)
    harness.queue.delay(received.receipt_handle, 10**9)
    harness.wait(1.5)
    assert harness.receive() == []


# ---- the content bucket -----------------------------------------------------------------------------
class S3Harness:
    def __init__(self) -> None:
        self._s3 = aws.client("s3")
        self.bucket = ContentBucket(self._s3, "prachar-test-content")

    def put(self, key: str, body: bytes, uploaded_by: str | None = None) -> None:
        extra = {"Metadata": {"uploaded-by": uploaded_by}} if uploaded_by else {}
        self._s3.put_object(Bucket=self.bucket.name, Key=key, Body=body, **extra)

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self.bucket.name, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None


class MemoryBucketHarness:
    def __init__(self) -> None:
        self.bucket = InMemoryBucket("prachar-test-content")

    def put(self, key: str, body: bytes, uploaded_by: str | None = None) -> None:
        self.bucket.put(key, body, uploaded_by=uploaded_by)

    def get(self, key: str) -> bytes | None:
        return self.bucket.get(key)


@pytest.fixture(params=["s3", "memory"])
def bucket_harness(request: pytest.FixtureRequest) -> S3Harness | MemoryBucketHarness:
    if request.param == "s3":
        request.getfixturevalue("world")
        return S3Harness()
    return MemoryBucketHarness()


KEY = "content/constituency/sahada/बजट पोस्टर.yaml"


def test_both_buckets_offer_what_the_services_use():
    assert isinstance(InMemoryBucket(), BucketPort)
    assert isinstance(ContentBucket(client=None, name="b"), BucketPort)


def test_an_upload_reads_back_with_its_size_etag_and_uploader(bucket_harness):
    body = "title: बजट\n".encode()
    bucket_harness.put(KEY, body, uploaded_by="AIDAEXAMPLE")
    upload = bucket_harness.bucket.read(KEY, max_bytes=1024)
    assert (upload.key, upload.body, upload.size, upload.uploaded_by) == (KEY, body, len(body), "AIDAEXAMPLE")
    assert upload.etag == hashlib.md5(body).hexdigest()
    assert bucket_harness.bucket.size_of(KEY) == len(body)
    bucket_harness.put("content/anonymous.yaml", b"x")
    assert bucket_harness.bucket.read("content/anonymous.yaml", 10).uploaded_by is None


def test_a_missing_object_is_none(bucket_harness):
    assert bucket_harness.bucket.read("content/nothing-here.yaml", max_bytes=1024) is None
    assert bucket_harness.bucket.size_of("content/nothing-here.yaml") is None


def test_an_oversized_object_is_refused_before_it_is_read(bucket_harness):
    bucket_harness.put(KEY, b"x" * 2048)
    with pytest.raises(TooLarge) as refused:
        bucket_harness.bucket.read(KEY, max_bytes=2047)
    assert refused.value.size == 2048
    assert bucket_harness.bucket.read(KEY, max_bytes=2048).size == 2048


def test_an_error_report_is_written_beside_the_upload_and_cleared(bucket_harness):
    report = {"key": KEY, "problems": [{"where": "publish_at", "what": "2021-02-30 नहीं है"}]}
    report_key = bucket_harness.bucket.write_error_report(KEY, report)
    assert report_key == f"errors/{KEY}.json"
    written = bucket_harness.get(report_key)
    assert json.loads(written) == report and "नहीं" in written.decode("utf-8")
    assert written == json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
    bucket_harness.bucket.clear_error_report(KEY)
    assert bucket_harness.get(report_key) is None
    bucket_harness.bucket.clear_error_report(KEY)  # nothing to clear: no error


def test_an_upload_read_by_its_events_etag_is_that_upload_or_superseded(bucket_harness):
    bucket_harness.put(KEY, b"first")
    first = bucket_harness.bucket.read(KEY, max_bytes=100)
    assert bucket_harness.bucket.read(KEY, max_bytes=100, etag=first.etag).body == b"first"
    bucket_harness.put(KEY, b"second")
    with pytest.raises(Superseded):
        bucket_harness.bucket.read(KEY, max_bytes=100, etag=first.etag)


def test_a_report_is_written_whole_and_a_rerun_replaces_it(bucket_harness):
    bucket_harness.bucket.write_report("reports/2021-03-05/report.csv", "दल,1\n".encode(), "text/csv; charset=utf-8")
    bucket_harness.bucket.write_report("reports/2021-03-05/report.csv", b"team,2\n", "text/csv; charset=utf-8")
    assert bucket_harness.get("reports/2021-03-05/report.csv") == b"team,2\n"


def test_a_media_link_names_the_object_and_its_lifetime(bucket_harness):
    url = urlparse(bucket_harness.bucket.media_url("media/sahada/poster 1.png", expires_seconds=600))
    assert url.path.endswith("/media/sahada/poster%201.png")
    assert parse_qs(url.query)["X-Amz-Expires"] == ["600"]


# ---- secrets ------------------------------------------------------------------------------------------
@pytest.fixture(params=["ssm", "memory"])
def secrets_pair(request: pytest.FixtureRequest) -> tuple[SecretsPort, Callable[[str, str], None]]:
    if request.param == "ssm":
        request.getfixturevalue("world")
        ssm = aws.client("ssm")
        return SecretStore(), lambda name, value: ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    fake = InMemorySecrets()
    return fake, fake.put


def test_a_token_is_read_by_name_and_a_missing_one_is_get_parameter_error(secrets_pair):
    secrets, put = secrets_pair
    name = f"/prachar/test/accounts/fb-{uuid.uuid4().hex[:8]}"  # Powertools caches by name across tests
    put(name, "tok-फेसबुक")
    assert secrets.token(name) == "tok-फेसबुक"
    assert isinstance(secrets, SecretsPort)
    with pytest.raises(GetParameterError):
        secrets.token(name + "-missing")
