"""Second review of the broadcasts to subscribers (issue 9, afc03b3..7ed15d3: commits 2b618ee and 7ed15d3), on the
emulator: each finding is a test that fails on the change.

The docstring of each test says what breaks for the campaign and where (file:line, as of commit 7ed15d3, the change
under review). In-memory findings: tests/unit/test_review_findings_8.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from chalicelib.adapters import aws
from chalicelib.adapters.broadcast_store import BroadcastStore
from chalicelib.adapters.memory_broadcast import InMemoryBroadcasts
from chalicelib.domain.broadcast import wait_for_room

TABLE = "prachar-test"
NOW = datetime(2021, 3, 3, 4, 0, 5, tzinfo=UTC)


def race(take, callers=32, each=3):
    """`callers` publishers at once, each asking `each` times for one recipient's room: their answers."""
    answers, lock = [], threading.Lock()

    def publisher():
        for _ in range(each):
            answer = take()
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=publisher) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


# ---- 1. the messaging limit's one item, under the concurrency it exists for ---------------------------------------
def test_concurrent_chunks_are_held_for_most_of_an_hour_though_the_messaging_limit_has_room(world):
    """Lost throughput; the DynamoDB store is not its in-memory twin. take_messaging_room reads the LIMIT item and
    writes it back conditional on its version, LIMIT_TRIES (20) times with no pause, then answers False — "no room".
    Every chunk calls it (3,552 chunks for a state broadcast, hundreds of Lambdas at once; and every chunk held at
    an hour's turn comes back at the same second). A chunk that loses 20 races is `held` until the next hour
    (wait_for_room: here 59 min 55 s) although the limit of 1,000,000 is nowhere near: here 32 publishers ask for
    one recipient each, three times, on the emulator. InMemoryBroadcasts answers under one lock and never refuses,
    so the contract test cannot see it.
    Root cause: chalicelib/adapters/broadcast_store.py:222-242 (optimistic read-then-write of one hot item with a
    fixed number of immediate tries, and contention answered as "no room") with chalicelib/services/broadcasts.py:
    149-151 (held until the next hour)."""
    store = BroadcastStore(aws.client("dynamodb"), TABLE, sleep=lambda _: None)
    twin = InMemoryBroadcasts()
    assert all(race(lambda: twin.take_messaging_room("state-campaign", 1, 1_000_000, NOW)))
    answers = race(lambda: store.take_messaging_room("state-campaign", 1, 1_000_000, NOW))
    refused = answers.count(False)
    assert refused == 0, (
        f"{refused} of {len(answers)} chunks told there is no room under a limit of 1,000,000 (used: "
        f"{answers.count(True)}); each is held {wait_for_room(NOW)}")
