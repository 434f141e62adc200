"""Daily series: each item of a series (`series:` with no `publish_at`) takes the series' next free slot.

A scope publishes a series at its daily slots (IST, from `daily_slots` in the config: per scope, per
level, or the default). Slots inside an election silence that reaches the scope are skipped; once the
scope's campaign is over (its constituency's poll has closed) the series has no more slots.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain import election
from chalicelib.domain.times import IST

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign

DEFAULT_SLOTS = ("09:00",)
HORIZON_DAYS = 400


def slots_for(scope: str, campaign: Campaign) -> list[time]:
    configured = campaign.daily_slots.get(scope) or campaign.daily_slots.get(scope.split("/")[0]) or DEFAULT_SLOTS
    return sorted(time.fromisoformat(slot) for slot in configured)


def next_slot(after: datetime, scope: str, campaign: Campaign) -> datetime | None:
    """The first slot strictly after `after` at which the scope may publish, or None if its campaign ends first."""
    slots = slots_for(scope, campaign)
    day = after.astimezone(IST).date()
    for _ in range(HORIZON_DAYS):
        for slot in slots:
            moment = datetime.combine(day, slot, tzinfo=IST)
            if moment <= after:
                continue
            ruling = election.verdict(scope, campaign, moment)
            if ruling.action is election.Action.CANCEL:
                return None
            if ruling.action is election.Action.PUBLISH:
                return moment
        day += timedelta(days=1)
    return None
