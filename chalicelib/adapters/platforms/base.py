"""What every platform adapter takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


@dataclass(frozen=True)
class Delivery:
    """One platform call of a post: the page/timeline itself, or one WhatsApp recipient."""

    key: str
    recipient: str | None = None
    text: str | None = None       # this call's own text (one part of an X thread)
    reply_to_key: str | None = None  # the delivery whose platform id this one replies to
    media: tuple[Media, ...] = ()  # what this call attaches: a thread's media go with its first part only


@dataclass(frozen=True)
class PublishRequest:
    target_id: str          # page id, user id or phone number id
    token: str
    text: str | None
    link: str | None = None
    media: list[Media] = field(default_factory=list)
    template: dict[str, Any] | None = None
    recipient: str | None = None
    reply_to: str | None = None
    reference: str | None = None  # ours, echoed back by the platform's status webhooks where it has them


class CannotCheck(Exception):
    """The platform offers no way to look a sent item up (WhatsApp messages): a person must decide."""


class PlatformClient(Protocol):
    platform: str

    def publish(self, request: PublishRequest) -> str:
        """Send one delivery; return the platform's id for it, or raise a PlatformError."""
        ...

    def find_published(self, request: PublishRequest, since: datetime, until: datetime | None = None) -> str | None:
        """After an ambiguous call: the id of this delivery if it is on the platform already, else None."""
        ...
