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
META = {"id": "c1", "content_id": "c1", "account_id": "wa-sahada", "scope": "constituency/sahada",
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
    assert not broadcasts.advance("b", D1, "read", 3, NOW, wamid="wamid.0"), "another attempt's message"
    assert broadcasts.advance("b", D1, "read", 3, NOW, wamid="wamid.1")
    assert broadcasts.record("b", D1)["status"] == "read"
    assert not broadcasts.advance("b", D2, "sent", 1, NOW, wamid="wamid.2"), "no record, nothing made up"
    assert broadcasts.reopen("b", D1, "wamid.0", "131000", NOW, 5) == "stale", "not this attempt's failure"
    assert broadcasts.reopen("b", D1, "wamid.1", "131000", NOW, 5) == "reopened"
    assert broadcasts.record("b", D1)["status"] == "retry"
    assert broadcasts.reopen("b", D1, "wamid.1", "131000", NOW, 5) == "stale", "once per failure"
    assert rollup(broadcasts.records("b")).waiting == 1
    assert broadcasts.claim("b", D1, "sahada", NOW, 5)
    assert not broadcasts.advance("b", D1, "delivered", 2, NOW, wamid="wamid.1"), "the failed attempt's, late"
    assert broadcasts.settle("b", D1, "sent", 1, NOW, wamid="wamid.3")
    assert broadcasts.reopen("b", D1, "wamid.3", "131000", NOW, 2) == "gave_up", "its attempts are spent"
    assert broadcasts.record("b", D1)["status"] == "failed"


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
    assert not broadcasts.take_messaging_room("wa", 6, 10, NOW + timedelta(hours=24)), "its hour is partly inside"
    assert broadcasts.take_messaging_room("wa", 6, 10, NOW + timedelta(hours=25)), "the first hour left the day"


def test_a_chunk_passes_its_successor_on_once(broadcasts):
    assert broadcasts.pass_on("b", "sahada", "a", "", NOW)
    assert not broadcasts.pass_on("b", "sahada", "a", "", NOW)
    assert broadcasts.pass_on("b", "sahada", "a", D1, NOW)


def test_a_broadcast_halts_once_and_an_erasure_forgets_the_person_in_every_broadcast(broadcasts):
    assert broadcasts.start(META) and broadcasts.start({**META, "id": "c2", "started_at": "2021-03-03T03:31:00Z"})
    assert broadcasts.halt("c1", "132015 template paused", NOW) and not broadcasts.halt("c1", "again", NOW)
    assert broadcasts.broadcast("c1")["halted"] == "132015 template paused"
    assert broadcasts.broadcasts_since(NOW - timedelta(hours=1))[0]["halted"] == "132015 template paused"
    for ident in ("c1", "c2"):
        broadcasts.claim(ident, D1, "sahada", NOW, 5)
        broadcasts.claim(ident, D2, "sahada", NOW, 5)
    assert set(broadcasts.records_of("c1", [D1, D2, "c" * 64])) == {D1, D2}
    broadcasts.forget(D1)
    assert broadcasts.record("c1", D1) is None and broadcasts.record("c2", D1) is None
    assert broadcasts.record("c2", D2) is not None


def test_the_schedule_tells_when_it_is_next_free(broadcasts):
    assert broadcasts.next_free("wa") is None
    broadcasts.reserve_sends("wa", 100, timedelta(milliseconds=10), NOW)
    assert broadcasts.next_free("wa") == NOW + timedelta(seconds=1)
    assert not broadcasts.passed_on("b", "sahada", "a", "")
    broadcasts.pass_on("b", "sahada", "a", "", NOW)
    assert broadcasts.passed_on("b", "sahada", "a", "")


def test_each_shards_count_is_kept_with_its_time(broadcasts):
    assert broadcasts.shard_rollups("c1") == {}
    broadcasts.save_shard_rollup("c1", "a", {"contacts": 3, "sent": 2, "failed": {"131026": 1}, "at": "2021-03-03"})
    broadcasts.save_shard_rollup("c1", "b", {"contacts": 1, "sent": 1, "failed": {}, "at": "2021-03-04"})
    assert broadcasts.shard_rollups("c1")["a"] == {"contacts": 3, "sent": 2, "failed": {"131026": 1},
                                                   "at": "2021-03-03"}
    assert set(broadcasts.shard_rollups("c1")) == {"a", "b"}
