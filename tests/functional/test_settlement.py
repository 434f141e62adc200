"""A call in doubt that nothing else can settle: the clock alerts a coordinator, who answers through the API."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chalicelib.domain.post import PostStatus
from tests.functional.test_exactly_once import recipients
from tests.functional.test_failure_classes import accepted, post_of, run_clock, schedule
from tests.functional.test_review_findings import NeverReachedMeta

MEMBER_1, MEMBER_2 = "919000000101", "919000000102"


def stuck_kit(world, client):
    key = schedule(world, client, "whatsapp")
    publisher = world.container.publisher
    real = publisher.platforms["whatsapp"]
    publisher.platforms["whatsapp"] = NeverReachedMeta(real, lambda calls, request: None)
    run_clock(world, client, "2021-03-05T09:00:00+05:30")
    publisher.platforms["whatsapp"] = real
    post = post_of(world, key, "whatsapp")
    assert (post.status, post.pending_delivery) == (PostStatus.AMBIGUOUS, "sahada-01")
    return key, post


def settle(client, content_id, member="state-01", **body):
    return client.http.post(f"/api/posts/{content_id}/settle", body=json.dumps(body), member=member)


def activity(world):
    return [e for e in world.container.store.activity_on(date(2021, 3, 5))]


def alerts(world):
    return [e for e in activity(world) if e.kind == "post.needs_decision"]


def test_a_whatsapp_message_with_no_status_alerts_a_coordinator_once(active, client):
    key, post = stuck_kit(active, client)
    run_clock(active, client, "2021-03-05T09:20:00+05:30")
    assert not alerts(active), "the status may still come"
    run_clock(active, client, "2021-03-05T09:31:00+05:30")
    run_clock(active, client, "2021-03-05T10:31:00+05:30")
    [alert] = alerts(active)
    assert alert.level == "error" and f"/api/posts/{post.content_id}/settle" in alert.message
    stuck = post_of(active, key, "whatsapp")
    assert stuck.status is PostStatus.AMBIGUOUS and stuck.wake_at is None
    assert accepted(active, "whatsapp") == [], "nothing is re-sent on a guess"


def test_a_coordinator_who_says_it_did_not_go_out_gets_it_sent_to_that_member_and_the_rest(active, client):
    key, post = stuck_kit(active, client)
    answer = settle(client, post.content_id, account_id="wa-sahada", went_out=False)
    assert answer.status_code == 200, answer.body
    run_clock(active, client, "2021-03-05T09:05:00+05:30")
    run_clock(active, client, "2021-03-05T09:06:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    assert recipients(active) == {MEMBER_1: 1, MEMBER_2: 1}
    assert any(e.kind == "post.settled" and "state-01" in e.message for e in activity(active))


def test_a_coordinator_who_says_it_went_out_gets_only_the_rest_sent(active, client):
    key, post = stuck_kit(active, client)
    assert settle(client, post.content_id, account_id="wa-sahada", went_out=True).status_code == 200
    run_clock(active, client, "2021-03-05T09:05:00+05:30")
    settled = post_of(active, key, "whatsapp")
    assert settled.status is PostStatus.PUBLISHED
    assert settled.deliveries["sahada-01"] == "confirmed-by:state-01"
    assert recipients(active) == {MEMBER_2: 1}, "member 1 already had it, by the coordinator's word"


@pytest.mark.parametrize(("member", "body", "status"), [
    ("sahada-01", {"account_id": "wa-sahada", "went_out": True}, 403),   # a constituency member
    ("state-01", {"account_id": "wa-sahada"}, 400),                       # no decision
    ("state-01", {"account_id": "wa-sahada", "went_out": "yes"}, 400),    # not a boolean
    ("state-01", {"went_out": True}, 400),                                 # which account?
    ("state-01", {"account_id": "fb-sahada", "went_out": True}, 404),     # no such post
])
def test_a_settlement_that_is_not_allowed_or_not_clear_changes_nothing(active, client, member, body, status):
    key, post = stuck_kit(active, client)
    answer = settle(client, post.content_id, member=member, **body)
    assert answer.status_code == status, answer.body
    assert post_of(active, key, "whatsapp") == post


def test_a_post_with_nothing_in_doubt_cannot_be_settled(active, client):
    key = schedule(active, client, "whatsapp")
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    assert settle(client, post.content_id, account_id="wa-sahada", went_out=False).status_code == 409
    assert len(accepted(active, "whatsapp")) == 2
