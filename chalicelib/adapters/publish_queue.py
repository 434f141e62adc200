"""The SQS publish queue: one message per post that is due."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from chalicelib.errors import PersistenceError

SQS_MAX_VISIBILITY_SECONDS = 43_200  # 12 hours, counted by SQS from when the message was received
LAMBDA_MAX_SECONDS = 900  # a message is handled within its Lambda's run, so at most this long after it was received
# The longest delay that always fits inside SQS's limit, however long the handler ran before asking for it.
MAX_DELAY_SECONDS = SQS_MAX_VISIBILITY_SECONDS - LAMBDA_MAX_SECONDS
SQS_MAX_DELAY_SECONDS = 900  # a message's own delay


class PublishQueue:
    def __init__(self, client: Any, name: str) -> None:
        self._sqs = client
        self._name = name

    @cached_property
    def url(self) -> str:
        return self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]

    def send(self, messages: list[dict[str, Any]], delay_seconds: int = 0) -> list[dict[str, Any]]:
        """Send in batches of ten (each delivered after `delay_seconds`, at most 900); return the messages SQS did
        not take (the caller's clock retries them)."""
        failed: list[dict[str, Any]] = []
        delay = {"DelaySeconds": max(0, min(int(delay_seconds), SQS_MAX_DELAY_SECONDS))} if delay_seconds else {}
        for start in range(0, len(messages), 10):
            batch = messages[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": json.dumps(m), **delay} for i, m in enumerate(batch)]
            try:
                response = self._sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception as exc:
                raise PersistenceError("SQS send_message_batch failed") from exc
            failed += [batch[int(f["Id"])] for f in response.get("Failed", [])]
        return failed

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Back off before SQS delivers this message again (instead of sleeping in the Lambda)."""
        self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle,
                                           VisibilityTimeout=max(0, min(int(seconds), MAX_DELAY_SECONDS)))


def backoff_seconds(receive_count: int, base: float, cap: float = 900) -> int:
    """1st retry after `base`, then doubling, never above `cap`."""
    return int(min(cap, base * 2 ** max(receive_count - 1, 0)))
