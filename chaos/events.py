"""Lambda-shaped events and the way Lambda's triggers hand them over."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote_plus

from local.pump import LambdaContext

BUCKET_ARN = "arn:aws:s3:::prachar-chaos-content"


def s3_event(key: str, principal: str, etag: str | None = None) -> dict[str, Any]:
    """An S3 notification: the key URL-encoded the way S3 sends it ('+' for a space); the object's ETag when
    given (an upload's event is checked against it: the handler reads exactly that upload), else a fresh one."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "ap-south-1",
        "eventTime": "2021-03-03T03:30:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": principal},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "chaos",
               "bucket": {"name": "prachar-chaos-content", "arn": BUCKET_ARN},
               "object": {"key": quote_plus(key, safe="/"), "size": 1, "eTag": etag or uuid.uuid4().hex}}}]}


def lambda_context(function: str) -> LambdaContext:
    return LambdaContext(function_name=f"prachar-chaos-{function}")
