"""Second review of the broadcasts to subscribers (issue 9, afc03b3..7ed15d3: commits 2b618ee and 7ed15d3): each
finding is a test that fails on the change.

The docstring of each test says what breaks for the campaign and where (file:line, as of commit 7ed15d3, the head of
the change under review). These run on the in-memory adapters (the Broadcaster as tests/unit/test_broadcasts.py
builds it); the emulator-backed findings are in tests/functional/test_review_findings_8.py.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from chalicelib import entry
from chalicelib.domain.broadcast import CHUNK, MAX_AHEAD, rollup
from chalicelib.domain.times import to_iso
from chalicelib.errors import PersistenceError
from chalicelib.services import broadcasts as broadcasts_module
from chalicelib.services.activity import ActivityLog
from chalicelib.services.opt_outs import OptOuts
from tests.support.broadcast_world import (
    BROADCAST,
    NOW,
    World,
    bare,
    campaign_with,
    numbers_in_shard,
    phone,
)

LAMBDA_TIMEOUT = 60  # .chalice/config.json: on_broadcast_chunk has no lambda_timeout of its own
VISIBILITY = timedelta(seconds=90)  # when SQS gives a failed chunk's message to a publisher again


@pytest.fixture()
def world():
    return World()


# ---- 1. our own bookkeeping fails after the message went out: the contact is sent it again ----------------------
def test_a_settle_that_fails_after_the_message_went_out_sends_the_contact_a_second_copy(world):
    """Duplicate ("exactly once per contact"). WhatsApp accepted the message (wamid.1), then the `sent` settle fails
    (DynamoDB throttling past boto's retries, a PersistenceError). _send_one's `except Exception` treats any exception
    out of _call as "nothing went out": it settles the contact `retry` with the attempt given back and re-raises, so
    the chunk (or its SQS redelivery) sends the broadcast again once the 30 s retry comes — without the message id
    of the copy already on the phone, so even a later `sent` webhook for wamid.1 cannot stop it (unless Meta's
    status arrives within those 30 s). The same for an `ambiguous` settle that fails: a message that may have gone is
    sent again, the one thing the ambiguous path exists to avoid.
    Root cause: chalicelib/services/broadcasts.py:255-260 (the except around _call covers the settles at :275 and
    :280 that come AFTER whatsapp.publish succeeded, and turns them into `retry`, uncounted)."""
    world.add([1])
    world.begin()
    settle = world.service.broadcasts.settle
    failed = []

    def throttled_settle(broadcast, digest, status, *args, **kwargs):
        if status == "sent" and not failed:
            failed.append(digest)
            raise PersistenceError("DynamoDB UpdateItem: ProvisionedThroughputExceededException")
        return settle(broadcast, digest, status, *args, **kwargs)

    world.service.broadcasts.settle = throttled_settle
    world.deliver(rounds=3)
    assert failed and world.recipients() == [bare(1)]
    world.clock.advance_to(NOW + VISIBILITY)  # Meta's `sent` webhook for wamid.1 is late (it may take minutes)
    world.deliver()
    assert world.recipients().count(bare(1)) == 1, (
        f"the subscriber got {world.recipients().count(bare(1))} copies; their record: {world.record(1)}")


# ---- 2. a publisher dies between the claim and the call: the contact is `sending` for good ------------------------
class LambdaKilled(BaseException):
    """What a Lambda timeout (or an out-of-memory kill) does to the threads of a chunk: nothing after it runs."""


def test_a_publisher_killed_between_its_claim_and_the_call_leaves_the_contact_unsent_for_good(world):
    """Lost input. _send_one claims the contact (`sending`, attempts 1), then takes the pair-rate slot (a DynamoDB
    write) and calls Graph. A Lambda killed in between — its 60 s timeout (a chunk's waits are not bounded, see the
    next finding; 16 messages are in flight when it strikes) or a crash — leaves the record `sending`: no except
    block runs. SQS gives the chunk out again, but records_of/_open treat `sending` as taken, the chunk is `done`, and
    nothing ever sends it, fails it or says so: the roll-up counts the person `waiting` for ever and the broadcast
    never finishes. A `sending` claim has no age after which it is taken again (the post path has CLAIM_TIMEOUT).
    Root cause: chalicelib/services/broadcasts.py:402-404 (_open: `sending` is never open again, whatever its age)
    with chalicelib/adapters/broadcast_store.py:104-117 (claim's condition never takes back a stale `sending`)."""
    world.add([1])
    world.begin()
    reserve = world.store.reserve_recipient
    killed = []

    def killed_while_taking_the_slot(*args, **kwargs):
        if not killed:
            killed.append(1)
            raise LambdaKilled("Task timed out after 60.00 seconds")
        return reserve(*args, **kwargs)

    world.store.reserve_recipient = killed_while_taking_the_slot
    assert "LambdaKilled" in world.deliver(rounds=1)
    for minutes in range(1, 60):  # SQS gives the chunk out again; an hour goes by
        world.clock.advance_to(NOW + timedelta(minutes=minutes))
        world.deliver(rounds=1)
    # A `sending` record cannot tell a death before the call from one after it (WhatsApp cannot be asked): it is
    # never sent again, and after five minutes the roll-up counts it in doubt — not waiting for ever.
    summary = rollup(world.service.broadcasts.records(BROADCAST), world.clock.now()).to_dict()
    assert world.recipients() == [bare(1)] or summary["in_doubt"] == 1, (
        f"an hour later the subscriber was never messaged, and the record says {world.record(1)['status']!r}: "
        f"{summary}")


# ---- 3. "never waits beyond 10 s": it does, whenever chunks start together ---------------------------------------
def test_a_chunk_waits_far_past_max_ahead_and_its_lambda_timeout_when_publishers_start_together(world):
    """Lost throughput and, with finding 2, lost input. The commit says a chunk never waits beyond 10 s for its
    sending times; the check is a read (next_free) and the reservation a separate, later write (reserve_sends).
    A broadcast queues 16 chunks per constituency at once (3,552 for the state); a hundred publishers that read
    next_free at the same moment all pass the check and then all reserve: the last one's first time is
    100 x 50 / 77.6 = 64 s away and it sleeps 63.5 s (RECHECK_AFTER/2 short) — past the chunk Lambda's 60 s timeout,
    which kills it; its reserved times are wasted, and any chunk killed while its messages are in flight leaves
    those contacts `sending` for good. _send_one's LATE path re-reserves a late message at the end of the schedule
    with no bound either.
    Root cause: chalicelib/services/broadcasts.py:144-147 (the MAX_AHEAD check reads next_free, not the reservation
    it then takes) and :153-156 (the wait after reserve_sends is whatever the reservation says)."""
    world.add(numbers_in_shard("0", 5))
    world.begin()
    reserve = world.service.broadcasts.reserve_sends
    others = []

    def reserved_after_the_others(account_id, count, every, now):
        if not others:  # 99 other publishers passed the same next_free check a moment ago and reserved first
            others.append(reserve(account_id, 99 * CHUNK, every, now))
        return reserve(account_id, count, every, now)

    world.service.broadcasts.reserve_sends = reserved_after_the_others
    world.deliver(rounds=1)
    longest = max(world.slept, default=0)
    assert longest <= MAX_AHEAD.total_seconds(), (
        f"the chunk slept {longest:.1f} s for its sending times (MAX_AHEAD {MAX_AHEAD.total_seconds():.0f} s, the "
        f"Lambda lives {LAMBDA_TIMEOUT} s)")


# ---- 4. a retryable failure webhook whose retry chunk could not be queued ----------------------------------------
def test_a_retryable_failure_whose_retry_chunk_sqs_refused_once_is_never_retried(world):
    """Lost input (issue 9 §5: "failures that Meta marks retryable are retried for that contact only"). on_status
    first reopens the record (`retry`, the wamid moved to the earlier attempts) and only then queues the one-contact
    retry chunk. If SQS refuses that send once, _again raises, the webhook answers 500 and Meta delivers it again —
    but the record is no longer at that attempt, so `reopen` answers `stale` and on_status `repeated`: no retry chunk
    is ever queued. The contact's shard chunk is done, so nothing reads the record again: it stays `retry`
    (`waiting` on the dashboard) for good and the person never gets the broadcast.
    Root cause: chalicelib/services/broadcasts.py:351-357 (the state is changed before the chunk is queued, and a
    repeat that finds it changed does not queue it)."""
    world.add([1])
    world.begin()
    world.deliver()
    wamid = world.record(1)["wamid"]
    send = world.service.queue.send
    refused = []

    def sqs_refuses_once(messages, delay_seconds=0):
        if not refused:
            refused.append(messages)
            return list(messages)  # not taken
        return send(messages, delay_seconds)

    world.service.queue.send = sqs_refuses_once
    with pytest.raises(PersistenceError):
        world.status(1, wamid, "failed", code=131000, error="131000 something went wrong")
    again = world.status(1, wamid, "failed", code=131000, error="131000 something went wrong")  # Meta retries
    world.clock.advance_to(NOW + timedelta(minutes=5))
    world.deliver()
    assert world.recipients().count(bare(1)) == 2, (
        f"Meta's retryable failure was answered {again!r} on its redelivery; the subscriber was never sent the "
        f"broadcast again and their record stays {world.record(1)['status']!r}")


# ---- 5. STOP and erasure mid-chunk ---------------------------------------------------------------------------
def test_a_stop_that_arrives_while_a_chunk_is_sending_does_not_stop_that_numbers_message(world):
    """Consent (issue 9 §3: "a stop that arrives mid-broadcast stops every message to that number not yet sent";
    compliance.md: STOP honoured at once). The chunk looks at the stop list once, before it claims anything (and
    again only after a wait longer than RECHECK_AFTER); then each message goes at its time, up to 50 x 12.9 ms later
    at 80/s — and much later for a message _send_one re-times at the end of the number's schedule (the LATE path).
    A subscriber who sends STOP after the chunk's look and before their own message's time still gets it, right
    after the confirmation that no message will reach them again.
    Root cause: chalicelib/services/broadcasts.py:236-260 (_send_one claims and sends without looking at the
    suppression; _not_stopped runs only at :139 and, after a wait of more than 1 s, :161)."""
    numbers = numbers_in_shard("0", 5)
    world.add(numbers)
    world.begin()
    world.service.senders = 1  # one message after the other, at their times
    stopper = numbers[-1]

    def sleep(seconds):
        world.slept.append(seconds)
        if len(world.slept) == 1:  # while the chunk waits for its second message's time, the last one sends STOP
            world.audience.suppress(world.vault.digest(phone(stopper)), "stop", world.clock.now())
        world.clock.advance_to(world.clock.now() + timedelta(seconds=seconds))

    world.service.sleep = sleep
    world.deliver()
    assert world.audience.suppression(world.vault.digest(phone(stopper))) is not None
    assert bare(stopper) not in world.recipients(), (
        f"messaged {sum(world.slept[1:]) * 1000:.0f} ms after their STOP; their record: "
        f"{world.record(stopper)['status']!r}")



def test_a_number_erased_while_its_chunk_is_sending_is_messaged_and_its_record_made_again(world):
    """Erasure (issue 9 §4: erased numbers are "removed from pending broadcasts, only the suppression hash kept").
    The erasure deletes the contact, suppresses the digest and forgets the person's broadcast records — but a chunk
    that read the contact (with its sealed number) before the erasure goes on: _send_one opens the number from the
    chunk's copy, claims the contact — which creates its record again, since forget deleted it — and sends. The
    erased person gets the broadcast after the erasure, and the table holds their digest, constituency and Meta's
    message id for another 60 days.
    Root cause: chalicelib/services/broadcasts.py:236-260 (no look at the suppression before the claim and call) with
    chalicelib/adapters/broadcast_store.py:104-117 (claim makes a record where forget left none)."""
    numbers = numbers_in_shard("0", 5)
    world.add(numbers)
    world.begin()
    world.service.senders = 1
    erased = numbers[-1]
    opt_outs = OptOuts(world.audience, world.vault, ActivityLog(world.store, world.clock), world.clock,
                       lambda *args: None, world.service.forget)  # as chalicelib/bootstrap.py wires it

    def sleep(seconds):
        world.slept.append(seconds)
        if len(world.slept) == 1:  # a coordinator erases the number while the chunk sends
            opt_outs.erase(world.campaign, phone(erased), "state-01")
        world.clock.advance_to(world.clock.now() + timedelta(seconds=seconds))

    world.service.sleep = sleep
    world.deliver()
    assert world.audience.suppression(world.vault.digest(phone(erased))) is not None
    assert (bare(erased) not in world.recipients(), world.record(erased)) == (True, None), (
        f"messaged after the erasure, and the table holds {world.record(erased)}")

# ---- 6. the roll-ups: the live broadcast waits behind yesterday's -------------------------------------------------
def test_the_live_broadcasts_rollup_is_never_refreshed_while_older_broadcasts_use_the_budget(world, monkeypatch):
    """Roll-up (issue 9 §5: statuses roll up and show on the dashboard). count_broadcasts runs every minute with 40 s
    and rollups() walks the broadcasts OLDEST first, each one's stale shards before the next broadcast is looked at:
    the budget goes to yesterday's finished broadcasts (each shard stale again every 15 min) before the one being sent
    right now. With three state-wide broadcasts of a million contacts from yesterday (62,500 records a shard, ~15 s to
    read), their 48 shards need 720 s per 15 min, more than the 600 s the minutes give: today's broadcast is never
    counted, and the dashboard shows no progress at all for the whole of it. The "stalest first" of the docstring holds
    only within one broadcast.
    Root cause: chalicelib/services/broadcasts.py:382-394 (one budget across broadcasts in listing order, oldest
    first; no priority for a young broadcast's shards) with chalicelib/entry.py:75-78."""
    service = world.service
    for n, started in enumerate((NOW - timedelta(hours=30), NOW - timedelta(hours=26), NOW - timedelta(hours=22))):
        service.broadcasts.start({"id": f"old{n}", "content_id": f"old{n}", "account_id": "wa-state",
                                  "scope": "state", "constituencies": [], "template": {}, "title": "old",
                                  "started_at": to_iso(started)})
    world.add(range(1, 40))
    world.begin()  # today's broadcast, being sent now
    world.deliver()
    assert len(world.recipients()) == 39
    seconds = [0.0]
    records = service.broadcasts.records

    def slow_records(broadcast, shard=None):
        seconds[0] += 15.0  # a shard of a million-contact broadcast
        return records(broadcast, shard)

    service.broadcasts.records = slow_records
    monkeypatch.setattr(broadcasts_module, "time", SimpleNamespace(monotonic=lambda: seconds[0]))
    monkeypatch.setattr(entry, "container", lambda: SimpleNamespace(broadcaster=service, clock=world.clock))
    for minute in range(30):  # the broadcast_counts schedule, half an hour of it
        world.clock.advance_to(NOW + timedelta(minutes=minute, seconds=1))
        entry.count_broadcasts()
    [today] = [b for b in service.visible_rollups(world.campaign, "state") if b["id"] == BROADCAST]
    assert (today["rollup"] or {}).get("sent") == 39, (
        f"after 30 minutes of counting, today's broadcast shows {today['rollup']} for 39 messages sent")


# ---- 7. a broadcast that takes more than two days is counted no more -------------------------------------------
def test_a_broadcast_held_by_the_messaging_limit_for_days_stops_being_counted_after_two(monkeypatch):
    """Roll-up. A broadcast larger than the portfolio's daily messaging limit (a new number's 1,000 or 10,000 a day
    against a constituency's 50,000 subscribers; platforms.md) goes out over days by design, and the dashboard shows
    seven days of broadcasts (visible_rollups). But the minute schedule counts only the broadcasts begun in the last
    TWO days, and the dashboard reads only what it counted: from the third day on, the broadcast's card is frozen at
    the second day's numbers while its messages go on (and its late statuses come in) for days more. Nothing else
    counts it (the daily report counts for its own CSV).
    Root cause: chalicelib/entry.py:78 (rollups(now - 2 days)) against chalicelib/services/broadcasts.py:366
    (visible_rollups(days=7) shows the stored roll-up) and broadcasts.py:376-400."""
    world = World(campaign_with(audience={"messaging_limit": CHUNK}))
    world.add(numbers_in_shard("0", CHUNK + 5))
    world.begin()
    monkeypatch.setattr(entry, "container", lambda: SimpleNamespace(broadcaster=world.service, clock=world.clock))
    world.deliver(rounds=3)
    assert len(world.recipients()) == CHUNK, "the first day's limit"
    entry.count_broadcasts()
    world.clock.advance_to(NOW + timedelta(days=2, hours=1))  # the limit lets the rest go
    world.deliver()
    assert len(world.recipients()) == CHUNK + 5
    for minute in range(20):
        world.clock.advance_to(NOW + timedelta(days=2, hours=1, minutes=minute + 1))
        entry.count_broadcasts()
    [card] = world.service.visible_rollups(world.campaign, "constituency/sahada")
    assert card["rollup"]["sent"] == CHUNK + 5, (
        f"the dashboard shows {card['rollup']['sent']} sent of {CHUNK + 5}, counted last at the broadcast's start")


# ---- 8. every contact of a waiting chunk stops: the chunk crashes ------------------------------------------------
def test_a_chunk_whose_every_contact_stopped_during_its_wait_fails_with_an_error(world):
    """Robustness (a failed chunk Lambda, an alarm, a redelivery after the visibility timeout and a dead-letter count
    towards the chunk's maxReceiveCount). After a wait the chunk looks at the stop list again; if everybody in it
    stopped meanwhile (a one-contact retry chunk, or a small chunk), `todo` is empty and _send_all opens a
    ThreadPoolExecutor with max_workers=min(SENDERS, 0) = 0, which raises ValueError.
    Root cause: chalicelib/services/broadcasts.py:161-163 (no `if not todo: return outcome` after the re-check) and
    :230 (max_workers 0)."""
    [n] = numbers_in_shard("0", 1)
    world.add([n])
    world.begin()
    reserve = world.service.broadcasts.reserve_sends
    world.service.broadcasts.reserve_sends = (  # other chunks hold the next 5 s of the number's times
        lambda account_id, count, every, now: reserve(account_id, count, every, now) + timedelta(seconds=5))

    def sleep(seconds):
        world.audience.suppress(world.vault.digest(phone(n)), "stop", world.clock.now())  # STOP during the wait
        world.clock.advance_to(world.clock.now() + timedelta(seconds=seconds))

    world.service.sleep = sleep
    outcomes = world.deliver(rounds=1)
    assert "ValueError" not in outcomes, f"the chunk failed: {outcomes}"

