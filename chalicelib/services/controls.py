"""The kill switch (pause and resume publishing, by coordinators and by leads inside their scope) and closing
polls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain.access import control_refusal
from chalicelib.domain.post import UNFINISHED, PostStatus
from chalicelib.domain.times import ist_text
from chalicelib.errors import Conflict, Forbidden
from chalicelib.services.activity import ActivityLog

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Member


@dataclass
class Controls:
    store: Store
    activity: ActivityLog
    clock: Clock

    def pause(self, campaign: Campaign, member: Member, scope: str, reason: str) -> dict[str, Any]:
        """Pause a scope and everything inside it; `state` pauses everything. Takes effect for every post
        not yet sent, including messages already on the queue (the publisher's claim checks the pause).
        A pause already there is replaced (a new reason) only by someone who could lift it: a lead's pause
        never overwrites a coordinator's."""
        _allowed(control_refusal(campaign, member, scope))
        current = self.store.pauses().get(scope)
        if current is not None:
            _allowed(control_refusal(campaign, member, scope, paused_by=str(current.get("by"))))
        if not self.store.pause(scope, member.id, reason, self.clock.now(),
                                replacing=str(current.get("by")) if current else None):
            raise Conflict(f"{scope} was paused by someone else a moment ago: look at /api/pauses and try again")
        self.activity.record("publishing.paused", scope, f"{member.name} ({member.id}) paused publishing for "
                             f"{_what(scope)}: {reason}", level="warning", details={"by": member.id})
        return {"paused": scope, "by": member.id, "reason": reason}

    def resume(self, campaign: Campaign, member: Member, scope: str) -> dict[str, Any]:
        _allowed(control_refusal(campaign, member, scope))
        paused = self.store.pauses().get(scope)
        paused_by = str(paused.get("by")) if paused else None
        _allowed(control_refusal(campaign, member, scope, paused_by=paused_by) if paused else None)
        # Lifted only if the pause checked is still the one there (a coordinator may have paused it meanwhile).
        existed = paused is not None and self.store.resume(scope, paused_by=paused_by)
        woken = self._wake_paused(campaign, scope) if existed else 0
        if existed:
            self.activity.record("publishing.resumed", scope, f"{member.name} ({member.id}) resumed publishing for "
                                 f"{_what(scope)}; {woken} paused post(s) go out now", details={"by": member.id})
        return {"resumed": scope, "was_paused": existed, "posts_released": woken}

    def _wake_paused(self, campaign: Campaign, scope: str) -> int:
        now, woken = self.clock.now(), 0
        for inner in sorted(campaign.scopes):
            if scope in campaign.enclosing(inner):
                for post in self.store.posts_in_scope(inner):
                    if post.status is PostStatus.PAUSED and self.store.wake_now(
                            post.content_id, post.account_id, PostStatus.PAUSED, now):
                        woken += 1
        return woken

    def close_polls(self, campaign: Campaign) -> dict[str, int]:
        """After a constituency's poll closes, its unpublished posts become cancelled_campaign_over."""
        now, cancelled = self.clock.now(), {}
        for constituency in campaign.constituencies:
            if now < constituency.poll_closes or self.store.poll_closed(constituency.id):
                continue
            scope = f"constituency/{constituency.id}"
            count = 0
            reason = f"the poll in {constituency.name} closed at {ist_text(constituency.poll_closes)}"
            for post in self.store.posts_in_scope(scope):
                if post.status in UNFINISHED and self.store.move_post(
                        post.content_id, post.account_id, expected=[post.status],
                        status=PostStatus.CANCELLED_CAMPAIGN_OVER, now=now, fields={"reason": reason}):
                    count += 1
            self.store.mark_poll_closed(constituency.id, now)
            self.activity.record("campaign.closed", scope, f"{reason}: its campaign is over; {count} unpublished "
                                 "post(s) cancelled")
            cancelled[constituency.id] = count
        return cancelled


def _allowed(refusal: str | None) -> None:
    if refusal is not None:
        raise Forbidden(refusal)


def _what(scope: str) -> str:
    return "everything" if scope == "state" else f"{scope} and everything in it"
