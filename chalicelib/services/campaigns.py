"""The active campaign, parsed once and kept for a short while (each Lambda asks on every event)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.domain.stored_campaign import read_campaign

if TYPE_CHECKING:
    from chalicelib.adapters.store import ActiveCampaign, Store
    from chalicelib.domain.campaign import Campaign

CACHE_SECONDS = 30.0


class CampaignSource:
    def __init__(self, store: Store, cache_seconds: float = CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, Campaign | None, str | None] | None = None

    def active(self) -> Campaign | None:
        if self._cached and self._monotonic() - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        record = self._store.active_campaign()
        # Validated when it was uploaded: read as stored, without loading pydantic (domain/stored_campaign.py).
        campaign = read_campaign(record.document) if record else None
        self._cached = (self._monotonic(), campaign, record.version if record else None)
        return campaign

    def activate(self, record: ActiveCampaign, campaign: Campaign) -> None:
        self._store.activate_campaign(record)
        self._cached = (self._monotonic(), campaign, record.version)

    def active_version(self) -> str | None:
        record = self._store.active_campaign()
        return record.version if record else None
