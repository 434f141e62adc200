"""Facebook Pages through the Graph API: text and link posts to /feed, a photo to /photos."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.platforms.base import PublishRequest
from chalicelib.adapters.platforms.graph_errors import facebook_error
from chalicelib.adapters.platforms.http import call, same_text
from chalicelib.errors import PlatformAuthError, PlatformRejectedError


class FacebookClient:
    platform = "facebook"

    def __init__(self, api_base: str, version: str, timeout: float) -> None:
        self._base = f"{api_base}/{version}"
        self._timeout = timeout

    def publish(self, request: PublishRequest) -> str:
        images = [m for m in request.media if not m.is_video]
        if any(m.is_video for m in request.media):
            raise PlatformRejectedError(self.platform, "video posts to Facebook are not supported yet")
        if images:
            form = {"url": images[0].url, "caption": _with_link(request.text, request.link)}
            edge = "photos"
        else:
            form = {"message": request.text or ""}
            if request.link:
                form["link"] = request.link
            edge = "feed"
        response = call(self.platform, "POST", f"{self._base}/{request.target_id}/{edge}",
                        token_header=f"Bearer {request.token}", timeout=self._timeout, form=form)
        if response.status != 200 or "error" in response.body:
            raise facebook_error(response)
        return response.body.get("post_id") or response.body["id"]


    def find_published(self, request: PublishRequest, since: datetime) -> str | None:
        """Graph has no idempotency key: look at the page's recent posts for this text."""
        text = request.text or ""
        if any(not m.is_video for m in request.media):
            text = _with_link(request.text, request.link)
        response = call(self.platform, "GET", f"{self._base}/{request.target_id}/feed",
                        token_header=f"Bearer {request.token}", timeout=self._timeout,
                        query={"fields": "id,message,created_time", "since": str(int(since.timestamp())),
                               "limit": "50"})
        if response.status != 200 or "error" in response.body:
            raise facebook_error(response)
        return next((p["id"] for p in response.body.get("data", []) if same_text(p.get("message", ""), text)), None)

    def check_token(self, target_id: str, token: str) -> None:
        response = call(self.platform, "GET", f"{self._base}/me", token_header=f"Bearer {token}",
                        timeout=self._timeout, query={"fields": "id,name"})
        if response.status != 200 or "error" in response.body:
            raise facebook_error(response)
        if str(response.body.get("id")) != target_id:
            raise PlatformAuthError(self.platform, f"the token belongs to {response.body.get('id')}, "
                                                   f"not page {target_id}")


def _with_link(text: str | None, link: str | None) -> str:
    return "\n\n".join(part for part in (text, link) if part)
