"""WhatsApp Business Cloud API: one message to one recipient — text, an image by link, or a template."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.platforms.base import CannotCheck, PublishRequest
from chalicelib.adapters.platforms.graph_errors import whatsapp_error, whatsapp_send_error
from chalicelib.adapters.platforms.http import call
from chalicelib.errors import PlatformRejectedError


class WhatsAppClient:
    platform = "whatsapp"

    def __init__(self, api_base: str, version: str, timeout: float) -> None:
        self._base = f"{api_base}/{version}"
        self._timeout = timeout

    def publish(self, request: PublishRequest) -> str:
        if not request.recipient:
            raise PlatformRejectedError(self.platform, "a WhatsApp message needs a recipient")
        message: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                   "to": request.recipient}
        message.update(_content(request))
        if request.reference:
            message["biz_opaque_callback_data"] = request.reference
        response = call(self.platform, "POST", f"{self._base}/{request.target_id}/messages",
                        token_header=f"Bearer {request.token}", timeout=self._timeout, json_body=message)
        if response.status != 200 or "error" in response.body:
            raise whatsapp_send_error(response)
        return response.body["messages"][0]["id"]


    def find_published(self, request: PublishRequest, since: datetime, until: datetime | None = None) -> str | None:
        raise CannotCheck("the WhatsApp Cloud API cannot look a sent message up; only its status webhook "
                          "(sent/delivered/failed) can tell")

    def check_token(self, target_id: str, token: str) -> None:
        response = call(self.platform, "GET", f"{self._base}/{target_id}", token_header=f"Bearer {token}",
                        timeout=self._timeout, query={"fields": "id,verified_name,quality_rating"})
        if response.status != 200 or "error" in response.body:
            raise whatsapp_error(response)


def _content(request: PublishRequest) -> dict[str, Any]:
    if request.template:
        parameters = [{"type": "text", "text": p} for p in request.template.get("params", [])]
        template: dict[str, Any] = {"name": request.template["name"],
                                    "language": {"code": request.template.get("language", "hi")}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {"type": "template", "template": template}
    body = "\n\n".join(part for part in (request.text, request.link) if part)
    if request.media:
        first = request.media[0]
        kind = "video" if first.is_video else "image"
        return {"type": kind, kind: {"link": first.url, "caption": body}}
    return {"type": "text", "text": {"body": body, "preview_url": bool(request.link)}}
