"""The post state machine: the table every status change goes through, and its copy in the docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.post import PostStatus
from chalicelib.domain.post_states import MOVES, IllegalMove, move_for, moves_table, on_its_way

S = PostStatus

DOCS = Path(__file__).resolve().parents[2] / "docs" / "post-states.md"
FINAL = {PostStatus.FAILED, PostStatus.REJECTED, PostStatus.EXPIRED, PostStatus.WITHDRAWN,
         PostStatus.CANCELLED_CAMPAIGN_OVER}


def test_the_docs_show_the_table_the_code_enforces():
    assert moves_table() in DOCS.read_text(encoding="utf-8"), "regenerate the table in docs/post-states.md"


def test_every_state_is_reachable_and_documented():
    reached = {target for move in MOVES for target in move.targets}
    assert reached == set(PostStatus)
    docs = DOCS.read_text(encoding="utf-8")
    assert all(f"| `{status}` |" in docs for status in PostStatus)


def test_final_states_have_no_way_out():
    assert not [move.name for move in MOVES if move.sources & FINAL]


def test_published_is_left_only_for_a_member_whose_message_failed():
    assert [move.name for move in MOVES if PostStatus.PUBLISHED in move.sources] == ["reopen"]


@pytest.mark.parametrize("sources, target, claimed", [
    ([PostStatus.PUBLISHING], PostStatus.PUBLISHED, False),   # only the worker holding the claim publishes
    ([PostStatus.SCHEDULED], PostStatus.PUBLISHED, True),     # nothing is published without a claim first
    ([PostStatus.QUEUED], PostStatus.AMBIGUOUS, False),       # in doubt only after a call
    ([PostStatus.FAILED], PostStatus.QUEUED, False),
    ([PostStatus.PUBLISHING], PostStatus.PENDING_APPROVAL, True),
])
def test_moves_outside_the_table_are_refused(sources, target, claimed):
    with pytest.raises(IllegalMove):
        move_for(sources, target, claimed=claimed)


def test_a_move_may_set_only_its_own_fields():
    assert move_for([PostStatus.PUBLISHING], PostStatus.PUBLISHED, claimed=True,
                    fields=["platform_post_id", "published_at"]).name == "publish"
    with pytest.raises(IllegalMove):  # approving does not publish
        move_for([PostStatus.PENDING_APPROVAL], PostStatus.SCHEDULED, claimed=False, fields=["published_at"])


@pytest.mark.parametrize(("status", "wakes", "expected"), [
    (S.SCHEDULED, True, True),
    (S.QUEUED, True, True),
    (S.PUBLISHING, True, True),
    (S.AMBIGUOUS, True, True),        # a look-up, or WhatsApp's status, will settle it
    (S.AMBIGUOUS, False, False),      # nothing will: a coordinator has been alerted to decide
    (S.PENDING_APPROVAL, True, False),
    (S.PAUSED, True, False),
    (S.HELD_THROTTLED, True, False),
    (S.HELD_ACCOUNT, True, False),
    (S.HELD_SILENCE, True, False),
    (S.PUBLISHED, False, False),
    (S.FAILED, False, False),
])
def test_which_posts_are_on_their_way_out(status, wakes, expected):
    assert on_its_way(status, wakes=wakes) is expected
