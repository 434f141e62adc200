"""A coordinator's word on a call nothing else can settle: did the message (or post) in doubt go out?

WhatsApp cannot be asked about a message; if its status webhook never comes, the post waits for a person. So does a
Facebook or X post whose look-ups failed. The coordinator checks the phone or the account and answers: it went out
(recorded as delivered, never sent again; the rest of the kit or thread goes on) or it did not (sent again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain.post import PostStatus
from chalicelib.domain.times import ist_text
from chalicelib.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.services.activity import ActivityLog
from chalicelib.services.ambiguity import LOOKUP_PLATFORMS

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Member

CONFIRMED_MARK = "confirmed-by:"  # a delivery a person confirmed, with no platform id to show for it


@dataclass
class Settlement:
    store: Store
    activity: ActivityLog
    clock: Clock

    def settle(self, content_id: str, account_id: str, member: Member, went_out: bool,
               platform_id: str | None = None) -> dict[str, Any]:
        if member.role != "coordinator":
            raise Forbidden(f"only a coordinator may settle a post in doubt; {member.id} is a {member.role}")
        post = self.store.post(content_id, account_id)
        if post is None:
            raise NotFound(f"no post {content_id}.{account_id}")
        if post.status is not PostStatus.AMBIGUOUS or post.pending_delivery is None:
            raise Conflict(f"{post.post_id} has nothing in doubt to settle: it is {post.status}")
        if post.platform in LOOKUP_PLATFORMS and post.wake_at is not None:
            # Looking never sends; a person's "it did not go out" would send it blind while the platform can tell.
            raise Conflict(f"{post.post_id} will be looked up on {post.platform} at {ist_text(post.wake_at)}; "
                           "settle it only if that look-up cannot tell")
        delivery = post.pending_delivery
        if went_out and post.platform == "x" and not platform_id:
            # The next part of the thread replies to this one: without its id the thread would break.
            raise BadRequest(f"say which post it is: {{\"platform_id\": \"<the id of {delivery} on X>\"}}")
        now = self.clock.now()
        outcome = (platform_id or f"{CONFIRMED_MARK}{member.id}") if went_out else None
        verdict = "went out" if went_out else "did not go out and is sent again"
        if not self.store.settle_pending_delivery(content_id, account_id, delivery, outcome, now,
                                                  reason=f"{member.id}: {delivery} {verdict}"):
            raise Conflict(f"{post.post_id} changed while you decided (a status came meanwhile); look again")
        self.activity.record("post.settled", post.scope, f"{account_id}: {member.id} settled {delivery}: it {verdict}",
                             level="warning", content_id=content_id, account_id=account_id,
                             details={"delivery": delivery, "went_out": went_out, "platform_id": platform_id,
                                      "by": member.id})
        return {"post_id": post.post_id, "delivery": delivery, "went_out": went_out, "status": str(PostStatus.QUEUED)}
