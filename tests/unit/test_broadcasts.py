"""Broadcasts on in-memory fakes: who is sent to, what a failure does to that contact alone, the limits, the
schedule shared by publishers, and the status webhooks' roll-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.adapters.memory_broadcast import InMemoryBroadcasts
from chalicelib.domain.audience import SHARDS, StoredContact
from chalicelib.domain.broadcast import CHUNK, MAX_SENDS, parse_reference, rollup, send_interval
from chalicelib.domain.campaign import Campaign
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.whatsapp_webhook import MessageStatus
from chalicelib.errors import (
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)
from chalicelib.services.activity import ActivityLog
from chalicelib.services.broadcasts import Broadcaster
from tests.support.audience_fakes import FakeVault
from tests.support.broadcast_world import NOW, Campaigns, Queue, WhatsApp, phone
from tests.support.world import CAMPAIGN_FILE


@pytest.fixture()
def world():
    document = yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8"))
    campaign = Campaign.model_validate(document)
    clock, store, audience, vault = SteppedClock(NOW), InMemoryStore(), InMemoryAudience(), FakeVault()
    slept = []
    service = Broadcaster(InMemoryBroadcasts(), audience, vault, store, Queue(), Campaigns(campaign), WhatsApp(),
                          lambda account: "token", ActivityLog(store, clock), clock, sleep=slept.append)

    def add(numbers, constituency="sahada"):
        audience.save_contacts([StoredContact(
            constituency=constituency, digest=vault.digest(phone(n)), sealed=vault.seal("", {"phone": phone(n)}),
            consent_source="missed call", consent_at=NOW - timedelta(days=3), notice_version="v1", language="hi",
            source_key="audience/sahada/list.csv", updated_at=NOW) for n in numbers])

    post = Post(content_id="c1", account_id="wa-sahada", platform="whatsapp", scope="constituency/sahada",
                status=PostStatus.PUBLISHING, due_at=NOW, revision=1,
                payload={"title": "बजट", "audience": "subscribers",
                         "template": {"name": "budget_update", "language": "hi", "params": ["a", "b"]}})
    return type("World", (), dict(service=service, add=add, post=post, campaign=campaign, clock=clock,
                                  store=store, audience=audience, vault=vault, slept=slept))


def drain(world, rounds=20, *, until_empty=True):
    """Run the queued chunks (their delays pass at once here) — until none is left, or for `rounds` rounds."""
    outcomes = []
    for _ in range(rounds):
        batch = world.service.queue.take()
        if not batch:
            return outcomes
        outcomes += [world.service.run_chunk(message).outcome for message, _ in batch]
    if until_empty:
        raise AssertionError("the chunks never ran out")
    return outcomes


def recipients(world):
    return [r.recipient for r in world.service.whatsapp.sent]


def test_every_subscriber_of_the_scope_gets_the_template_once(world):
    world.add(range(1, 3 * CHUNK))
    world.add([900], constituency="vallabhnagar")  # another constituency's subscriber
    assert world.service.begin(world.post, world.campaign, NOW) == len(SHARDS)
    drain(world)
    assert sorted(recipients(world)) == sorted(phone(n).lstrip("+") for n in range(1, 3 * CHUNK))
    request = world.service.whatsapp.sent[0]
    assert request.template["name"] == "budget_update" and request.text is None
    assert parse_reference(request.reference)[:2] == ("c1", "wa-sahada")
    world.service.begin(world.post, world.campaign, NOW)  # the publisher's message delivered again
    drain(world)
    assert len(recipients(world)) == 3 * CHUNK - 1, "nobody twice"


def test_the_messages_are_spaced_by_the_numbers_throughput(world):
    world.add(range(1, 41))
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    waits = sorted(world.slept)
    step = send_interval(80)
    assert len(waits) == 39, "one schedule for the number: only the first message goes at once"
    assert min(b - a for a, b in zip([0.0, *waits], waits, strict=False)) >= step - 1e-6


def test_a_stopped_or_erased_number_is_skipped_and_counted(world):
    world.add(range(1, 6))
    world.audience.suppress(world.vault.digest(phone(2)), "stop", NOW)
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    assert phone(2).lstrip("+") not in recipients(world)
    assert rollup(world.service.broadcasts.records("c1")).skipped == 1


def test_a_failure_a_retry_can_fix_is_retried_for_that_contact_alone(world):
    world.add(range(1, 6))
    wa = world.service.whatsapp
    wa.script[phone(3).lstrip("+")] = PlatformUnavailableError("whatsapp", "502", status=502)
    wa.script[phone(4).lstrip("+")] = PlatformRejectedError("whatsapp", "131026 undeliverable", code=131026)
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    assert sorted(recipients(world)) == sorted(phone(n).lstrip("+") for n in (1, 2, 3, 5))
    assert recipients(world).count(phone(3).lstrip("+")) == 1
    summary = rollup(world.service.broadcasts.records("c1"))
    assert summary.sent == 4 and summary.failed == {"131026 undeliverable": 1}


def test_a_contact_that_keeps_failing_is_given_up_after_the_last_attempt(world):
    world.add([1])
    wa = world.service.whatsapp

    class Always(dict):
        def pop(self, key, default=None):
            return PlatformUnavailableError("whatsapp", "503", status=503)

    wa.script = Always()
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    [record] = world.service.broadcasts.records("c1")
    assert record["status"] == "failed" and f"after {MAX_SENDS} attempts" in record["reason"]


def test_a_call_in_doubt_is_never_sent_again_and_its_webhook_settles_it(world):
    world.add([1])
    world.service.whatsapp.script[phone(1).lstrip("+")] = PlatformAmbiguousError("whatsapp", "read timeout")
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    assert recipients(world) == []
    digest = world.vault.digest(phone(1))
    status = MessageStatus(message_id="wamid.X", status="delivered", phone_number_id="3000002",
                           reference=f"broadcast|c1|wa-sahada|{digest}", timestamp=0)
    assert world.service.on_status(status, "c1", "wa-sahada", digest) == "advanced"
    assert rollup(world.service.broadcasts.records("c1")).delivered == 1


def test_the_numbers_throughput_answer_skips_a_second_of_its_schedule_and_the_contact_goes_again(world):
    world.add([1, 2])
    world.service.whatsapp.script[phone(1).lstrip("+")] = PlatformRateLimitedError("whatsapp", "130429",
                                                                                   retry_after=1, code=130429)
    world.service.begin(world.post, world.campaign, NOW)
    drain(world, rounds=3, until_empty=False)
    assert world.service.broadcasts.next_free("wa-sahada") >= NOW + timedelta(seconds=1), "the number skips a second"
    world.clock.advance_to(NOW + timedelta(seconds=5))
    drain(world)
    assert sorted(recipients(world)) == sorted(phone(n).lstrip("+") for n in (1, 2))
    [attempts] = {r["attempts"] for r in world.service.broadcasts.records("c1")
                  if r["sk"] == world.vault.digest(phone(1))}
    assert attempts == 1, "a throughput wait is not a failed attempt"


def test_a_refused_token_marks_the_account_and_the_broadcast_waits(world):
    world.add([1])
    world.service.whatsapp.script[phone(1).lstrip("+")] = PlatformAuthError("whatsapp", "190 token expired",
                                                                            code=190)
    world.service.begin(world.post, world.campaign, NOW)
    drain(world, rounds=1, until_empty=False)
    assert world.store.account_state("wa-sahada").health == "unhealthy"
    held = [world.service.run_chunk(m).outcome for m, _ in world.service.queue.take()]
    assert held == ["held"] and recipients(world) == []


def test_the_rolling_days_messaging_limit_holds_the_rest(world):
    object.__setattr__(world.campaign.audience, "messaging_limit", 3)
    world.add(range(1, 11))
    world.service.begin(world.post, world.campaign, NOW)
    drain(world, rounds=2, until_empty=False)
    assert len(recipients(world)) == 3
    world.clock.advance_to(NOW + timedelta(hours=24, minutes=1))
    drain(world, rounds=3, until_empty=False)
    assert len(recipients(world)) == 3, "the hour of the first three is still partly inside the rolling day"
    world.clock.advance_to(NOW + timedelta(hours=25, minutes=1))
    drain(world, rounds=3, until_empty=False)
    assert len(recipients(world)) == 6, "three more once it has left"


def test_a_failed_status_meta_marks_retryable_sends_to_that_contact_again(world):
    world.add([1, 2])
    world.service.begin(world.post, world.campaign, NOW)
    drain(world)
    digest = world.vault.digest(phone(1))
    wamid = world.service.broadcasts.record("c1", digest)["wamid"]
    failed = MessageStatus(message_id=wamid, status="failed", phone_number_id="3000002",
                           reference=f"broadcast|c1|wa-sahada|{digest}", timestamp=0, error_code=131000,
                           error="131000 failed")
    assert world.service.on_status(failed, "c1", "wa-sahada", digest) == "resent"
    assert world.service.on_status(failed, "c1", "wa-sahada", digest) == "repeated", "Meta delivers it again"
    world.clock.advance_to(NOW + timedelta(seconds=30))  # past the pair rate
    drain(world)
    assert recipients(world).count(phone(1).lstrip("+")) == 2 and recipients(world).count(
        phone(2).lstrip("+")) == 1
    other = world.service.broadcasts.record("c1", world.vault.digest(phone(2)))["wamid"]
    final = MessageStatus(message_id=other, status="failed", phone_number_id="3000002", reference="x",
                          timestamp=0, error_code=131026, error="131026 undeliverable")
    assert world.service.on_status(final, "c1", "wa-sahada", world.vault.digest(phone(2))) == "failed"


def test_the_campaign_being_over_ends_the_broadcast(world):
    world.add([1])
    world.service.begin(world.post, world.campaign, NOW)
    world.clock.advance_to(datetime(2022, 1, 1, tzinfo=UTC))
    assert set(drain(world)) == {"cancelled"} and recipients(world) == []
