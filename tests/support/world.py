"""A test's view of the system: the emulated AWS resources, the sandbox, the clock and the handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml

from chalicelib.adapters import aws
from chalicelib.adapters.clock import SteppedClock
from local.sandbox import PlatformSandbox

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "prachar-test-content"
QUEUE = "prachar-test-publish"
CAMPAIGN_FILE = ROOT / "tests" / "support" / "campaign.yaml"
TEAM_PHONES = [m["phone"] for t in yaml.safe_load(CAMPAIGN_FILE.read_text("utf-8"))["teams"] for m in t["members"]
               if m.get("phone")]


@dataclass
class World:
    clock: SteppedClock
    container: Any
    sandbox: PlatformSandbox

    # ---- S3 -------------------------------------------------------------------------------------
    def put(self, key: str, body: bytes | str) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)

    def read(self, key: str) -> bytes | None:
        try:
            return aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except aws.client("s3").exceptions.NoSuchKey:
            return None

    def error_report(self, key: str) -> dict[str, Any] | None:
        data = self.read(f"errors/{key}.json")
        return json.loads(data) if data else None

    # ---- staging a state the state machine would not reach this way ----------------------------------
    def force_post(self, content_id: str, account_id: str, status: Any, **fields: Any) -> None:
        """Put a post in `status` directly in the table (a dead worker's claim, say), bypassing the state
        machine the system itself must go through."""
        from chalicelib.adapters.dynamo_codec import to_value

        sets = {"status": str(status), **fields}
        aws.client("dynamodb").update_item(
            TableName="prachar-test", Key={"pk": {"S": f"CONTENT#{content_id}"}, "sk": {"S": f"POST#{account_id}"}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={f"#f{i}": name for i, name in enumerate(sets)},
            ExpressionAttributeValues={f":v{i}": to_value(value) for i, value in enumerate(sets.values())})

    # ---- events as Lambda delivers them ---------------------------------------------------------
    @staticmethod
    def s3_event(key: str, principal: str = "AWS:AIDAEXAMPLE") -> dict[str, Any]:
        """An S3 notification of the object as it is now: the key URL-encoded the way S3 sends it ('+' for space),
        the object's ETag (what an upload's event is checked against) and, the bucket being versioned, its version."""
        try:
            head = aws.client("s3").head_object(Bucket=BUCKET, Key=key)
            etag, version = head["ETag"].strip('"'), head.get("VersionId")
        except aws.client("s3").exceptions.ClientError:
            etag, version = "0", None
        return {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "ap-south-1",
            "eventTime": "2021-03-03T03:30:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": principal},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "test", "bucket": {
                "name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag,
                           **({"versionId": version} if version else {})}}}]}

    def queue_url(self) -> str:
        return aws.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"]

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        return aws.client("sqs").receive_message(QueueUrl=self.queue_url(), MaxNumberOfMessages=limit,
                                                 AttributeNames=["All"]).get("Messages", [])

    def receive_count(self) -> int:
        attributes = aws.client("sqs").get_queue_attributes(QueueUrl=self.queue_url(), AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return sum(int(v) for v in attributes.values())

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": f"arn:aws:sqs:ap-south-1:123456789012:{QUEUE}",
            "awsRegion": "ap-south-1"} for m in messages]}

    def at(self, moment: str, *, team_checks_in: bool = True) -> None:
        """Move the clock; by default the team members write in then, opening WhatsApp's 24-hour window
        (as the local stack has them do every day)."""
        self.clock.advance_to(datetime.fromisoformat(moment))
        if team_checks_in:
            for phone in TEAM_PHONES:
                self.sandbox.open_window(phone)
