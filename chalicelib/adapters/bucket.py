"""The content bucket: uploads to read, media to hand to platforms, error reports to write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import PersistenceError


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    size: int
    etag: str
    uploaded_by: str | None


class Superseded(Exception):
    """The object was replaced after the event that names it: the later upload's own event decides."""


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class ContentBucket:
    def __init__(self, client: Any, name: str) -> None:
        self._s3 = client
        self.name = name

    def read(self, key: str, max_bytes: int, *, etag: str | None = None) -> Upload | None:
        """The object's bytes, or None if it is gone; TooLarge before reading an oversized body; with `etag` (the
        event's), Superseded if the object is no longer that upload."""
        try:
            response = self._s3.get_object(Bucket=self.name, Key=key, **({"IfMatch": f'"{etag}"'} if etag else {}))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return None
            if code in ("PreconditionFailed", "412"):
                raise Superseded(key) from None
            raise PersistenceError(f"S3 get_object failed for {key}") from exc
        size = int(response.get("ContentLength", 0))
        if size > max_bytes:
            response["Body"].close()
            raise TooLarge(size)
        body = response["Body"].read()
        metadata = response.get("Metadata") or {}
        return Upload(key=key, body=body, size=size, etag=response.get("ETag", "").strip('"'),
                      uploaded_by=metadata.get("uploaded-by"))

    def stream(self, key: str, etag: str, start: int = 0, chunk_bytes: int = 256 * 1024) -> Iterator[bytes] | None:
        """The bytes of exactly the upload `etag` of `key` from byte `start` on, in chunks (a file of any size, never
        whole in memory); None when the object is gone or is no longer that upload."""
        request: dict[str, Any] = {"Bucket": self.name, "Key": key, "IfMatch": f'"{etag}"'}
        if start:
            request["Range"] = f"bytes={start}-"
        try:
            response = self._s3.get_object(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "PreconditionFailed", "412"):
                return None
            if code in ("InvalidRange", "416"):  # it stopped right at the end
                return iter(())
            raise PersistenceError(f"S3 get_object failed for {key}") from exc
        return response["Body"].iter_chunks(chunk_bytes)

    def size_of(self, key: str) -> int | None:
        """The object's size, or None if it is not in the bucket."""
        try:
            return int(self._s3.head_object(Bucket=self.name, Key=key)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise PersistenceError(f"S3 head_object failed for {key}") from exc

    def write_error_report(self, key: str, report: dict[str, Any]) -> str:
        report_key = error_report_key(key)
        self._s3.put_object(Bucket=self.name, Key=report_key, ContentType="application/json; charset=utf-8",
                            Body=json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"))
        return report_key

    def clear_error_report(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.name, Key=error_report_key(key))

    def write_report(self, key: str, body: bytes, content_type: str) -> None:
        """A file the system writes for people to read (reports/<date>/…); a re-run writes it again, whole."""
        self._s3.put_object(Bucket=self.name, Key=key, ContentType=content_type, Body=body)

    def media_url(self, key: str, expires_seconds: int = 3600) -> str:
        """A short-lived link a platform can fetch the media from."""
        return self._s3.generate_presigned_url("get_object", Params={"Bucket": self.name, "Key": key},
                                               ExpiresIn=expires_seconds)


def error_report_key(key: str) -> str:
    return f"errors/{key}.json"
