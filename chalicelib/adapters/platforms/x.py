"""X API v2: a post through POST /2/tweets with a user-context token."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.adapters.platforms.base import PublishRequest
from chalicelib.adapters.platforms.http import HttpResponse, call, same_text
from chalicelib.errors import (
    PlatformAuthError,
    PlatformDuplicateError,
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


    def find_published(self, request: PublishRequest, since: datetime) -> str | None:
        """X has no idempotency key either: look at the user's posts since the ambiguous call."""
        response = call(self.platform, "GET", f"{self._base}/2/users/{request.target_id}/tweets",
                        token_header=f"Bearer {request.token}", timeout=self._timeout,
                        query={"start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "max_results": "20", "tweet.fields": "created_at"})
        if response.status != 200:
            raise x_error(response)
        text = "\n\n".join(part for part in (request.text, request.link) if part)
        return next((t["id"] for t in response.body.get("data", []) if same_text(t.get("text", ""), text)), None)

    def check_token(self, target_id: str, token: str) -> None:
        response = call(self.platform, "GET", f"{self._base}/2/users/me", token_header=f"Bearer {token}",
                        timeout=self._timeout)
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
