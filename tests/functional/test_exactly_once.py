"""Exactly once under the races the review found: re-uploads after a partial send, second messages for a post
that is mid-send, a clock that fires twice, a worker that loses its claim, a pause in the middle of a kit.

Each case counts what the sandbox itself accepted: no recipient and no thread part ever gets a post twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace as dataclasses_replace
from datetime import date

import pytest

from chalicelib.adapters.platforms.base import PublishRequest
from chalicelib.domain.campaign import Member
from chalicelib.domain.post import PostStatus
from local.sandbox import Fault
from tests.functional.test_failure_classes import (
    accepted,
    deliver_all,
    post_of,
    run_clock,
    schedule,
    scheduled_event,
)

LONG_TEXT = " ".join(f"वाक्य {i} — सहाड़ा में नई सड़क, नया महाविद्यालय और पानी की नई योजना।" for i in range(9))


def recipients(world):
    return Counter(r["body"]["to"] for r in accepted(world, "whatsapp"))


def reupload(world, client, key, text, when="2021-03-05T10:00:00+05:30", platform="whatsapp"):
    world.put(key, f"title: p\ntext: {text}\nplatforms: [{platform}]\npublish_at: {when}\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))


class CallsThrough:
    """A platform client that runs `before_call` ahead of each real call to the sandbox (to stage a race)."""

    def __init__(self, client, before_call):
        self.platform = client.platform
        self._client = client
        self._before_call = before_call
        self.calls = 0

    def publish(self, request: PublishRequest) -> str:
        self.calls += 1
        self._before_call(self.calls, request)
        return self._client.publish(request)

    def find_published(self, request, since, until=None):
        return self._client.find_published(request, since, until)


def test_a_re_upload_after_a_partial_kit_reaches_only_the_members_not_yet_reached(active, client):
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", "rate_limit", account_id="wa-sahada", contains="919000000102"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.HELD_THROTTLED and list(post.deliveries) == ["sahada-01"]

    reupload(active, client, key, "बदली हुई बात")
    post = post_of(active, key, "whatsapp")
    assert (post.status, post.revision, list(post.deliveries)) == (PostStatus.SCHEDULED, 2, ["sahada-01"])
    [accepted_entry] = [e for e in active.container.store.activity_on(date(2021, 3, 5))
                        if e.kind == "upload.replaced"]
    assert "wa-sahada already reached sahada-01" in accepted_entry.message

    run_clock(active, client, "2021-03-05T10:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}, "each member exactly once"
    assert post.delivery_revisions == {"sahada-01": 1, "sahada-02": 2}
    [published] = [e for e in active.container.store.activity_on(date(2021, 3, 5)) if e.kind == "post.published"]
    assert "sahada-01 had revision 1" in published.message
    assert published.details["revisions"] == {"sahada-01": 1, "sahada-02": 2}


def test_a_re_upload_after_a_partial_thread_sends_only_the_missing_parts(active, client):
    key = schedule(active, client, "x", text=LONG_TEXT)
    thread = post_of(active, key, "x").payload["thread"]
    assert len(thread) >= 3
    active.sandbox.inject(Fault("x", "rate_limit", account_id="x-sahada", contains=f"(3/{len(thread)})"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "x")
    assert post.status is PostStatus.HELD_THROTTLED and sorted(post.deliveries) == ["part-1", "part-2"]

    reupload(active, client, key, LONG_TEXT.replace("सड़क", "पुल"), when="2021-03-06T10:00:00+05:30", platform="x")
    run_clock(active, client, "2021-03-06T10:00:00+05:30")
    post = post_of(active, key, "x")
    assert post.status is PostStatus.PUBLISHED
    sent_parts = [r["body"]["text"][-6:] for r in accepted(active, "x")]
    assert len(sent_parts) == len(thread), f"each part once, none again: {sent_parts}"
    assert post.delivery_revisions["part-1"] == 1 and post.delivery_revisions[f"part-{len(thread)}"] == 2


def test_a_second_message_for_a_post_mid_send_waits_instead_of_declaring_it_lost(active, client):
    key = schedule(active, client, "whatsapp")
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    messages = active.receive()
    duplicate = messages[0]

    def second_message_arrives(calls, request):
        if calls == 1:  # while the first worker is between its calls, SQS hands the same post to another
            answer = client.lambda_.invoke("on_publish_message", active.sqs_event([duplicate])).payload
            assert answer == {"batchItemFailures": [{"itemIdentifier": duplicate["MessageId"]}]}

    publisher = active.container.publisher
    publisher.platforms["whatsapp"] = CallsThrough(publisher.platforms["whatsapp"], second_message_arrives)
    client.lambda_.invoke("on_publish_message", active.sqs_event(messages))
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}
    kinds = [e.kind for e in active.container.store.activity_on(date(2021, 3, 5))]
    assert "post.ambiguous" not in kinds and kinds.count("post.published") == 1


def test_a_worker_that_lost_its_claim_stops_at_once(active, client):
    key = schedule(active, client, "whatsapp")
    store = active.container.store

    def the_clock_takes_the_post(calls, request):
        if calls == 1:  # as if this worker had stalled past its claim and the clock had marked it ambiguous
            post = post_of(active, key, "whatsapp")
            assert store.move_post(post.content_id, post.account_id, expected=[PostStatus.PUBLISHING],
                                   status=PostStatus.AMBIGUOUS, now=active.clock.now(), claim=post.claim,
                                   fields={"claim": None})

    publisher = active.container.publisher
    publisher.platforms["whatsapp"] = CallsThrough(publisher.platforms["whatsapp"], the_clock_takes_the_post)
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert publisher.platforms["whatsapp"].calls == 1, "no call after the claim was lost"
    assert post_of(active, key, "whatsapp").status is PostStatus.AMBIGUOUS
    kinds = [e.kind for e in store.activity_on(date(2021, 3, 5))]
    assert "post.published" not in kinds


def test_the_pending_delivery_is_written_before_each_whatsapp_call(active, client):
    key = schedule(active, client, "whatsapp")
    seen = []

    def look(calls, request):
        seen.append(post_of(active, key, "whatsapp").pending_delivery)

    publisher = active.container.publisher
    publisher.platforms["whatsapp"] = CallsThrough(publisher.platforms["whatsapp"], look)
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert seen == ["sahada-01", "sahada-02"]
    assert post_of(active, key, "whatsapp").pending_delivery is None


def test_a_pause_stops_the_rest_of_a_kit_and_a_resume_sends_only_the_rest(active, client):
    key = schedule(active, client, "whatsapp")
    campaign = active.container.campaigns.active()
    coordinator = Member(id="state-01", name="राज्य समन्वयक", role="coordinator")

    def pause_after_the_first_member(calls, request):
        assert calls == 1, "a member was sent to after the pause"
        active.container.controls().pause(campaign, coordinator, "state", "तथ्य जाँच")

    publisher = active.container.publisher
    real = publisher.platforms["whatsapp"]
    publisher.platforms["whatsapp"] = CallsThrough(real, pause_after_the_first_member)
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert (post.status, list(post.deliveries)) == (PostStatus.PAUSED, ["sahada-01"])

    publisher.platforms["whatsapp"] = real
    active.container.controls().resume(campaign, coordinator, "state")
    run_clock(active, client, "2021-03-05T09:01:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}


def test_two_clock_runs_on_one_read_send_one_message(active, client):
    schedule(active, client, "facebook")
    store = active.container.store
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    assert len(active.receive()) == 1
    active.at("2021-03-05T09:11:00+05:30")  # the message seems lost: both runs read the post as due for a re-send
    due = store.wake_due(active.clock.now(), 10)
    store.wake_due = lambda now, limit: due
    first = active.container.dispatcher().run()
    second = active.container.dispatcher().run()
    assert (len(first.requeued), len(second.requeued)) == (1, 0)
    deliver_all(active, client)


def failed_status(world, post, member, code, title="Something went wrong"):
    """Meta's `failed` status for one of our messages, signed as Meta signs it."""
    import hashlib
    import hmac
    import json

    post_reference = f"{post.content_id}|{post.account_id}|{member}"
    message_id = post.deliveries[member]
    status = {"id": message_id, "status": "failed", "timestamp": "1614920400", "recipient_id": "919000000102",
              "biz_opaque_callback_data": post_reference, "errors": [{"code": code, "title": title, "message": title}]}
    value = {"messaging_product": "whatsapp", "statuses": [status],
             "metadata": {"display_phone_number": "919000000000", "phone_number_id": "3000002"}}
    envelope = {"object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    body = json.dumps(envelope).encode()
    signature = hmac.new(world.sandbox.app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}


def published_kit(world, client):
    key = schedule(world, client, "whatsapp")
    run_clock(world, client, "2021-03-05T09:00:00+05:30")
    post = post_of(world, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    world.sandbox.take_webhooks()  # the "sent"/"delivered" statuses are not what these tests are about
    return key, post


def test_a_message_that_failed_for_a_passing_reason_is_sent_to_that_member_again_once(active, client):
    key, post = published_kit(active, client)
    body, headers = failed_status(active, post, "sahada-02", 131000)
    for _ in range(2):  # Meta may deliver the same webhook twice
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    assert post_of(active, key, "whatsapp").status is PostStatus.QUEUED
    run_clock(active, client, "2021-03-05T09:02:00+05:30")
    post_after = post_of(active, key, "whatsapp")
    assert post_after.status is PostStatus.PUBLISHED
    assert post_after.deliveries["sahada-01"] == post.deliveries["sahada-01"], "member 1 is not sent to again"
    assert post_after.deliveries["sahada-02"] != post.deliveries["sahada-02"]
    assert recipients(active) == {"919000000101": 1, "919000000102": 2}, "the failed message went once more"


def test_a_message_that_failed_for_the_member_s_own_reason_is_final(active, client):
    key, post = published_kit(active, client)
    body, headers = failed_status(active, post, "sahada-02", 131050,
                                  "User has stopped marketing messages")
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    run_clock(active, client, "2021-03-05T09:02:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}


def test_a_message_that_failed_for_the_account_s_reason_marks_the_account_and_waits(active, client):
    key, post = published_kit(active, client)
    body, headers = failed_status(active, post, "sahada-02", 131042,
                                  "Business eligibility payment issue")
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    assert str(active.container.store.account_state("wa-sahada").health) == "unhealthy"
    run_clock(active, client, "2021-03-05T09:02:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.HELD_ACCOUNT
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}, "nothing more until a person fixes it"


def test_a_failed_status_for_a_post_mid_send_is_answered_503_so_meta_sends_it_again(active, client):
    key, post = published_kit(active, client)
    store = active.container.store
    active.force_post(post.content_id, post.account_id, PostStatus.PUBLISHING, claim="busy-worker",
                      claimed_at="2021-03-05T03:31:00Z")
    body, headers = failed_status(active, post, "sahada-02", 131000)
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 503
    assert store.post(post.content_id, post.account_id).deliveries == post.deliveries, "nothing changed under it"


class WorkerKilled(BaseException):
    """Lambda's timeout or an out-of-memory kill: nothing after it runs (not even except Exception)."""


def test_a_worker_killed_after_a_whatsapp_call_is_settled_by_the_status_webhook(active, client):
    key = schedule(active, client, "whatsapp")

    publisher = active.container.publisher
    real = publisher.platforms["whatsapp"]

    class DiesAfterSending(CallsThrough):
        def publish(self, request):
            message_id = super().publish(request)
            if self.calls == 1:
                raise WorkerKilled()  # the message went; the worker dies before writing it down
            return message_id

    publisher.platforms["whatsapp"] = DiesAfterSending(real, lambda calls, request: None)
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    messages = active.receive()
    with pytest.raises(WorkerKilled):
        client.lambda_.invoke("on_publish_message", active.sqs_event(messages))
    post = post_of(active, key, "whatsapp")
    assert (post.status, post.pending_delivery, post.deliveries) == (PostStatus.PUBLISHING, "sahada-01", {})
    for body, headers in active.sandbox.take_webhooks():  # Meta's "sent" arrives while the claim is still held
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    post = post_of(active, key, "whatsapp")
    assert (post.pending_delivery, list(post.deliveries)) == (None, ["sahada-01"])

    publisher.platforms["whatsapp"] = real
    run_clock(active, client, "2021-03-05T09:11:00+05:30")  # the claim has expired: nothing is in doubt
    run_clock(active, client, "2021-03-05T09:12:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    assert recipients(active) == {"919000000101": 1, "919000000102": 1}


def test_a_failed_status_for_the_message_in_flight_waits_until_the_post_can_take_it(active, client):
    key = schedule(active, client, "whatsapp")
    run_clock(active, client, "2021-03-05T08:59:00+05:30")
    post = post_of(active, key, "whatsapp")
    active.force_post(post.content_id, post.account_id, PostStatus.PUBLISHING, claim="worker",
                      claimed_at="2021-03-05T03:29:00Z", pending_delivery="sahada-02")
    post = dataclasses_replace(post_of(active, key, "whatsapp"), deliveries={"sahada-02": "wamid.in-flight"})
    body, headers = failed_status(active, post, "sahada-02", 131000)
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 503
