"""`make redrive STAGE=dev [QUEUE=publish|imports|broadcasts]`: the messages of a dead-letter queue back on their
queue, to be handled again.

A message reaches a dead-letter queue after its Lambda failed it maxReceiveCount times (a platform down for hours, a
bug since fixed). Sending it back cannot make a second post: the publisher claims each post (and a broadcast each
contact) with a conditional write before its call, and a post already published or settled is skipped. So a message
sent back twice — if this stops between sending a batch and deleting it from the dead-letter queue — is harmless;
one deleted before it was sent would be lost, so the order is send, then delete.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import boto3

from infra.deploy import check_target

QUEUES = ("publish", "imports", "broadcasts")
HIDE_SECONDS = 120  # a message being moved is hidden this long; one whose move fails shows again after it


def redrive(sqs: Any, queue_url: str, dead_letter_url: str, report: Callable[[str], None] = print) -> int:
    """Move every message of `dead_letter_url` to `queue_url`; the number moved."""
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       VisibilityTimeout=HIDE_SECONDS,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return moved
        entries = [{"Id": str(i), "MessageBody": m["Body"],
                    **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
                   for i, m in enumerate(messages)]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent = [messages[int(s["Id"])] for s in answer.get("Successful", [])]
        if sent:
            sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)])
        moved += len(sent)
        for failure in answer.get("Failed", []):
            report(f"not moved ({failure.get('Code')}: {failure.get('Message')}); it stays on the dead-letter queue")
        if answer.get("Failed"):
            return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make redrive", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--queue", choices=QUEUES, action="append", help="default: every queue")
    parser.add_argument("--rehearsal", action="store_true", help="on the local emulator at AWS_ENDPOINT_URL")
    arguments = parser.parse_args(argv)
    check_target(dict(os.environ), arguments.rehearsal)
    sqs = boto3.client("sqs")
    for queue in arguments.queue or QUEUES:
        name = f"prachar-{arguments.stage}-{queue}"
        moved = redrive(sqs, sqs.get_queue_url(QueueName=name)["QueueUrl"],
                        sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"])
        print(f"{name}-dlq → {name}: {moved} message(s) moved back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
