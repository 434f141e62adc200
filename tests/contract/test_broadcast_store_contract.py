"""The broadcast store's contract: the DynamoDB store (on the emulator) and the in-memory one behave alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.broadcast_store import BroadcastStore
from chalicelib.adapters.memory_broadcast import InMemoryBroadcasts
from chalicelib.domain.broadcast import rollup

NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
META = {"id": "c1.wa-sahada", "content_id": "c1", "account_id": "wa-sahada", "scope": "constituency/sahada",
        "constituencies": ["sahada"], "template": {"name": "budget_update", "params": ["a", "b"]}, "title": "t",
        "started_at": "2021-03-03T03:30:00Z"}
D1, D2 = "a" * 64, "b" * 64


@pytest.fixture(params=["dynamodb", "memory"])
def broadcasts(request: pytest.FixtureRequest):
    if request.param == "dynamodb":
        request.getfixturevalue("world")
        return BroadcastStore(aws.client("dynamodb"), "prachar-test", sleep=lambda _: None)
    return InMemoryBroadcasts()


def test_a_broadcast_is_begun_once_and_listed_with_its_rollup(broadcasts):
    assert broadcasts.start(META) and not broadcasts.start(META)
    assert broadcasts.broadcast(META["id"])["template"] == META["template"]
    [listed] = broadcasts.broadcasts_since(NOW - timedelta(hours=1))
    assert listed["id"] == META["id"] and "rollup" not in listed
    broadcasts.save_rollup(META, {"contacts": 2, "sent": 1}, NOW)
    assert broadcasts.broadcasts_since(NOW - timedelta(hours=1))[0]["rollup"] == {"contacts": 2, "sent": 1}
    assert broadcasts.broadcasts_since(NOW + timedelta(hours=1)) == []


def test_a_contact_is_claimed_once_and_again_only_for_a_retry_with_attempts_left(broadcasts):
    assert broadcasts.claim("b", D1, "sahada", NOW, 2)
    assert not broadcasts.claim("b", D1, "sahada", NOW, 2), "taken"
    assert broadcasts.settle("b", D1, "retry", 0, NOW, reason="5xx")
    assert broadcasts.claim("b", D1, "sahada", NOW, 2), "a retry with an attempt left"
    assert broadcasts.settle("b", D1, "retry", 0, NOW, reason="5xx")
    assert not broadcasts.claim("b", D1, "sahada", NOW, 2), "no attempts left"
    assert broadcasts.claim("b", D2, "sahada", NOW, 2)
    assert broadcasts.settle("b", D2, "retry", 0, NOW, reason="pair rate", uncount=True)
    assert broadcasts.record("b", D2)["attempts"] == 0, "a wait is not an attempt"


def test_only_one_of_many_racing_publishers_claims_a_contact(broadcasts):
    won = []
    threads = [threading.Thread(target=lambda: won.append(broadcasts.claim("b", D1, "sahada", NOW, 5)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count(True) == 1


def test_statuses_move_a_message_on_and_never_back(broadcasts):
    broadcasts.claim("b", D1, "sahada", NOW, 5)
    assert broadcasts.advance("b", D1, "delivered", 2, NOW, wamid="wamid.1"), "the webhook came first"
    assert not broadcasts.settle("b", D1, "sent", 1, NOW, wamid="wamid.1"), "our call's answer says less"
    assert not broadcasts.advance("b", D1, "sent", 1, NOW), "a late sent"
    assert broadcasts.advance("b", D1, "read", 3, NOW)
    assert broadcasts.record("b", D1)["status"] == "read"
    assert not broadcasts.advance("b", D2, "sent", 1, NOW), "no record, nothing made up"
    assert broadcasts.reopen("b", D1, "131000", NOW) and broadcasts.record("b", D1)["status"] == "retry"
    assert not broadcasts.reopen("b", D1, "131000", NOW), "once per failure"
    assert rollup(broadcasts.records("b")).waiting == 1


def test_sending_times_are_shared_and_never_closer_than_asked(broadcasts):
    every = timedelta(milliseconds=10)
    first = broadcasts.reserve_sends("wa", 50, every, NOW)
    second = broadcasts.reserve_sends("wa", 10, every, NOW)
    assert first == NOW and second == NOW + timedelta(milliseconds=500)
    later = NOW + timedelta(seconds=5)
    assert broadcasts.reserve_sends("wa", 1, every, later) == later, "an idle number starts now"
    assert broadcasts.reserve_sends("other", 1, every, NOW) == NOW, "each number its own"


def test_the_messaging_limit_counts_a_rolling_day(broadcasts):
    assert broadcasts.take_messaging_room("wa", 6, 10, NOW)
    assert not broadcasts.take_messaging_room("wa", 5, 10, NOW + timedelta(hours=3))
    assert broadcasts.take_messaging_room("wa", 4, 10, NOW + timedelta(hours=3))
    assert broadcasts.take_messaging_room("wa", 6, 10, NOW + timedelta(hours=24)), "the first hour left the day"


def test_a_chunk_passes_its_successor_on_once(broadcasts):
    assert broadcasts.pass_on("b", "sahada", "a", "", NOW)
    assert not broadcasts.pass_on("b", "sahada", "a", "", NOW)
    assert broadcasts.pass_on("b", "sahada", "a", D1, NOW)
