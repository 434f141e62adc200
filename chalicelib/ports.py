"""What the services need from storage, the queue, the bucket and the secrets — as Protocols, so each can be the
real adapter (adapters/store.py, publish_queue.py, bucket.py, secrets.py) or its in-memory twin (adapters/memory.py).

Each method is one a service calls; the two implementations are held to the same behaviour, conditional writes
included, by tests/contract/test_store_contract.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from chalicelib.domain.account_state import AccountState
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.records import ActiveCampaign, ActivityEntry, ContentRecord, Placement

if TYPE_CHECKING:
    from chalicelib.adapters.bucket import Upload


@runtime_checkable
class CampaignRecords(Protocol):
    def active_campaign(self) -> ActiveCampaign | None: ...

    def activate_campaign(self, campaign: ActiveCampaign) -> None: ...


@runtime_checkable
class ContentRecords(Protocol):
    """Uploaded content and its approval, each write conditional on the revision the writer read."""

    def content(self, content_id: str) -> ContentRecord | None: ...

    def save_content(self, record: ContentRecord, previous_revision: int | None) -> bool: ...

    def decide(self, content_id: str, revision: int, decision: dict[str, Any]) -> bool: ...

    def content_with_posts(self, content_id: str) -> tuple[ContentRecord | None, list[Post]]: ...


@runtime_checkable
class PostRecords(Protocol):
    """Posts, every state change a conditional move, and the deliveries each one made."""

    def post(self, content_id: str, account_id: str) -> Post | None: ...

    def place_post(self, post: Post, replaceable: Iterable[PostStatus]) -> Placement: ...

    def move_post(self, content_id: str, account_id: str, *, expected: Iterable[PostStatus],
                  status: PostStatus, now: datetime, wake_at: datetime | None = None,
                  fields: dict[str, Any] | None = None, claim: str | None = None,
                  increment_attempts: bool = False, expected_wake_at: str | None = None,
                  expected_revision: int | None = None) -> bool: ...

    def claim_post(self, content_id: str, account_id: str, claim: str, now: datetime, wake_at: datetime,
                   revision: int) -> Post | None: ...

    def wake_now(self, content_id: str, account_id: str, status: PostStatus, now: datetime) -> bool: ...

    def wake_due(self, now: datetime, limit: int) -> list[tuple[str, str, PostStatus, str]]: ...

    def next_wake_at(self) -> datetime | None: ...

    def posts_in_scope(self, scope: str, *, due_from: datetime | None = None,
                       due_before: datetime | None = None) -> Iterator[Post]: ...

    def begin_delivery(self, content_id: str, account_id: str, delivery_key: str, claim: str) -> bool: ...

    def record_delivery(self, content_id: str, account_id: str, delivery_key: str, platform_id: str,
                        claim: str, revision: int) -> bool: ...

    def settle_pending_delivery(self, content_id: str, account_id: str, delivery_key: str, outcome: str | None,
                                now: datetime) -> bool: ...

    def record_in_flight_delivery(self, content_id: str, account_id: str, delivery_key: str,
                                  message_id: str) -> bool: ...

    def reopen_delivery(self, content_id: str, account_id: str, delivery_key: str, message_id: str, now: datetime,
                        reason: str, waiting: Iterable[PostStatus]) -> str: ...

    def note_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                            now: datetime) -> bool: ...

    def advance_message_status(self, message_id: str, status: str, rank: int, reference: str | None,
                               now: datetime) -> int | None: ...

    def count_reach(self, content_id: str, account_id: str, stages: list[str]) -> bool: ...

    def reach(self, content_id: str, account_id: str) -> dict[str, int]: ...

    def record_metrics(self, content_id: str, account_id: str, metrics: dict[str, int], now: datetime) -> bool: ...

    def message_status(self, message_id: str) -> str | None: ...


@runtime_checkable
class AccountStates(Protocol):
    def account_state(self, account_id: str) -> AccountState: ...

    def throttle_account(self, account_id: str, until: datetime, reason: str, now: datetime) -> bool: ...

    def mark_account_unhealthy(self, account_id: str, reason: str, now: datetime) -> bool: ...

    def mark_account_healthy(self, account_id: str, now: datetime) -> bool: ...

    def reserve_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool: ...

    def free_recipient(self, account_id: str, recipient: str, now: datetime, spacing: timedelta) -> bool: ...


@runtime_checkable
class ActivityRecords(Protocol):
    def add_activity(self, entry: ActivityEntry) -> ActivityEntry: ...

    def activity_on(self, day: date, *, scope_prefix: str | None = None, scopes: Collection[str] | None = None,
                    after: str | None = None, limit: int = 200, newest_first: bool = True) -> list[ActivityEntry]: ...


@runtime_checkable
class CampaignControls(Protocol):
    """The kill switch, closed polls, series cursors and the posts each calendar file made."""

    def pause(self, key: str, by: str, reason: str, now: datetime, *, replacing: str | None = None) -> bool: ...

    def resume(self, key: str, *, paused_by: str | None = None) -> bool: ...

    def pauses(self) -> dict[str, dict[str, Any]]: ...

    def bind_members(self, subs: dict[str, str], now: datetime) -> None: ...

    def member_subs(self) -> dict[str, str]: ...

    def poll_closed(self, constituency_id: str) -> bool: ...

    def mark_poll_closed(self, constituency_id: str, now: datetime) -> None: ...

    def series_cursor(self, scope: str, series: str) -> datetime | None: ...

    def take_series_slot(self, scope: str, series: str, previous: datetime | None, slot: datetime) -> bool: ...

    def calendar_rows(self, key: str) -> list[str]: ...

    def remember_calendar_rows(self, key: str, content_ids: list[str]) -> None: ...


@runtime_checkable
class StorePort(CampaignRecords, ContentRecords, PostRecords, AccountStates, ActivityRecords, CampaignControls,
                Protocol):
    """Everything the services ask of the one table (they take a single store)."""


@runtime_checkable
class PublishQueuePort(Protocol):
    def send(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def delay(self, receipt_handle: str, seconds: int) -> None: ...


@runtime_checkable
class BucketPort(Protocol):
    def read(self, key: str, max_bytes: int, *, etag: str | None = None) -> Upload | None: ...

    def size_of(self, key: str) -> int | None: ...

    def write_error_report(self, key: str, report: dict[str, Any]) -> str: ...

    def write_report(self, key: str, body: bytes, content_type: str) -> None: ...

    def clear_error_report(self, key: str) -> None: ...

    def media_url(self, key: str, expires_seconds: int = 3600) -> str: ...


@runtime_checkable
class SecretsPort(Protocol):
    def token(self, name: str) -> str: ...
