"""Where the run's AWS resources live: in-memory fakes, or the moto emulator with the real boto3 adapters.

Both give the scenario the same few verbs: upload an object, receive Lambda-shaped SQS records, delete or
redeliver one, and say whether the queue is empty. Everything else goes through chalicelib.entry.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryBucket, InMemoryQueue, InMemorySecrets, InMemoryStore
from chalicelib.bootstrap import Container, Overrides, PlatformClients
from chalicelib.settings import load_settings
from local.emulator import Emulator, emulator_environment, free_port
from local.provision import create_resources, register_in_sandbox, seed_account_secrets
from local.sandbox import PlatformSandbox

STAGE = "chaos"
QUEUE_ARN = f"arn:aws:sqs:ap-south-1:123456789012:prachar-{STAGE}-publish"
FAKE_VISIBILITY_SECONDS = 120  # simulated: a killed worker's message is back two clock steps later
STACK_VISIBILITY_SECONDS = 1   # real seconds on the emulator


def environment(sandbox: PlatformSandbox, platform_timeout: float) -> dict[str, str]:
    return {"PRACHAR_STAGE": STAGE, "PRACHAR_CONTENT_BUCKET": f"prachar-{STAGE}-content",
            "PRACHAR_PUBLISH_QUEUE": f"prachar-{STAGE}-publish", "PRACHAR_TABLE": f"prachar-{STAGE}",
            "PRACHAR_FACEBOOK_API_BASE": sandbox.url, "PRACHAR_X_API_BASE": sandbox.url,
            "PRACHAR_WHATSAPP_API_BASE": sandbox.url, "PRACHAR_RETRY_BASE_SECONDS": "0",
            "PRACHAR_PLATFORM_TIMEOUT": str(platform_timeout), "PRACHAR_FACEBOOK_APP_ID": "900000000000001",
            "PRACHAR_WHATSAPP_APP_SECRET": sandbox.app_secret, "PRACHAR_WHATSAPP_VERIFY_TOKEN": "chaos-verify-token"}


class Backend(Protocol):
    name: str

    def put(self, key: str, body: bytes) -> None: ...
    def receive(self, limit: int = 10) -> list[dict[str, Any]]: ...
    def delete(self, receipt_handle: str) -> None: ...
    def redeliver(self, receipt_handle: str) -> None: ...
    def queue_empty(self) -> bool: ...
    def seed_secrets(self, accounts: list[Any], sandbox: PlatformSandbox) -> None: ...
    def stop(self) -> None: ...


def real_platform_clients(clock: SteppedClock) -> dict[str, Any]:
    """Every platform's real client, made now (the container's own are made on first use; chaos wraps each)."""
    clients = Container(load_settings(), clock).platforms()
    return {name: clients[name] for name in PlatformClients.NAMES}


@dataclass
class _SsmIntoMemory:
    """seed_account_secrets writes through an SSM client; this one writes into InMemorySecrets."""

    secrets: InMemorySecrets

    def put_parameter(self, *, Name: str, Value: str, **_: Any) -> None:
        self.secrets.put(Name, Value)


class FakesBackend:
    name = "fakes"

    def __init__(self, clock: SteppedClock) -> None:
        self.store = InMemoryStore()
        self.bucket = InMemoryBucket(f"prachar-{STAGE}-content")
        self.queue = InMemoryQueue(clock, visibility_timeout_seconds=FAKE_VISIBILITY_SECONDS)
        self.secrets = InMemorySecrets()

    def install(self, clock: SteppedClock, platforms: dict[str, Any]) -> Container:
        return bootstrap.use(clock, Overrides(store=self.store, bucket=self.bucket, publish_queue=self.queue,
                                              secrets=self.secrets, platforms=platforms))

    def put(self, key: str, body: bytes) -> None:
        self.bucket.put(key, body)

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        return [message.lambda_record(QUEUE_ARN) for message in self.queue.receive(limit)]

    def delete(self, receipt_handle: str) -> None:
        self.queue.delete(receipt_handle)

    def redeliver(self, receipt_handle: str) -> None:
        self.queue.redeliver(receipt_handle)

    def queue_empty(self) -> bool:
        return len(self.queue) == 0

    def seed_secrets(self, accounts: list[Any], sandbox: PlatformSandbox) -> None:
        register_in_sandbox(sandbox, seed_account_secrets(_SsmIntoMemory(self.secrets), None, accounts, STAGE))

    def stop(self) -> None:
        pass


class StackBackend:
    name = "stack"

    def __init__(self, clock: SteppedClock) -> None:
        self.emulator = Emulator(port=free_port()).start()
        os.environ.update(emulator_environment(self.emulator.url))
        aws.reset_clients()
        create_resources(aws.client("cloudformation"), STAGE,
                         {"PublishVisibilityTimeout": str(STACK_VISIBILITY_SECONDS)})
        self._queue_url = aws.client("sqs").get_queue_url(QueueName=f"prachar-{STAGE}-publish")["QueueUrl"]

    def install(self, clock: SteppedClock, platforms: dict[str, Any]) -> Container:
        return bootstrap.use(clock, Overrides(platforms=platforms))

    def put(self, key: str, body: bytes) -> None:
        aws.client("s3").put_object(Bucket=f"prachar-{STAGE}-content", Key=key, Body=body)

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        messages = aws.client("sqs").receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=limit,
                                                     AttributeNames=["All"]).get("Messages", [])
        return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                 "attributes": m.get("Attributes", {}), "messageAttributes": {},
                 "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                 "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN, "awsRegion": "ap-south-1"}
                for m in messages]

    def delete(self, receipt_handle: str) -> None:
        aws.client("sqs").delete_message(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle)

    def redeliver(self, receipt_handle: str) -> None:
        aws.client("sqs").change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle,
                                                    VisibilityTimeout=0)

    def queue_empty(self) -> bool:
        attributes = aws.client("sqs").get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return not any(int(count) for count in attributes.values())

    def seed_secrets(self, accounts: list[Any], sandbox: PlatformSandbox) -> None:
        register_in_sandbox(sandbox, seed_account_secrets(aws.client("ssm"), aws.client("secretsmanager"),
                                                          accounts, STAGE))

    def stop(self) -> None:
        self.emulator.stop()
