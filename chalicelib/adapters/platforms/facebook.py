"""Facebook Pages through the Graph API: text and link posts to /feed, a photo to /photos."""

from __future__ import annotations

from chalicelib.adapters.platforms.base import PublishRequest
from chalicelib.adapters.platforms.graph_errors import graph_error
from chalicelib.adapters.platforms.http import call
from chalicelib.errors import PlatformRejectedError


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
            raise graph_error(self.platform, response)
        return response.body.get("post_id") or response.body["id"]


def _with_link(text: str | None, link: str | None) -> str:
    return "\n\n".join(part for part in (text, link) if part)
