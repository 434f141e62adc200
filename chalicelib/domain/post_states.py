"""The post state machine, as data: every move a post can make, who makes it, whether it needs the worker's
claim, and which fields it may set. The store refuses any status change that is not in this table, and
docs/post-states.md shows the same table (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.domain.post import ON_ITS_WAY, REPLACEABLE, UNFINISHED, PostStatus

S = PostStatus
HELD = (S.HELD_THROTTLED, S.HELD_ACCOUNT, S.HELD_SILENCE, S.PAUSED)
GATES = (*HELD, S.CANCELLED_CAMPAIGN_OVER)


@dataclass(frozen=True)
class Move:
    name: str
    sources: frozenset[PostStatus | None]  # None: the post does not exist yet
    targets: frozenset[PostStatus]
    by: str
    needs_claim: bool = False
    sets: frozenset[str] = frozenset()


def _move(name: str, sources: Iterable[PostStatus | None], targets: Iterable[PostStatus], by: str, *,
          needs_claim: bool = False, sets: Iterable[str] = ()) -> Move:
    return Move(name, frozenset(sources), frozenset(targets), by, needs_claim, frozenset(sets))


MOVES = (
    _move("place", (None, *REPLACEABLE), (S.PENDING_APPROVAL, S.SCHEDULED), "an upload (new or changed bytes)"),
    _move("approve", (S.PENDING_APPROVAL,), (S.SCHEDULED,), "an approver, for the revision they saw",
          sets=("reason",)),
    _move("reject", REPLACEABLE, (S.REJECTED,), "an approver, with a reason", sets=("reason",)),
    _move("expire", (S.PENDING_APPROVAL,), (S.EXPIRED,), "the clock, at the sign-off deadline", sets=("reason",)),
    _move("withdraw", REPLACEABLE, (S.WITHDRAWN,), "a re-upload that no longer targets the account",
          sets=("reason",)),
    _move("clear for silence", REPLACEABLE, REPLACEABLE, "a coordinator (state posts)",
          sets=("silence_cleared",)),
    _move("queue", (S.SCHEDULED, *HELD, S.AMBIGUOUS), (S.QUEUED,), "the clock, when due or the wait is over",
          sets=("queued_at",)),
    _move("requeue", (S.QUEUED,), (S.QUEUED,), "the clock, when the message seems lost (on the wake time read)"),
    _move("wake", (S.PAUSED,), (S.PAUSED,), "a resume (at once)"),
    _move("stop at a gate", (S.QUEUED,), (*GATES, S.FAILED), "the publisher, before any call",
          sets=("reason", "claim", "pending_delivery", "held_by_silence", "held")),
    _move("claim", (S.QUEUED,), (S.PUBLISHING,), "the publisher, for the revision it read",
          sets=("claim", "claimed_at")),
    _move("publish", (S.PUBLISHING,), (S.PUBLISHED,), "the worker holding the claim", needs_claim=True,
          sets=("platform_post_id", "published_at", "claim", "check_first", "pending_delivery", "ambiguous_since",
                "ambiguous_until", "doubts", "reason")),
    _move("fail", (S.PUBLISHING,), (S.FAILED,), "the worker holding the claim", needs_claim=True,
          sets=("reason", "claim", "pending_delivery", "doubts")),
    _move("release", (S.PUBLISHING,), (S.QUEUED,), "the worker (retryable failure) or the clock (a worker that "
          "died between WhatsApp messages)", needs_claim=True,
          sets=("reason", "claim", "pending_delivery", "check_first", "ambiguous_since", "ambiguous_until")),
    _move("pace", (S.PUBLISHING,), (S.QUEUED,), "the worker, when a WhatsApp recipient had a message from the account "
          "seconds ago (the pair rate): not an attempt", needs_claim=True,
          sets=("reason", "claim", "pending_delivery", "attempts")),
    _move("hold", (S.PUBLISHING,), GATES, "the worker holding the claim (a pause seen once the post is claimed, a "
          "gate between calls, a throttle, a refused token); a pause gives the claim's attempt back",
          needs_claim=True, sets=("reason", "claim", "pending_delivery", "held_by_silence", "held", "attempts")),
    _move("in doubt", (S.PUBLISHING,), (S.AMBIGUOUS,), "the worker (a call that may have landed) or the clock "
          "(a claim past its timeout)", needs_claim=True,
          sets=("reason", "claim", "check_first", "pending_delivery", "ambiguous_since", "ambiguous_until")),
    _move("settle", (S.AMBIGUOUS,), (S.QUEUED,), "WhatsApp's status webhook for the message in doubt, or a "
          "coordinator's decision"),
    _move("escalate", (S.AMBIGUOUS,), (S.AMBIGUOUS,), "the clock, when no status came for a WhatsApp message in "
          "doubt: a coordinator is alerted", sets=("reason",)),
    _move("reopen", (S.PUBLISHED,), (S.QUEUED,), "WhatsApp's `failed` status with a passing reason"),
    _move("close poll", UNFINISHED, (S.CANCELLED_CAMPAIGN_OVER,), "the campaign closer, after the poll closes",
          sets=("reason",)),
)


class IllegalMove(ValueError):
    """A status change the state machine does not allow: a bug in the caller, never a user's mistake."""


def move_for(sources: Iterable[PostStatus | None], target: PostStatus, *, claimed: bool,
             fields: Iterable[str] = ()) -> Move:
    """The move that takes a post from any of `sources` to `target`, or IllegalMove."""
    sources, fields = frozenset(sources), frozenset(fields)
    for move in MOVES:
        if (target in move.targets and sources <= move.sources and (claimed or not move.needs_claim)
                and fields <= move.sets):
            return move
    raise IllegalMove(f"no move takes a post from {sorted(map(str, sources))} to {target}"
                      f"{' under a claim' if claimed else ''} setting {sorted(fields) or 'nothing else'}")


def on_its_way(status: PostStatus, *, wakes: bool) -> bool:
    """Whether a post in `status` is on its way out — late once its due time has passed, what PublishingLag measures.
    Not one held on purpose (a sign-off, a pause, a silence, a throttle, a held account), nor one in doubt that
    nothing will wake (no look-up, no status to wait for): a coordinator has been alerted to decide, by its own
    alarm. (The clock leaves out, for the run that does it, the posts it queues out of a hold: see Dispatcher.)"""
    return status in ON_ITS_WAY and (wakes or status is not S.AMBIGUOUS)


def moves_table() -> str:
    """The table in docs/post-states.md, from the same data."""
    def states(values: Iterable[PostStatus | None]) -> str:
        return ", ".join("(new)" if v is None else f"`{v}`" for v in sorted(values, key=lambda v: str(v or "")))

    rows = ["| move | from | to | by | claim | also sets |", "|---|---|---|---|---|---|"]
    for move in MOVES:
        rows.append(f"| {move.name} | {states(move.sources)} | {states(move.targets)} | {move.by} | "
                    f"{'yes' if move.needs_claim else ''} | {', '.join(f'`{f}`' for f in sorted(move.sets))} |")
    return "\n".join(rows)
