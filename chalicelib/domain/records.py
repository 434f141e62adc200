"""What the store holds besides posts: content revisions, the active campaign, activity entries, and what
placing a post did. Plain records, no I/O: the DynamoDB store and the in-memory fake both return them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.post import Post
from chalicelib.domain.times import to_iso


@dataclass(frozen=True)
class ContentRecord:
    content_id: str
    key: str
    scope: str
    title: str
    revision: int
    sha256: str
    manifest: dict[str, Any]
    uploaded_at: datetime
    series: str | None = None
    uploaded_by: str | None = None          # the member who uploaded it, when the config maps principals
    approval: dict[str, Any] | None = None  # {"needed", "status": pending|approved|rejected, "by", "at", "note"}
    upload: str | None = None               # the upload that made this revision: its S3 version id (or ETag)


@dataclass(frozen=True)
class Placement:
    """What placing a post did: `placed` (created or given the new revision), and the post as it was."""

    placed: bool
    previous: Post | None


@dataclass(frozen=True)
class ActiveCampaign:
    document: dict[str, Any]
    version: str
    key: str
    activated_at: datetime


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    kind: str
    scope: str
    message: str
    level: str = "info"
    content_id: str | None = None
    account_id: str | None = None
    key: str | None = None
    details: dict[str, Any] | None = None
    entry_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.entry_id, "at": to_iso(self.at), "kind": self.kind, "level": self.level,
                "scope": self.scope, "message": self.message, "content_id": self.content_id,
                "account_id": self.account_id, "key": self.key, "details": self.details}
        return {k: v for k, v in data.items() if v is not None}
