"""Sign-off: approve or reject content (all its posts), and clear a state post to go out in a silence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain.approval import refusal
from chalicelib.domain.post import REPLACEABLE, Post, PostStatus
from chalicelib.domain.times import to_iso
from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.services.activity import ActivityLog

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign, Member


@dataclass
class Approvals:
    store: Store
    activity: ActivityLog
    clock: Clock
    # services/dispatch.Dispatcher.queue_now: an approved post that is due goes to the queue at once
    queue_now: Callable[[list[Post]], list[str]] | None = None

    def approve(self, content_id: str, member: Member, campaign: Campaign, revision: int,
                note: str = "", *, may_see: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """Approve the revision the approver saw — never wording uploaded after they looked. With `may_see` (the
        caller's scopes), content they cannot see answers as if it did not exist (see _content)."""
        content, posts = self._content(content_id, may_see)
        if not (content.approval or {}).get("needed"):
            states = ", ".join(sorted({str(p.status) for p in posts}))
            raise Conflict(f"{content.key} needs no approval: it is {states}")
        why_not = refusal(member, content.scope, campaign, content.manifest, content.uploaded_by)
        if why_not:
            raise Forbidden(why_not)
        if revision != content.revision:
            raise Conflict(f"{content.key} was uploaded again: you looked at revision {revision}, it is now revision "
                           f"{content.revision}; look at it again before you approve")
        waiting = [p for p in posts if p.status is PostStatus.PENDING_APPROVAL and p.revision == revision]
        if not waiting:
            raise Conflict(f"nothing of {content.key} revision {revision} is waiting for approval: "
                           f"{', '.join(f'{p.account_id} {p.status}' for p in posts)}")
        now = self.clock.now()
        if not self.store.decide(content_id, revision, {"needed": True, "status": "approved", "by": member.id,
                                                        "at": to_iso(now), "note": note, "revision": revision}):
            raise Conflict(f"{content.key} changed while you looked at it; look again")
        # Each post moves only if it still carries the approved revision: a re-upload racing this decision
        # keeps its new wording waiting for its own sign-off.
        approved = [p.account_id for p in waiting if self.store.move_post(
            p.content_id, p.account_id, expected=[PostStatus.PENDING_APPROVAL], status=PostStatus.SCHEDULED,
            now=now, wake_at=max(p.due_at, now), fields={"reason": f"approved by {member.id}"},
            expected_revision=revision)]
        if not approved:
            raise Conflict(f"{content.key} was uploaded again while you approved revision {revision}; look again")
        if self.queue_now is not None:  # "as soon as approved", or approved after its time: it goes now
            self.queue_now([replace(p, status=PostStatus.SCHEDULED, wake_at=max(p.due_at, now))
                            for p in waiting if p.account_id in approved])
        self.activity.record("post.approved", content.scope, f"{content.title}: revision {revision} approved by "
                             f"{member.name} ({member.id}) for {', '.join(approved)}" + (f" — {note}" if note else ""),
                             content_id=content_id, key=content.key,
                             details={"by": member.id, "accounts": approved, "revision": revision})
        return {"id": content_id, "approved_by": member.id, "accounts": approved, "revision": revision}

    def reject(self, content_id: str, member: Member, campaign: Campaign, reason: str, *,
               may_see: Callable[[str], bool] | None = None) -> dict[str, Any]:
        content, posts = self._content(content_id, may_see)
        why_not = refusal(member, content.scope, campaign, {**content.manifest, "paid": False, "overrides": {}},
                          content.uploaded_by)
        if why_not and why_not != "nobody approves their own content":
            raise Forbidden(why_not)
        now = self.clock.now()
        self.store.decide(content_id, content.revision, {"needed": True, "status": "rejected", "by": member.id,
                                                         "at": to_iso(now), "note": reason})
        rejected = [p.account_id for p in posts if p.status in REPLACEABLE and self.store.move_post(
            p.content_id, p.account_id, expected=[p.status], status=PostStatus.REJECTED, now=now,
            fields={"reason": f"rejected by {member.id}: {reason}"})]
        if not rejected:
            raise Conflict(f"nothing of {content.key} can be stopped any more: "
                           f"{', '.join(f'{p.account_id} {p.status}' for p in posts)}")
        self.activity.record("post.rejected", content.scope, f"{content.title}: rejected by {member.name} "
                             f"({member.id}): {reason}", level="warning", content_id=content_id, key=content.key,
                             details={"by": member.id, "accounts": rejected})
        return {"id": content_id, "rejected_by": member.id, "accounts": rejected, "reason": reason}

    def clear_silence(self, content_id: str, member: Member, revision: int, *,
                      may_see: Callable[[str], bool] | None = None) -> dict[str, Any]:
        """A coordinator clears a state post whose content does not reach the silent polling areas — the revision
        they read, never wording uploaded after they looked."""
        content, posts = self._content(content_id, may_see)  # first: another team's post is not found, as a GET
        if member.role != "coordinator":
            raise Forbidden(f"only a coordinator may clear a post for a silence; {member.id} is a {member.role}")
        if content.scope != "state":
            raise Forbidden("only state posts can be cleared: constituency and district accounts reach the "
                             "polling area itself")
        if revision != content.revision:
            raise Conflict(f"{content.key} was uploaded again: you looked at revision {revision}, it is now revision "
                           f"{content.revision}; look at it again before you clear it for the silence")
        now = self.clock.now()
        waiting = [p for p in posts if p.status in REPLACEABLE and p.revision == revision]
        # Each post is cleared only if it still carries the revision the coordinator read: a re-upload racing
        # this clearance keeps its new wording held in the silence.
        cleared = [p.account_id for p in waiting if self.store.move_post(
            p.content_id, p.account_id, expected=[p.status], status=p.status, now=now,
            wake_at=now if p.status is PostStatus.HELD_SILENCE else p.wake_at, fields={"silence_cleared": True},
            expected_revision=revision)]
        if waiting and not cleared:
            raise Conflict(f"{content.key} was uploaded again while you cleared revision {revision}; look again")
        self.activity.record("post.cleared", "state", f"{content.title}: revision {revision} cleared by {member.name} "
                             f"({member.id}) to go out during election silences", level="warning",
                             content_id=content_id, details={"by": member.id, "accounts": cleared,
                                                             "revision": revision})
        return {"id": content_id, "cleared_by": member.id, "accounts": cleared, "revision": revision}

    def _content(self, content_id: str, may_see: Callable[[str], bool] | None = None) -> tuple[Any, list]:
        """The content and its posts in one read. With `may_see`, another team's content answers as a GET does —
        not found (its id must not confirm it exists) — so the API need not read the content first to check."""
        content, posts = self.store.content_with_posts(content_id)
        if content is None or (may_see is not None and not may_see(content.scope)):
            raise NotFound(f"no post with id {content_id}" + (" in what you can see" if may_see is not None else ""))
        return content, posts
