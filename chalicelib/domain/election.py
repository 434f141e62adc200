"""The election calendar as rules: silence before each poll, and the end of a constituency's campaign.

Section 126 RPA 1951: no election matter in the polling area in the `silence_hours` ending with the close of
poll. What reaches a constituency's polling area: its own accounts, its district's accounts (in a
by-election the code of conduct covers the whole district), and state accounts unless a coordinator
cleared the post. After the poll closes nothing more is published for that constituency.
Windows are half-open, exact to the second: silent from silence_starts (inclusive) to poll_closes
(exclusive); at poll_closes the constituency's campaign is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from chalicelib.domain.scope import Scope
from chalicelib.domain.times import IST, ist_text

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Constituency


class Action(StrEnum):
    PUBLISH = "publish"
    HOLD = "hold"          # silence: wait until `until`, then look again
    CANCEL = "cancel"      # the constituency's poll has closed


@dataclass(frozen=True)
class Verdict:
    action: Action
    until: datetime | None = None
    reason: str = ""


def reached_constituencies(account_scope: str, campaign: Campaign, *, cleared: bool = False) -> list[Constituency]:
    scope = Scope.parse(account_scope)
    if scope.level == "constituency":
        return [c for c in campaign.constituencies if c.id == scope.id]
    if scope.level == "district":
        return [c for c in campaign.constituencies if c.district == scope.id]
    return [] if cleared else list(campaign.constituencies)


def verdict(account_scope: str, campaign: Campaign, now: datetime, *, cleared: bool = False) -> Verdict:
    scope = Scope.parse(account_scope)
    reached = reached_constituencies(account_scope, campaign, cleared=cleared)
    if scope.level == "constituency" and reached and now >= reached[0].poll_closes:
        closed = reached[0]
        return Verdict(Action.CANCEL, reason=f"the poll in {closed.name} closed at {ist_text(closed.poll_closes)}; "
                                             "its campaign is over")
    silent = [c for c in reached if c.silence_starts <= now < c.poll_closes]
    if not silent:
        return Verdict(Action.PUBLISH)
    until = max(c.poll_closes for c in silent)
    names = ", ".join(f"{c.name} ({ist_text(c.silence_starts)} – {ist_text(c.poll_closes)})" for c in silent)
    why = {"constituency": "it is the constituency's account",
           "district": "district accounts reach every polling area of the district",
           "state": "state accounts reach every polling area; a coordinator can clear a post"}[scope.level]
    return Verdict(Action.HOLD, until=until, reason=f"election silence in {names}: {why}")


def open_on(account_scope: str, campaign: Campaign, day: date) -> bool:
    """Whether the scope's accounts may publish at some moment of `day` (IST): not the whole day inside the
    election silences that reach them, nor after their campaign is over (for a district or the state: after the last
    poll they reach). A team is asked to fill only such days — a post due in a silence can only be held."""
    reached = reached_constituencies(account_scope, campaign)
    if not reached:
        return True
    blocked = [(c.silence_starts, c.poll_closes) for c in reached]
    blocked.append((max(c.poll_closes for c in reached), datetime.max.replace(tzinfo=IST)))
    moment = datetime.combine(day, time.min, tzinfo=IST)
    end = moment + timedelta(days=1)
    for starts, until in sorted(blocked):
        if starts > moment:
            break
        moment = max(moment, until)
        if moment >= end:
            return False
    return True

