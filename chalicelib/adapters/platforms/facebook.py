"""Facebook Pages through the Graph API: text and link posts to /feed, a photo to /photos by a
short-lived link to the content bucket, a video by the resumable upload (session, bytes, /videos)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib.adapters.platforms.base import Media, PublishRequest
from chalicelib.adapters.platforms.graph_errors import facebook_error
from chalicelib.adapters.platforms.http import HttpResponse, call, download, same_text
from chalicelib.errors import PlatformAuthError, PlatformObjectsGoneError, PlatformRejectedError


class FacebookClient:
    platform = "facebook"

    def __init__(self, api_base: str, version: str, timeout: float, app_id: str | None = None) -> None:
        self._base = f"{api_base}/{version}"
        self._timeout = timeout
        self._app_id = app_id

    def publish(self, request: PublishRequest) -> str:
        videos = [m for m in request.media if m.is_video]
        images = [m for m in request.media if not m.is_video]
        if videos:
            return self._video(request, videos[0])
        if images:
            answer = self._post(request, f"{request.target_id}/photos",
                                {"url": images[0].url, "caption": _with_link(request.text, request.link)})
            return answer.body.get("post_id") or answer.body["id"]
        form = {"message": request.text or ""}
        if request.link:
            form["link"] = request.link
        return self._post(request, f"{request.target_id}/feed", form).body["id"]

    def _video(self, request: PublishRequest, video: Media) -> str:
        if not self._app_id:
            raise PlatformRejectedError(self.platform, "video needs the Facebook app id: set PRACHAR_FACEBOOK_APP_ID")
        data = download(self.platform, video.url, self._timeout)
        session = call(self.platform, "POST", f"{self._base}/{self._app_id}/uploads",
                       token_header=f"Bearer {request.token}", timeout=self._timeout,
                       query={"file_name": "video.mp4", "file_length": str(len(data)),
                              "file_type": video.content_type})
        _ok(session)
        uploaded = call(self.platform, "POST", f"{self._base}/{session.body['id']}",
                        token_header=f"OAuth {request.token}", timeout=self._timeout * 6, raw=data,
                        headers={"file_offset": "0", "Content-Type": "application/octet-stream"})
        _ok(uploaded)
        answer = self._post(request, f"{request.target_id}/videos", {
            "fbuploader_video_file_chunk": uploaded.body["h"], "title": (request.text or "")[:100],
            "description": _with_link(request.text, request.link)})
        return answer.body["id"]

    def _post(self, request: PublishRequest, path: str, form: dict[str, str]) -> HttpResponse:
        response = call(self.platform, "POST", f"{self._base}/{path}", token_header=f"Bearer {request.token}",
                        timeout=self._timeout, form=form)
        _ok(response)
        return response

    def find_published(self, request: PublishRequest, since: datetime, until: datetime | None = None) -> str | None:
        """Graph has no idempotency key: look at the page's own recent posts for this text. Not /feed, which also
        holds visitors' posts: a supporter who copied the text would make an unsent post look published."""
        text = request.text or ""
        if request.media:
            text = _with_link(request.text, request.link)
        response = call(self.platform, "GET", f"{self._base}/{request.target_id}/published_posts",
                        token_header=f"Bearer {request.token}", timeout=self._timeout,
                        query={"fields": "id,message,created_time,from", "since": str(int(since.timestamp())),
                               **({"until": str(int(until.timestamp()) + 1)} if until else {}), "limit": "100"})
        _ok(response)
        return next((p["id"] for p in response.body.get("data", [])
                     if str((p.get("from") or {}).get("id", request.target_id)) == request.target_id
                     and same_text(p.get("message", ""), text)), None)

    def metrics(self, token: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        """Reactions, comments and shares of up to 50 of the page's posts, in one call (Graph's multi-id read)."""
        response = call(self.platform, "GET", f"{self._base}/", token_header=f"Bearer {token}", timeout=self._timeout,
                        query={"ids": ",".join(post_ids[:MAX_IDS_PER_READ]),
                               "fields": "reactions.summary(total_count).limit(0),comments.summary(total_count)"
                                         ".limit(0),shares"})
        if response.status != 200 or "error" in response.body:
            error = facebook_error(response)
            said = response.body.get("error") if isinstance(response.body, dict) else None
            gone = _gone_ids(str(said.get("message", "")) if isinstance(said, dict) else "", post_ids)
            raise PlatformObjectsGoneError(self.platform, error.message, gone, status=response.status) if gone \
                else error
        return {post_id: {"reactions": _total(node.get("reactions")), "comments": _total(node.get("comments")),
                          "shares": int((node.get("shares") or {}).get("count", 0))}
                for post_id, node in response.body.items() if isinstance(node, dict)}

    def check_token(self, target_id: str, token: str) -> None:
        response = call(self.platform, "GET", f"{self._base}/me", token_header=f"Bearer {token}",
                        timeout=self._timeout, query={"fields": "id,name"})
        _ok(response)
        if str(response.body.get("id")) != target_id:
            raise PlatformAuthError(self.platform, f"the token belongs to {response.body.get('id')}, "
                                                   f"not page {target_id}")


MAX_IDS_PER_READ = 50  # Graph's limit on ids= in one request
# Graph refuses a whole multi-id read when one object is gone, naming it: "(#803) Some of the aliases you requested
# do not exist: 123_456,123_789".
_GONE = re.compile(r"\(#803\)[^:]*:\s*(.+)$")


def _gone_ids(message: str, asked: list[str]) -> list[str]:
    match = _GONE.search(message or "")
    named = {part.strip() for part in match.group(1).split(",")} if match else set()
    return [post_id for post_id in asked if post_id in named]


def _total(edge: Any) -> int:
    return int(((edge or {}).get("summary") or {}).get("total_count", 0))


def _ok(response: HttpResponse) -> None:
    if response.status != 200 or "error" in response.body:
        raise facebook_error(response)


def _with_link(text: str | None, link: str | None) -> str:
    return "\n\n".join(part for part in (text, link) if part)
