"""X API v2: posts and replies through POST /2/tweets; images and video through the v2 media upload
(initialize, append in 4 MiB segments, finalize, and status while X processes a video)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.platforms.base import Media, PublishRequest
from chalicelib.adapters.platforms.http import HttpResponse, call, download, same_text
from chalicelib.adapters.platforms.x_auth import authorization
from chalicelib.errors import (
    PlatformAuthError,
    PlatformDuplicateError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)

SEGMENT_BYTES = 4 * 1024 * 1024
MAX_STATUS_POLLS = 6  # at most ~30 s of X's own check_after_secs, well inside a Lambda's minute
CATEGORY = {"image/gif": "tweet_gif", "video/mp4": "tweet_video", "video/quicktime": "tweet_video"}


class XClient:
    platform = "x"

    def __init__(self, api_base: str, timeout: float, sleep: Any = time.sleep) -> None:
        self._base = api_base
        self._timeout = timeout
        self._sleep = sleep  # only for X's own check_after_secs while a video is processed (seconds)

    def publish(self, request: PublishRequest) -> str:
        body: dict[str, Any] = {"text": "\n\n".join(part for part in (request.text, request.link) if part)}
        if request.media:
            body["media"] = {"media_ids": [self._upload(request.token, item) for item in request.media[:4]]}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        response = self._call("POST", "/2/tweets", request.token, json_body=body)
        if response.status != 201:
            raise x_error(response)
        return response.body["data"]["id"]

    def _upload(self, token: str, media: Media) -> str:
        data = download(self.platform, media.url, self._timeout)
        started = self._call("POST", "/2/media/upload/initialize", token, json_body={
            "media_type": media.content_type, "total_bytes": len(data),
            "media_category": CATEGORY.get(media.content_type, "tweet_image")})
        if started.status not in (200, 201, 202):
            raise x_error(started)
        media_id = started.body["data"]["id"]
        for index, offset in enumerate(range(0, len(data), SEGMENT_BYTES)):
            appended = self._call("POST", f"/2/media/upload/{media_id}/append", token, multipart={
                "segment_index": str(index),
                "media": ("segment", data[offset:offset + SEGMENT_BYTES], "application/octet-stream")})
            if appended.status not in (200, 201, 202, 204):
                raise x_error(appended)
        finished = self._call("POST", f"/2/media/upload/{media_id}/finalize", token)
        if finished.status not in (200, 201, 202):
            raise x_error(finished)
        processing = finished.body.get("data", {}).get("processing_info")
        for _ in range(MAX_STATUS_POLLS):
            if not processing or processing.get("state") == "succeeded":
                return media_id
            if processing.get("state") == "failed":
                error = processing.get("error", {})
                raise PlatformRejectedError(self.platform, f"X could not process the media: "
                                            f"{error.get('message', 'failed')}")
            self._sleep(min(float(processing.get("check_after_secs", 1)), 5.0))
            status = self._call("GET", "/2/media/upload", token, query={"command": "STATUS", "media_id": media_id})
            if status.status != 200:
                raise x_error(status)
            processing = status.body.get("data", {}).get("processing_info")
        raise PlatformUnavailableError(self.platform, "X is still processing the media; trying again later")

    def _call(self, method: str, path: str, token: str, query: dict[str, str] | None = None,
              **kwargs: Any) -> HttpResponse:
        try:
            url, header = authorization(token, method, f"{self._base}{path}", query)
        except ValueError as exc:
            raise PlatformAuthError(self.platform, f"unusable credentials: {exc}") from None
        return call(self.platform, method, url, token_header=header, timeout=self._timeout, **kwargs)

    def find_published(self, request: PublishRequest, since: datetime) -> str | None:
        """X has no idempotency key: look at the user's posts since the ambiguous call."""
        response = self._call("GET", f"/2/users/{request.target_id}/tweets", request.token, query={
            "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_results": "20", "tweet.fields": "created_at"})
        if response.status != 200:
            raise x_error(response)
        text = "\n\n".join(part for part in (request.text, request.link) if part)
        return next((t["id"] for t in response.body.get("data", []) if same_text(t.get("text", ""), text)), None)

    def check_token(self, target_id: str, token: str) -> None:
        response = self._call("GET", "/2/users/me", token)
        if response.status != 200:
            raise x_error(response)
        if str(response.body.get("data", {}).get("id")) != target_id:
            raise PlatformAuthError(self.platform, f"the token belongs to user {response.body['data'].get('id')}, "
                                                   f"not {target_id}")


def x_error(response: HttpResponse) -> PlatformError:
    """X answers in application/problem+json; the status and the detail decide the class."""
    body = response.body if isinstance(response.body, dict) else {}
    message = body.get("detail") or body.get("title") or f"HTTP {response.status}"
    kwargs = {"status": response.status, "code": body.get("type"), "raw": body}
    if response.status == 401:
        return PlatformAuthError("x", message, **kwargs)
    if response.status == 429:
        # The 15-minute window, or the 24-hour user/app caps when those are the ones spent.
        resets = [response.headers.get(h) for h in ("x-user-limit-24hour-reset", "x-app-limit-24hour-reset")
                  if response.headers.get(h.replace("reset", "remaining")) == "0"]
        resets.append(response.headers.get("x-rate-limit-reset"))
        known = [float(r) for r in resets if r]
        return PlatformRateLimitedError("x", message, reset_at=max(known) if known else None, **kwargs)
    if response.status == 403 and "duplicate content" in message:
        return PlatformDuplicateError("x", message, **kwargs)
    if response.status >= 500:
        return PlatformUnavailableError("x", message, **kwargs)
    return PlatformRejectedError("x", message, **kwargs)
