"""X API v2: posts and replies through POST /2/tweets; images and video through the v2 media upload
(initialize, append in 4 MiB segments, finalize, and status while X processes a video)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.platforms.base import Media, PublishRequest
from chalicelib.adapters.platforms.http import HttpResponse, call, download, same_text
from chalicelib.adapters.platforms.x_auth import authorization
from chalicelib.errors import (
    PlatformAccountError,
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


MAX_IDS_PER_READ = 100  # X's limit on ids= for GET /2/tweets


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

    def find_published(self, request: PublishRequest, since: datetime, until: datetime | None = None) -> str | None:
        """X has no idempotency key: look at the user's posts since the ambiguous call."""
        response = self._call("GET", f"/2/users/{request.target_id}/tweets", request.token, query={
            "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **({"end_time": until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")} if until else {}),
            "max_results": "100", "tweet.fields": "created_at"})  # the most X returns a page
        if response.status != 200:
            raise x_error(response)
        text = "\n\n".join(part for part in (request.text, request.link) if part)
        return next((t["id"] for t in response.body.get("data", []) if same_text(t.get("text", ""), text)), None)

    def metrics(self, token: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        """Public metrics of up to 100 posts in one call (GET /2/tweets); a deleted post is simply missing."""
        response = self._call("GET", "/2/tweets", token, query={"ids": ",".join(post_ids[:MAX_IDS_PER_READ]),
                                                                "tweet.fields": "public_metrics"})
        if response.status != 200:
            raise x_error(response)
        found = {}
        for tweet in response.body.get("data", []):
            counts = tweet.get("public_metrics") or {}
            found[str(tweet.get("id"))] = {"likes": int(counts.get("like_count", 0)),
                                           "reposts": int(counts.get("retweet_count", 0)),
                                           "replies": int(counts.get("reply_count", 0)),
                                           "quotes": int(counts.get("quote_count", 0)),
                                           "impressions": int(counts.get("impression_count", 0))}
        return found

    def check_token(self, target_id: str, token: str) -> None:
        response = self._call("GET", "/2/users/me", token)
        if response.status != 200:
            raise x_error(response)
        if str(response.body.get("data", {}).get("id")) != target_id:
            raise PlatformAuthError(self.platform, f"the token belongs to user {response.body['data'].get('id')}, "
                                                   f"not {target_id}")


# https://docs.x.com/x-api/fundamentals/response-codes-and-errors — 401 "invalid or missing authentication
# credentials"; 403 "valid auth but no permission for this resource or action"; 429 "rate limit or usage cap
# exceeded"; 500/502/503/504 "wait and retry"; 400 malformed request (this post as it is).
# Problem types (same page) that say the app or the account, not the post, cannot go on: `client-forbidden` ("app
# not enrolled or lacks required access"). A 403 whose detail names the account as suspended or locked, or the
# generic "You are not permitted to perform this action." that POST /2/tweets answers for an app without write
# access or a restricted account (the page's 403 checklist: app access, enrollment, OAuth scopes), is the same:
# every later post would be refused alike, so the account waits for a person. Duplicates (403 "duplicate
# content") and `not-authorized-for-resource` (a protected post we replied to) are about this post only.
X_ACCOUNT_PROBLEM_TYPES = {"client-forbidden": "the X app is not enrolled or lacks the access it needs"}
X_ACCOUNT_DETAILS = {  # whole words: "blocked" (by a post's author) is about one reply, not the account
    re.compile(r"\bsuspended\b"): "the X account is suspended",
    re.compile(r"\blocked\b"): "the X account is locked",
    re.compile(r"\bnot permitted to perform this action\b"): "X does not let this app post for this account "
                                                             "(write access, OAuth scopes or a restricted account)",
}
X_DUPLICATE_DETAIL = "duplicate content"
# https://docs.x.com/x-api/fundamentals/rate-limits — windows are "usually 15 minutes or 24 hours"; POST /2/tweets
# has 100/15 min per user and 10,000/24 h per app, shown in the x-rate-limit-* headers and (for the 24-hour caps)
# x-user-limit-24hour-* / x-app-limit-24hour-* (plhery/node-twitter-api-v2#495, #553).
X_24_HOUR_HEADERS = ("x-user-limit-24hour", "x-app-limit-24hour")
# Problem type usage-capped (429): the monthly cap, e.g. {"title": "UsageCapExceeded", "period": "Monthly",
# "detail": "Usage cap exceeded: Monthly product cap", "type": "https://api.twitter.com/2/problems/usage-capped"}
# (xdevplatform/xdk#25). X does not say when it resets (the plan's billing period), and its x-rate-limit-reset is
# the 15-minute window's, so look again after X's longest documented window.
X_USAGE_CAP_RETRY_SECONDS = 24 * 3600


def x_error(response: HttpResponse) -> PlatformError:
    """X answers in application/problem+json; the status, the problem type and the detail decide the class."""
    body = response.body if isinstance(response.body, dict) else {}
    problem_type = _problem_type(body.get("type"))
    message = str(body.get("detail") or body.get("title") or f"HTTP {response.status}")
    kwargs = {"status": response.status, "code": body.get("type"), "raw": body}
    if response.status == 401:
        return PlatformAuthError("x", message, **kwargs)
    if response.status == 429 or problem_type == "usage-capped":
        return _x_rate_limited(response, problem_type, message, kwargs)
    if response.status == 403:
        lowered = message.lower()
        if X_DUPLICATE_DETAIL in lowered:
            return PlatformDuplicateError("x", message, **kwargs)
        reason = X_ACCOUNT_PROBLEM_TYPES.get(problem_type) or next(
            (why for pattern, why in X_ACCOUNT_DETAILS.items() if pattern.search(lowered)), None)
        if reason:
            return PlatformAccountError("x", f"{reason}: {message}", **kwargs)
    if response.status >= 500:
        return PlatformUnavailableError("x", message, **kwargs)
    return PlatformRejectedError("x", message, **kwargs)


def _x_rate_limited(response: HttpResponse, problem_type: str, message: str,
                    kwargs: dict[str, Any]) -> PlatformRateLimitedError:
    if problem_type == "usage-capped":
        return PlatformRateLimitedError(
            "x", f"X's monthly usage cap for this app is spent ({message}); posts wait until it resets or a "
                 "person raises the plan", retry_after=X_USAGE_CAP_RETRY_SECONDS, window="usage_cap", **kwargs)
    # The 24-hour caps when one of those is the one spent, else the 15-minute window.
    day_resets = [_unix_seconds(response.headers.get(f"{prefix}-reset")) for prefix in X_24_HOUR_HEADERS
                  if (response.headers.get(f"{prefix}-remaining") or "").strip() == "0"]
    known_day_resets = [reset for reset in day_resets if reset is not None]
    if known_day_resets:
        return PlatformRateLimitedError("x", message, reset_at=max(known_day_resets), window="24hour", **kwargs)
    return PlatformRateLimitedError("x", message, reset_at=_unix_seconds(response.headers.get("x-rate-limit-reset")),
                                    window="15min", **kwargs)


def _problem_type(value: Any) -> str:
    """The last part of the problem type URI (…/2/problems/usage-capped → "usage-capped")."""
    return value.rstrip("/").rsplit("/", 1)[-1] if isinstance(value, str) else ""


def _unix_seconds(value: str | None) -> float | None:
    """A reset header as unix seconds; None for a missing or unreadable one (hold_until caps absurd values)."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None
