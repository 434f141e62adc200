"""What only the in-memory twins promise (the contract suites cover what they share with AWS): one lock makes
every conditional write atomic under threads, and the queue plays SQS for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryQueue, InMemoryStore
from chalicelib.domain.post import REPLACEABLE, Post, PostStatus
from chalicelib.domain.records import ActivityEntry

NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
THREADS = 16


def race(action: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * THREADS
    start = threading.Barrier(THREADS)

    def run(index: int) -> None:
        start.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_workers_claim_a_post_once():
    store = InMemoryStore()
    store.place_post(Post(content_id="c1", account_id="fb", platform="facebook", scope="state",
                          status=PostStatus.SCHEDULED, due_at=NOW, revision=1, payload={}, wake_at=NOW), REPLACEABLE)
    store.move_post("c1", "fb", expected=[PostStatus.SCHEDULED], status=PostStatus.QUEUED, now=NOW, wake_at=NOW)
    wins = [claimed is not None for claimed in race(lambda i: store.claim_post("c1", "fb", f"claim-{i}", NOW, NOW, 1))]
    assert wins.count(True) == 1
    assert store.post("c1", "fb").claim == f"claim-{wins.index(True)}"
    assert store.post("c1", "fb").attempts == 1


def test_activity_written_at_one_instant_from_many_threads_keeps_distinct_ordered_ids():
    store = InMemoryStore()
    written = race(lambda i: store.add_activity(ActivityEntry(at=NOW, kind=f"k.{i}", scope="state", message="m")))
    ids = [entry.entry_id for entry in written]
    assert len(set(ids)) == THREADS
    assert [e.entry_id for e in store.activity_on(NOW.date(), newest_first=False)] == sorted(ids)


def test_racing_receivers_each_get_a_message_once():
    queue = InMemoryQueue(SteppedClock(NOW), visibility_timeout_seconds=60)
    queue.send([{"n": n} for n in range(40)])
    received = race(lambda i: queue.receive(max_messages=3))
    bodies = [m.json_body()["n"] for batch in received for m in batch]
    assert sorted(bodies) == list(range(40))


def test_a_message_not_deleted_comes_back_and_ends_in_the_dead_letters():
    clock = SteppedClock(NOW)
    queue = InMemoryQueue(clock, visibility_timeout_seconds=30, max_receive_count=2)
    queue.send([{"n": 1}])
    (first,) = queue.receive()
    assert queue.receive() == []
    clock.advance_to(NOW + timedelta(seconds=31))
    (second,) = queue.receive()
    assert (second.message_id, second.receive_count) == (first.message_id, 2)
    assert not queue.delete(first.receipt_handle)  # a stale handle: SQS keeps the message
    clock.advance_to(NOW + timedelta(seconds=62))
    assert queue.receive() == [] and len(queue) == 0
    assert [(m.json_body(), m.receive_count) for m in queue.dead_letters] == [({"n": 1}, 2)]


def test_a_redelivery_hands_out_a_message_its_worker_still_holds():
    queue = InMemoryQueue(SteppedClock(NOW), visibility_timeout_seconds=300)
    queue.send([{"n": 1}])
    (held,) = queue.receive()
    assert queue.redeliver(held.receipt_handle) == 1
    (again,) = queue.receive()
    assert again.message_id == held.message_id and again.receive_count == 2
    assert queue.delete(again.receipt_handle) and len(queue) == 0


def test_a_received_message_is_a_lambda_sqs_record():
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    queue = InMemoryQueue(SteppedClock(NOW))
    queue.send([{"content_id": "c1", "account_id": "fb"}])
    record = SQSRecord(queue.receive()[0].lambda_record())
    assert record.json_body == {"content_id": "c1", "account_id": "fb"}
    assert record.attributes.approximate_receive_count == "1"
