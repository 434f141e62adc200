"""X API v2: a post through POST /2/tweets with a user-context token."""

from __future__ import annotations

from chalicelib.adapters.platforms.base import PublishRequest
from chalicelib.adapters.platforms.http import HttpResponse, call
from chalicelib.errors import (
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)


class XClient:
    platform = "x"

    def __init__(self, api_base: str, timeout: float) -> None:
        self._base = api_base
        self._timeout = timeout

    def publish(self, request: PublishRequest) -> str:
        if request.media:
            raise PlatformRejectedError(self.platform, "media posts to X are not supported yet")
        body: dict = {"text": "\n\n".join(part for part in (request.text, request.link) if part)}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        response = call(self.platform, "POST", f"{self._base}/2/tweets", token_header=f"Bearer {request.token}",
                        timeout=self._timeout, json_body=body)
        if response.status != 201:
            raise x_error(response)
        return response.body["data"]["id"]


def x_error(response: HttpResponse) -> PlatformError:
    body = response.body if isinstance(response.body, dict) else {}
    message = body.get("detail") or body.get("title") or f"HTTP {response.status}"
    kwargs = {"status": response.status, "code": body.get("type"), "raw": body}
    if response.status == 401:
        return PlatformAuthError("x", message, **kwargs)
    if response.status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        return PlatformRateLimitedError("x", message, reset_at=float(reset) if reset else None, **kwargs)
    if response.status >= 500:
        return PlatformUnavailableError("x", message, **kwargs)
    return PlatformRejectedError("x", message, **kwargs)
