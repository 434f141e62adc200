"""Review of the broadcasts to subscribers and the audience import fixes (issue 9, f063cc0..afc03b3): each finding is
a test that fails on the change.

The docstring of each test says what breaks for the campaign and where (file:line, as of commit afc03b3, the head of
the change under review). These run on the in-memory adapters (the Broadcaster as tests/unit/test_broadcasts.py
builds it); the emulator-backed findings are in tests/functional/test_review_findings_7.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.domain.broadcast import CHUNK, MAX_SENDS, rollup
from chalicelib.domain.manifest import parse_manifest, plan_posts
from chalicelib.domain.scope import split_scoped_key
from chalicelib.errors import PersistenceError, PlatformRejectedError, PlatformUnavailableError
from chalicelib.services import audience_import
from chalicelib.services.activity import ActivityLog
from chalicelib.services.audience_import import AudienceImport
from chalicelib.services.opt_outs import OptOuts
from tests.support.audience_fakes import FakeBucket, FakeVault
from tests.support.broadcast_world import (
    BROADCAST,
    NOW,
    VAULT,
    World,
    bare,
    campaign_with,
    numbers_in_shard,
    phone,
)

LAMBDA_TIMEOUT = 60  # .chalice/config.json: on_broadcast_chunk has no lambda_timeout of its own


@pytest.fixture()
def world():
    return World()


# ---- 1. a chunk claims its contacts, then may wait longer than its Lambda lives -----------------------------------
def test_a_chunk_that_waits_past_the_lambda_timeout_loses_its_contacts_for_good(world):
    """Lost input, the main failure mode at scale. Every chunk takes its sending times from the number's ONE schedule,
    so with N chunk Lambdas running at once the last one's first slot is N x 50 / 77.6 s away (a national broadcast
    queues 222 x 16 chunks at once; at 80/s, ~94 concurrent chunks already put the slot > 60 s away). The chunk
    claims its contacts first (status `sending`), then sleeps until its slot — but on_broadcast_chunk runs with the
    default 60 s Lambda timeout, so Lambda kills it mid-sleep. SQS redelivers the chunk after its visibility timeout:
    every claim is taken (`sending`), so the chunk is `done` and those contacts are never messaged, and stay
    `waiting` in the roll-up for ever.
    Root cause: chalicelib/services/broadcasts.py:210-216 (_send_one sleeps until the reserved time, unbounded, with
    no regard for the Lambda's remaining time: entry.send_broadcast_chunks (chalicelib/entry.py:69-72) passes no
    context), .chalice/config.json:6 (lambda_timeout 60, no override for on_broadcast_chunk), and
    chalicelib/adapters/broadcast_store.py:77 (a `sending` claim never expires, so nothing picks it up again)."""
    world.add(range(1, 11))
    world.others_hold_the_schedule(90)
    world.begin()
    longest = []

    def lambda_sleep(seconds):
        longest.append(seconds)
        if seconds > LAMBDA_TIMEOUT:
            raise TimeoutError(f"Task timed out after {LAMBDA_TIMEOUT}.00 seconds")

    world.service.sleep = lambda_sleep
    for round_ in range(20):  # the chunks come back while the other publishers' times run out
        world.drain(rounds=1, until_empty=False)
        world.clock.advance_to(NOW + timedelta(seconds=15 * (round_ + 1)))
    world.drain()
    assert max(longest, default=0) <= LAMBDA_TIMEOUT, "no chunk waits longer than its Lambda lives"
    assert sorted(world.recipients()) == sorted(bare(n) for n in range(1, 11)), (
        f"{10 - len(world.recipients())} of 10 subscribers never messaged; roll-up "
        f"{rollup(world.service.broadcasts.records(BROADCAST)).to_dict()}")


def test_a_chunk_that_fails_once_after_claiming_never_sends_to_the_rest(world):
    """Lost input. A transient error inside a chunk after its contacts were claimed — here KMS/DynamoDB throttling
    while one number is opened (vault.open) or its pair-rate slot is taken — fails the chunk (pool.map re-raises),
    and SQS redelivers it: but every contact it had claimed and not yet settled stays `sending` for good, so the
    redelivered chunk finds nothing to claim and ends `done`. One throttled call loses up to 50 people. The post path
    has CLAIM_TIMEOUT for exactly this; the broadcast claim has none ("a message lost between reservation and
    send").
    Root cause: chalicelib/adapters/broadcast_store.py:77 (claim's condition only re-takes `retry`, never a stale
    `sending`) with chalicelib/services/broadcasts.py:127 (all contacts claimed before any is sent) and :218-219
    (vault.open / reserve_recipient errors are not caught per contact, nor the claim given back)."""
    world.add(range(1, 6))
    target = bare(3)
    opened = world.vault.open
    failed = []

    class Throttled(FakeVault):
        @staticmethod
        def open(digest, sealed):
            fields = opened(digest, sealed)
            if fields["phone"].lstrip("+") == target and not failed:
                failed.append(target)
                raise PersistenceError("KMS Decrypt failed: ThrottlingException")
            return fields

    world.service.vault = Throttled()
    world.begin()
    world.drain(rounds=1, until_empty=False)
    world.clock.advance_to(NOW + timedelta(seconds=31))  # the chunk's retry
    world.drain()
    assert failed, "the number could not be opened once"
    assert sorted(world.recipients()) == sorted(bare(n) for n in range(1, 6)), (
        f"never messaged: {sorted({bare(n) for n in range(1, 6)} - set(world.recipients()))}")


# ---- 2. the next chunk is passed on once: lost if SQS refuses it that once ------------------------------------------
def test_the_rest_of_a_shard_is_lost_when_passing_on_its_next_chunk_fails_once(world):
    """Lost input at a pagination edge. The first run of a full chunk (CHUNK contacts) records that it passed the
    rest of the shard on (pass_on, a conditional write) and only then sends the next chunk's SQS message. If that
    send fails (SQS throttles or errors; PublishQueue returns it as not taken), run_chunk raises PersistenceError and
    SQS redelivers the chunk — which now finds pass_on already recorded and never queues the next chunk. Every
    contact of the shard after the first 50 is never messaged.
    Root cause: chalicelib/services/broadcasts.py:179-182 (the marker is written before the message is sent, and a
    redelivered run that finds the marker does not send it again)."""
    shard = numbers_in_shard("0", CHUNK + 10)
    world.add(shard)
    world.begin()
    real_send = world.service.queue.send
    refused = []

    def flaky_send(messages, delay_seconds=0):
        if any("after" in m for m in messages) and not refused:
            refused.append(messages)
            return list(messages)  # SQS did not take it
        return real_send(messages, delay_seconds)

    world.service.queue.send = flaky_send
    first = [m for m, _ in world.service.queue.take() if m["shard"] == "0"]
    with pytest.raises(PersistenceError):
        world.service.run_chunk(first[0])
    world.service.run_chunk(first[0])  # SQS delivers the failed chunk again
    world.drain()
    missing = sorted(set(bare(n) for n in shard) - set(world.recipients()))
    assert missing == [], f"{len(missing)} of {len(shard)} subscribers of shard 0 never messaged"


# ---- 3. a contact waiting for a retry is pushed out of its chunk by a contact added meanwhile ----------------------
def test_a_retry_is_lost_when_a_contact_is_added_inside_its_chunk_meanwhile(world):
    """Lost input. A chunk's retry run reads CHUNK contacts from `after` again and keeps those <= `until`. A contact
    imported meanwhile whose digest falls inside the chunk's range (any import during a broadcast of hours) pushes
    the chunk's last contact out of that read: the contact waiting in `retry` (a 502 here) is never read again, never
    claimed, never sent, and the chunk is not queued again (no retry counted). It stays `retry` — `waiting` — for good.
    Root cause: chalicelib/services/broadcasts.py:176-178 (_page re-reads `limit=CHUNK` from `after` and filters by
    `until`, instead of reading up to `until`)."""
    numbers = numbers_in_shard("0", CHUNK + 1)
    chunk, newcomer = numbers[:CHUNK], None
    last = chunk[-1]
    world.add(chunk)
    # a number whose digest sorts inside the chunk: imported while the broadcast runs
    candidates = [n for n in numbers_in_shard("0", 400, start=10_000)
                  if VAULT.digest(phone(chunk[0])) < VAULT.digest(phone(n)) < VAULT.digest(phone(last))]
    newcomer = candidates[0]
    world.whatsapp.script[bare(last)] = PlatformUnavailableError("whatsapp", "502 Bad Gateway", status=502)
    world.begin()
    world.drain(rounds=1, until_empty=False)
    assert world.record(last)["status"] == "retry"
    world.add([newcomer])
    world.clock.advance_to(NOW + timedelta(seconds=31))
    world.drain()
    assert bare(last) in world.recipients(), f"the retry of {bare(last)} never went: {world.record(last)['status']}"


# ---- 4. a late or repeated failure webhook for an earlier attempt re-sends a message that was delivered -----------
def test_a_late_failed_status_of_an_earlier_attempt_sends_the_message_a_third_time(world):
    """Duplicate. Meta redelivers webhooks and does not order them. Attempt 1 (wamid.1) fails with 131000 (retryable):
    the contact is re-sent (wamid.2) and it is delivered. Then Meta delivers the `failed` status of wamid.1 again:
    `reopen` accepts it (the record is at `delivered`, between sent and read) and the contact is sent the broadcast a
    third time — two copies on their phone. The status's message id is never compared with the record's wamid.
    Root cause: chalicelib/services/broadcasts.py:284-289 (on_status reopens whatever attempt the record is at) and
    chalicelib/adapters/broadcast_store.py:99-103 (reopen's condition has no `wamid = :wamid`)."""
    world.add([1])
    world.begin()
    world.drain()
    [first] = [r["wamid"] for r in [world.record(1)]]
    assert world.status(1, first, "failed", code=131000, error="131000 something went wrong") == "resent"
    world.clock.advance_to(NOW + timedelta(seconds=31))  # past the pair rate
    world.drain()
    second = world.record(1)["wamid"]
    assert second != first and world.status(1, second, "delivered") == "advanced"
    world.status(1, first, "failed", code=131000, error="131000 something went wrong")  # Meta, again, late
    world.clock.advance_to(NOW + timedelta(seconds=62))
    world.drain()
    assert world.recipients().count(bare(1)) == 2, (
        f"one failed attempt and one delivered, yet {world.recipients().count(bare(1))} messages sent")


# ---- 5. a contact whose webhooks keep failing never ends ------------------------------------------------------------
def test_a_contact_whose_status_webhooks_keep_failing_is_waiting_for_ever(world):
    """Roll-up and unanswered input. A retryable failure that comes by status webhook (131000, 131016, ...) reopens the
    contact to `retry` whatever its attempts; once they reach MAX_SENDS the retry chunk cannot claim it (claim wants
    attempts < max) and ends `done`. The contact stays `retry` for good: the roll-up counts it `waiting` for ever and
    never `failed`, so the dashboard and the daily report never show the broadcast as finished, nor why this person
    did not get it.
    Root cause: chalicelib/services/broadcasts.py:284-289 (on_status reopens without looking at the attempts, as
    _retry does at :256-260) and chalicelib/adapters/broadcast_store.py:99-103 with :77 (claim refuses it)."""
    world.add([1])
    world.begin()
    world.drain()
    for attempt in range(1, MAX_SENDS + 2):
        record = world.record(1)
        if record["status"] != "sent":
            break
        world.status(1, record["wamid"], "failed", code=131000, error="131000 something went wrong")
        world.clock.advance_to(NOW + timedelta(seconds=31 * attempt))
        world.drain()
    summary = rollup(world.service.broadcasts.records(BROADCAST))
    assert world.record(1)["status"] == "failed" and summary.waiting == 0, (
        f"after {world.record(1)['attempts']} attempts the contact is {world.record(1)['status']!r}: "
        f"{summary.to_dict()}")


# ---- 6. STOP, silence and the kill switch are checked once, before a wait of any length ----------------------------
def _stall_then(world, action):
    """A sleep that does `action` (once, before any message goes) and moves the clock to the end of the wait."""
    lock, done = threading.Lock(), []

    def sleep(seconds):
        with lock:
            if not done:
                action()
                done.append(True)
            world.clock.advance_to(world.clock.now() + timedelta(seconds=seconds))

    return sleep


def test_a_stop_that_lands_while_the_chunk_waits_for_its_turn_does_not_stop_the_message(world):
    """Compliance (issue 9: "a stop that arrives mid-broadcast stops every message to that number not yet sent";
    DPDP: withdrawal takes effect at once). The chunk reads the stop list once, then waits for its sending times —
    as long as the other publishers' reservations put them (here 20 s: ~30 concurrent chunks at 80/s). A STOP that
    arrives during that wait, before this person's message is sent, is not seen: the message goes anyway.
    Root cause: chalicelib/services/broadcasts.py:137-141 (the one look at the stop list, before _send_all) —
    _send_one (:208-235) sends after its sleep (:216) without looking again."""
    numbers = numbers_in_shard("0", 5)  # one chunk
    world.add(numbers)
    target = numbers[2]
    world.others_hold_the_schedule(8)  # a wait within reach: the chunk holds its times and sleeps
    world.begin()
    world.service.sleep = _stall_then(world, lambda: world.audience.suppress(world.vault.digest(phone(target)),
                                                                            "stop", world.clock.now()))
    world.drain()
    assert world.whatsapp.ids == 4, "the chunk ran, for the four who did not stop"
    assert bare(target) not in world.recipients(), "messaged after their STOP was recorded"


def test_a_chunk_gated_before_the_election_silence_sends_inside_it():
    """Compliance (Section 126 RPA: a hard block at publish time; issue 9: election silence checked per chunk). The
    gate runs once at the chunk's start; its messages then go at their reserved times. A chunk that starts a second
    before the silence and whose slots are 30 s away (other publishers' chunks ahead of it) sends every message inside
    the silence period.
    Root cause: chalicelib/services/broadcasts.py:118-125 (the gate is looked at once per chunk, before the wait) and
    :208-235 (_send_one sends at its time without asking the calendar again)."""
    campaign = campaign_with()
    sahada = next(c for c in campaign.constituencies if c.id == "sahada")
    silence = sahada.silence_starts.astimezone(UTC)
    world = World(campaign, now=silence - timedelta(seconds=1))
    world.add(numbers_in_shard("0", 5))  # one chunk
    world.others_hold_the_schedule(30)
    world.begin()
    world.service.sleep = _stall_then(world, lambda: None)
    world.drain(rounds=2, until_empty=False)
    inside = [(who, at.isoformat()) for who, at in world.whatsapp.at if at >= silence]
    assert inside == [], f"sent during the election silence that began {silence.isoformat()}: {inside}"


def test_the_kill_switch_pressed_while_a_chunk_waits_does_not_stop_its_messages(world):
    """Kill switch (product.md: a coordinator can pause all publishing in one call; issue 9: checked per chunk). The
    chunk checks the pauses once and then waits for its reserved times (20 s here); a pause pressed in that wait
    does not stop a single one of its messages.
    Root cause: chalicelib/services/broadcasts.py:118-125 and :208-235, as for the silence."""
    world.add(numbers_in_shard("0", 5))  # one chunk
    world.others_hold_the_schedule(20)
    world.begin()
    world.service.sleep = _stall_then(world, lambda: world.store.pause("state", "state-01", "complaint",
                                                                       world.clock.now()))
    world.drain(rounds=1, until_empty=False)
    assert world.recipients() == [], f"{len(world.recipients())} messages sent after the kill switch was pressed"


# ---- 7. the rolling day's messaging limit ------------------------------------------------------------------------
def test_the_messaging_limit_forgets_recipients_of_the_oldest_hour_of_the_rolling_day():
    """Limit exceeded. WhatsApp's messaging limit counts unique users reached in a rolling 24 h (platforms.md). The
    store sums the 24 hourly buckets ending with the current one, i.e. only the last 23 h + the minutes of this hour:
    recipients sent at 04:50 are forgotten at 04:10 the next day (23 h 20 min later), and a second full limit goes
    out inside one rolling day — Meta refuses the excess and counts it against the number's quality.
    Root cause: chalicelib/domain/broadcast.py:68-70 (last_day_hours takes range(24) hour buckets, so the bucket of
    the hour 24 h ago, partly inside the rolling day, is left out), used by adapters/broadcast_store.py:156-158 and
    adapters/memory_broadcast.py:120."""
    campaign = campaign_with(audience={"messaging_limit": 3})
    start = NOW.replace(minute=50)
    world = World(campaign, now=start)
    world.add(range(1, 11))
    world.begin()
    world.drain(rounds=2, until_empty=False)
    assert len(world.recipients()) == 3
    world.clock.advance_to(start + timedelta(hours=23, minutes=20))
    world.drain(rounds=3, until_empty=False)
    assert len(world.recipients()) == 3, (
        f"{len(world.recipients())} recipients within 23 h 20 min for a messaging limit of 3")


def test_the_messaging_limit_of_the_business_portfolio_is_counted_per_number():
    """Limit exceeded. The messaging limit is per business portfolio (platforms.md: "unique users reached per
    rolling 24 h per business portfolio"; campaign.py's own comment on messaging_limit says "the portfolio's"), and a
    campaign's numbers sit in one portfolio (examples/config/campaign.yaml has nine). Each number counts its own
    LIMIT#<account> rows, so two broadcasts from two numbers of the portfolio reach twice the limit in a day.
    Root cause: chalicelib/services/broadcasts.py:130-131 and chalicelib/adapters/broadcast_store.py:154-170 (the
    count is keyed LIMIT#<account id>; nothing groups a portfolio's numbers)."""
    second = {"id": "wa-vallabhnagar", "scope": "constituency/vallabhnagar", "platform": "whatsapp",
              "phone_number_id": "3000003", "secret": "/prachar/{stage}/accounts/wa-vallabhnagar"}
    campaign = campaign_with(second, audience={"messaging_limit": 3})  # the portfolio's limit, in the config
    world = World(campaign)
    world.add(range(1, 4))
    world.add(range(101, 104), constituency="vallabhnagar")
    world.begin(world.post())
    world.begin(world.post("c2", "wa-vallabhnagar", "constituency/vallabhnagar"))
    world.drain(rounds=3, until_empty=False)
    assert len(set(world.recipients())) <= 3, (
        f"{len(set(world.recipients()))} unique users in one day for a portfolio limit of 3")


# ---- 8. one person, two messages -----------------------------------------------------------------------------------
def test_a_scope_with_two_whatsapp_numbers_broadcasts_to_every_subscriber_twice():
    """Duplicate ("exactly once per contact"). plan_posts makes one post per account of the scope, and each post
    begins its own broadcast (id content.account) with its own claims. A constituency with a second WhatsApp number
    (added for throughput, or a district/state pair of numbers) sends the broadcast to each subscriber once per
    number.
    Root cause: chalicelib/domain/manifest.py:507-526 (one post per account, audience: subscribers included) with
    chalicelib/domain/broadcast.py:28-29 (the broadcast — and so each claim — is per content AND account)."""
    second = {"id": "wa-sahada-2", "scope": "constituency/sahada", "platform": "whatsapp",
              "phone_number_id": "3000009", "secret": "/prachar/{stage}/accounts/wa-sahada-2"}
    campaign = campaign_with(second)
    manifest = parse_manifest({"title": "बजट", "platforms": ["whatsapp"], "mcmc_certificate": "MCMC/BHL/2021/017",
                               "overrides": {"whatsapp": {"template": "budget_update", "params": ["a", "b"],
                                                          "audience": "subscribers"}}})
    plans = plan_posts(manifest, split_scoped_key("content/constituency/sahada/b.yaml"), campaign, NOW)
    world = World(campaign)
    world.add(range(1, 4))
    for plan in plans:
        post = world.post(account_id=plan.account.id)
        post.payload = plan.payload
        world.begin(post)
    world.drain()
    twice = sorted(r for r in set(world.recipients()) if world.recipients().count(r) > 1)
    assert twice == [], f"{len(plans)} broadcasts; messaged more than once: {twice}"


# ---- 9. Meta says the person stopped marketing messages: not recorded as an opt-out --------------------------------
def test_a_recipient_who_stopped_marketing_messages_is_not_suppressed(world):
    """Consent. WhatsApp's 131050 ("the recipient stopped marketing messages") is an opt-out (platforms.md: "131050
    user stopped marketing (no retry, opt-out)"). A broadcast that gets it only marks that contact `failed`; the
    number is not suppressed, so every later broadcast messages them again (and is refused again, each refusal
    counting against the number's quality).
    Root cause: chalicelib/services/broadcasts.py:251 (_failed settles 131050 as a plain failure) and :277-280
    (on_status does the same for a failed status webhook)."""
    world.add([1, 2])
    world.whatsapp.script[bare(1)] = PlatformRejectedError("whatsapp", "131050 the recipient stopped marketing "
                                                           "messages", code=131050)
    world.begin()
    world.drain()
    assert world.audience.suppression(world.vault.digest(phone(1))) is not None, (
        "131050 left the number subscribed: the next broadcast messages them again")


# ---- 10. erasure keeps the person's per-broadcast records ----------------------------------------------------------
def test_an_erased_number_keeps_its_broadcast_records_for_sixty_days(world):
    """Erasure (issue 9: "removed from pending broadcasts, only the suppression hash kept"; DPDP). The erase endpoint
    deletes the contacts and suppresses the digest, but each broadcast's record of the person — digest,
    constituency, Meta's message id (which Meta maps back to the number), status and read time — stays in the table
    for KEEP_FOR (60 days); nothing in the erasure knows about broadcasts.
    Root cause: chalicelib/services/opt_outs.py:81-95 (erase touches only the audience) and
    chalicelib/adapters/broadcast_store.py:25 (records kept 60 days)."""
    world.add([1, 2])
    world.begin()
    world.drain()
    opt_outs = OptOuts(world.audience, world.vault, ActivityLog(world.store, world.clock), world.clock,
                       lambda *args: None, world.service.forget)  # as chalicelib/bootstrap.py wires it
    opt_outs.erase(world.campaign, phone(1), "state-01")
    left = world.record(1)
    assert left is None, f"after the erasure the table still holds {sorted(left)} for the number"


# ---- 11. a constituency's campaign is over, and a state-wide broadcast still messages its voters -------------------
def test_a_state_wide_broadcast_messages_the_voters_of_a_constituency_whose_poll_has_closed():
    """Election calendar (product.md: "Campaign end: nothing is published for a constituency after its poll closes").
    A broadcast's chunks are per constituency, but the gate asks the calendar about the broadcast's scope (the
    state), and a state scope is never `over`. After Sahada's poll closed (17 April) and before Vallabhnagar's silence,
    a state-wide broadcast goes to Sahada's subscribers too: voters of a finished election, whose data is only kept
    until its retention runs out.
    Root cause: chalicelib/services/broadcasts.py:157-159 (election.verdict(meta["scope"]) — not the chunk's own
    constituency, message["constituency"])."""
    state = {"id": "wa-state", "scope": "state", "platform": "whatsapp", "phone_number_id": "3000001",
             "secret": "/prachar/{stage}/accounts/wa-state"}
    world = World(campaign_with(state), now=datetime(2021, 5, 10, 4, 0, tzinfo=UTC))
    world.add([1, 2])
    world.add([101, 102], constituency="vallabhnagar")
    world.begin(world.post("c3", "wa-state", "state"))
    world.drain()
    assert sorted(world.recipients()) == [bare(101), bare(102)], (
        f"messaged after Sahada's poll closed: {sorted(set(world.recipients()) - {bare(101), bare(102)})}")


# ---- 12. a refusal of the template itself fails the whole audience for good ---------------------------------------
def test_a_template_meta_refuses_for_everyone_fails_every_subscriber_for_good(world):
    """Lost input, no way back. When Meta refuses the message itself — the template paused or disabled for low quality
    (132015/132016), not approved in this language (132001), parameters wrong (132000) — every contact gets the same
    answer. Each is settled `failed` for good, one Graph call each, through the whole audience (a national list:
    hundreds of thousands of refused calls, each counted against the number's quality). Once the template is fixed,
    this broadcast cannot go on (its contacts are `failed`), and a new post is a new broadcast that messages again
    everyone reached before the refusal. The account is not held and nobody is alerted.
    Root cause: chalicelib/services/broadcasts.py:237-252 (_failed treats every non-retryable error as that
    contact's; only 130429 and token/account errors hold the number) — graph_errors lists these codes as "it fails
    for every member alike" (chalicelib/adapters/platforms/graph_errors.py:161)."""
    numbers = numbers_in_shard("0", 10)
    world.add(numbers)

    class Paused(dict):
        def pop(self, key, default=None):
            return PlatformRejectedError("whatsapp", "132015 the template is paused for low quality", code=132015)

    world.whatsapp.script = Paused()
    world.begin()
    world.drain()
    summary = rollup(world.service.broadcasts.records(BROADCAST)).to_dict()
    assert summary["failed_total"] <= 1, (
        f"{summary['failed_total']} of {len(numbers)} subscribers failed for good on one template refusal: "
        f"{summary['failed']}")


# ---- 13. the import's counts: a re-upload counts one person twice -------------------------------------------------
def _import_row(n, **changes):
    values = {"phone": f"98765 {n:05d}", "name": f"नाम {n}", "consent_source": "missed call",
              "consent_at": "2021-03-01T10:00:00+05:30", "notice_version": "v1", "language": "hi", "booth": "12"}
    values.update(changes)
    return ",".join(values.values()) + "\n"


@pytest.mark.xfail(strict=True, reason="counting a repeated unchanged row as merged would cost a write per unchanged "
                   "row of every re-upload; the contacts themselves are right")
def test_a_number_twice_in_a_new_upload_of_the_same_list_counts_as_two_unchanged_people(monkeypatch):
    """Import counts (issue 9 §1: "duplicates merged"; an import report with counts). A list holding one number twice
    in different batches (more than BATCH = 500 rows apart: any real list) counts, on its first upload, 1 added + 1
    merged. Uploaded again unchanged in content (a new ETag: saved again, a blank line added), the first row counts
    `unchanged` and is not written — so the contact still carries the OLD upload's generation — and the second row,
    which should be `merged` ("the same number further down this file"), compares with that old record and counts
    `unchanged` again. The report gives more people than the file has (here 4 unchanged for 3 people).
    Root cause: chalicelib/services/audience_import.py:262-266 (_outcome: an `unchanged` row is not written, so
    the same-upload test `(source_key, generation) == …` never matches the number's later row)."""
    monkeypatch.setattr(audience_import, "BATCH", 2)
    clock, store, bucket = SteppedClock(datetime(2021, 3, 10, 6, 0, tzinfo=UTC)), InMemoryStore(), FakeBucket()
    service = AudienceImport(InMemoryAudience(), FakeVault(), bucket, ActivityLog(store, clock), clock,
                             lambda key, etag: None)
    campaign = campaign_with()
    key = "audience/sahada/march.csv"
    header = "phone,name,consent_source,consent_at,notice_version,language,booth\n"
    text = header + _import_row(1) + _import_row(2) + _import_row(3) + _import_row(1)  # 1 again, in the next batch
    bucket.objects[(key, "e1")] = text.encode("utf-8")
    first = service.run(campaign, key, "e1", lambda: 900.0)
    assert first.counts == {"added": 3, "merged": 1}
    del bucket.objects[(key, "e1")]
    bucket.objects[(key, "e2")] = (text + "\n").encode("utf-8")  # the same list, saved again
    second = service.run(campaign, key, "e2", lambda: 900.0)
    assert second.counts == {"unchanged": 3, "merged": 1}, f"3 people in the file, counted {second.counts}"
