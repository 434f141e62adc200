"""Each platform's failure classes through the real publisher, against the sandbox.

Every case ends with the same question: how many times did the platform accept the post? Never twice.
"""

import dataclasses
from datetime import timedelta

import pytest

from chalicelib.adapters.publish_queue import backoff_seconds
from chalicelib.domain.account_state import Health
from chalicelib.domain.post import WHATSAPP_STATUS_WAIT, PostStatus, content_id_for
from chalicelib.domain.times import to_iso
from local.sandbox import Fault

ACCOUNTS = {"facebook": "fb-sahada", "x": "x-sahada", "whatsapp": "wa-sahada"}


def schedule(world, client, platform, name="p", text="सहाड़ा में नई सड़क"):
    key = f"content/constituency/sahada/{name}-{platform}.yaml"
    world.put(key, f"title: {name}\ntext: {text} ({name})\nplatforms: [{platform}]\n"
                   "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))
    return key


def scheduled_event(client):
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])


def run_clock(world, client, moment):
    world.at(moment)
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    return deliver_all(world, client)


def run_until_settled(world, client, moment, rounds=4):
    """Run the clock, then let SQS redeliver what failed (WhatsApp's pair rate: 6 s per member)."""
    run_clock(world, client, moment)
    for _ in range(rounds):
        if not world.receive_count():
            return
        world.clock.advance_to(world.clock.now() + timedelta(seconds=7))
        deliver_all(world, client)


def deliver_all(world, client):
    messages = world.receive()
    if not messages:
        return {"batchItemFailures": []}
    return client.lambda_.invoke("on_publish_message", world.sqs_event(messages)).payload


def post_of(world, key, platform):
    return world.container.store.post(content_id_for(key), ACCOUNTS[platform])


def accepted(world, platform):
    return [r for r in world.sandbox.received(platform) if r["status"] in (200, 201)]


@pytest.mark.parametrize("platform, kind", [("facebook", "server_error"), ("facebook", "transient"),
                                            ("x", "server_error"), ("whatsapp", "transient")])
def test_a_server_error_is_retried_through_sqs_and_lands_once(active, client, platform, kind):
    key = schedule(active, client, platform)
    active.sandbox.inject(Fault(platform, kind, account_id=ACCOUNTS[platform]))
    result = run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert len(result["batchItemFailures"]) == 1
    assert post_of(active, key, platform).status is PostStatus.QUEUED
    assert deliver_all(active, client) == {"batchItemFailures": []}
    post = post_of(active, key, platform)
    assert (post.status, post.attempts) == (PostStatus.PUBLISHED, 2)
    expected = 2 if platform == "whatsapp" else 1  # the team kit: one message per member with a phone
    assert len(accepted(active, platform)) == expected


@pytest.mark.parametrize("platform", ["facebook", "x", "whatsapp"])
def test_a_rate_limit_holds_the_account_until_its_reset_then_publishes(active, client, platform):
    first = schedule(active, client, platform, "first")
    second = schedule(active, client, platform, "second")
    active.sandbox.inject(Fault(platform, "rate_limit", account_id=ACCOUNTS[platform]))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    state = active.container.store.account_state(ACCOUNTS[platform])
    assert state.health is Health.THROTTLED
    held = [post_of(active, k, platform) for k in (first, second)]
    assert {p.status for p in held} == {PostStatus.HELD_THROTTLED}
    assert all(p.wake_at == state.until for p in held), "both wait for the account's reset"
    calls = len(active.sandbox.received(platform))
    assert calls == 1, "the second post did not hammer the throttled account"
    run_until_settled(active, client, state.until.isoformat())
    assert {post_of(active, k, platform).status for k in (first, second)} == {PostStatus.PUBLISHED}
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date()) if e.account_id]
    assert "account.throttled" in kinds


def test_graph_usage_headers_set_the_facebook_wait(active, client):
    key = schedule(active, client, "facebook")
    active.sandbox.inject(Fault("facebook", "rate_limit", account_id="fb-sahada"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    wait = post_of(active, key, "facebook").wake_at - active.clock.now()
    assert wait.total_seconds() == 5 * 60, "estimated_time_to_regain_access: 5 (minutes)"


@pytest.mark.parametrize("platform, kind", [("facebook", "auth"), ("facebook", "policy"), ("x", "auth"),
                                            ("whatsapp", "auth")])
def test_a_refused_token_holds_posts_alerts_once_and_resumes_after_a_good_check(active, client, platform, kind):
    first = schedule(active, client, platform, "first")
    second = schedule(active, client, platform, "second")
    active.sandbox.inject(Fault(platform, kind, account_id=ACCOUNTS[platform], times=None))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert active.container.store.account_state(ACCOUNTS[platform]).health is Health.UNHEALTHY
    assert {post_of(active, k, platform).status for k in (first, second)} == {PostStatus.HELD_ACCOUNT}
    alerts = [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "account.unhealthy"]
    assert len(alerts) == 1 and alerts[0].level == "error"
    run_clock(active, client, "2021-03-05T09:16:00+05:30")  # the posts look again: still unhealthy, no call
    assert len(active.sandbox.received(platform)) == 1
    active.sandbox.state.faults.clear()  # ops fixed the token
    assert client.lambda_.invoke("token_health_check", scheduled_event(client)).payload[ACCOUNTS[platform]] == "healthy"
    run_until_settled(active, client, "2021-03-05T09:32:00+05:30")
    assert {post_of(active, k, platform).status for k in (first, second)} == {PostStatus.PUBLISHED}


@pytest.mark.parametrize("platform", ["facebook", "x"])
def test_a_duplicate_on_the_first_attempt_fails_with_the_platform_reason(active, client, platform):
    key = schedule(active, client, platform)
    active.sandbox.inject(Fault(platform, "duplicate", account_id=ACCOUNTS[platform]))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, platform)
    assert post.status is PostStatus.FAILED
    assert "uplicate" in post.reason


@pytest.mark.parametrize("platform", ["facebook", "x"])
def test_a_timeout_after_sending_is_resolved_by_looking_not_by_resending(active, client, platform):
    key = schedule(active, client, platform)
    active.sandbox.inject(Fault(platform, "timeout_after_send", account_id=ACCOUNTS[platform]))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, platform)
    assert post.status is PostStatus.AMBIGUOUS and post.check_first
    [landed] = accepted(active, platform)
    run_clock(active, client, "2021-03-05T09:03:00+05:30")
    post = post_of(active, key, platform)
    assert post.status is PostStatus.PUBLISHED
    platform_id = landed["response"]["id"] if platform == "facebook" else landed["response"]["data"]["id"]
    assert post.platform_post_id == platform_id
    assert len(accepted(active, platform)) == 1, "found on the platform, not sent again"


def test_an_ambiguous_call_that_never_landed_is_sent_after_the_check(active, client):
    key = schedule(active, client, "x")
    post = post_of(active, key, "x")
    run_clock(active, client, "2021-03-05T08:59:00+05:30")
    active.force_post(post.content_id, post.account_id, PostStatus.AMBIGUOUS, wake_at=to_iso(active.clock.now()),
                      check_first=True, claimed_at="2021-03-05T03:29:00Z")
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, key, "x").status is PostStatus.PUBLISHED
    assert len(accepted(active, "x")) == 1


def test_an_ambiguous_whatsapp_send_waits_for_the_status_webhook_then_goes_on(active, client):
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", "timeout_after_send", account_id="wa-sahada"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    # It wakes only to alert a coordinator if no status comes within 30 min (test_settlement.py), never to re-send.
    assert (post.status, post.pending_delivery, post.wake_at) == (PostStatus.AMBIGUOUS, "sahada-01",
                                                                  active.clock.now() + WHATSAPP_STATUS_WAIT)
    assert "waiting for WhatsApp's status webhook for sahada-01" in post.reason
    run_clock(active, client, "2021-03-05T09:05:00+05:30")
    assert len(accepted(active, "whatsapp")) == 1, "not re-sent while it is unknown"
    for body, headers in active.sandbox.take_webhooks():  # Meta's "sent" and "delivered" for that message
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    assert post_of(active, key, "whatsapp").status is PostStatus.QUEUED
    run_clock(active, client, "2021-03-05T09:06:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    assert sorted(post.deliveries) == ["sahada-01", "sahada-02"]
    assert len(accepted(active, "whatsapp")) == 2, "each member exactly once"


@pytest.mark.parametrize("kind", ["outside_window", "undeliverable"])
def test_a_whatsapp_member_who_cannot_be_reached_does_not_stop_the_team_kit(active, client, kind):
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", kind, account_id="wa-sahada", contains="919000000101"))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED
    assert [k for k, v in post.deliveries.items() if not v.startswith("failed:")] == ["sahada-02"]
    assert post.deliveries["sahada-01"].startswith("failed:"), "recorded, so no retry tries them again"
    assert "1 recipient(s) unreachable" in post.reason


def test_the_24_hour_window_is_the_platform_rule_not_a_fault(active, client):
    key = schedule(active, client, "whatsapp")
    active.at("2021-03-05T09:00:00+05:30", team_checks_in=False)  # nobody wrote in since 3 March
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    deliver_all(active, client)
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.FAILED
    assert "131047" in post.reason


def test_a_pair_rate_limit_retries_that_member_only(active, client):
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", "pair_rate", account_id="wa-sahada", contains="919000000102"))
    result = run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert len(result["batchItemFailures"]) == 1
    assert list(post_of(active, key, "whatsapp").deliveries) == ["sahada-01"]
    deliver_all(active, client)
    assert post_of(active, key, "whatsapp").status is PostStatus.QUEUED, "WhatsApp said the member is busy: wait"
    assert len(active.sandbox.received("whatsapp")) == 2, "no call while the member's slot is taken"
    active.clock.advance_to(active.clock.now() + timedelta(seconds=7))
    deliver_all(active, client)
    post = post_of(active, key, "whatsapp")
    assert post.status is PostStatus.PUBLISHED and sorted(post.deliveries) == ["sahada-01", "sahada-02"]
    assert len(accepted(active, "whatsapp")) == 2


def test_two_kits_for_the_same_team_take_turns_instead_of_drawing_the_pair_rate(active, client):
    first = schedule(active, client, "whatsapp", "first")
    second = schedule(active, client, "whatsapp", "second")
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    statuses = sorted(str(post_of(active, k, "whatsapp").status) for k in (first, second))
    assert statuses == ["published", "queued"], "the second kit waits for the members' next slot"
    waiting = next(post_of(active, k, "whatsapp") for k in (first, second)
                   if post_of(active, k, "whatsapp").status is PostStatus.QUEUED)
    assert "pair rate" in waiting.reason and waiting.attempts == 0, "a wait is not a failed attempt"
    deliver_all(active, client)  # SQS hands it back before the slot is free: it waits again, calls nothing
    assert len(active.sandbox.received("whatsapp")) == 2
    run_until_settled(active, client, "2021-03-05T09:00:07+05:30")
    posts = [post_of(active, k, "whatsapp") for k in (first, second)]
    assert [(p.status, p.attempts) for p in posts] == [(PostStatus.PUBLISHED, 1)] * 2
    assert [r["status"] for r in active.sandbox.received("whatsapp")] == [200] * 4, "never a 131056"


def test_account_health_is_visible_to_coordinators(active, client):
    active.sandbox.revoke("x-sahada")
    client.lambda_.invoke("token_health_check", scheduled_event(client))
    accounts = {a["account_id"]: a for a in client.http.get("/api/accounts").json_body["accounts"]}
    assert accounts["x-sahada"]["health"] == "unhealthy"
    assert accounts["fb-sahada"]["health"] == "healthy"


def test_a_retry_waits_out_a_growing_backoff_instead_of_sleeping(active, client, monkeypatch):
    assert [backoff_seconds(n, 10) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 640, 900]
    key = schedule(active, client, "facebook")
    active.sandbox.inject(Fault("facebook", "server_error", account_id="fb-sahada"))
    monkeypatch.setattr(active.container, "settings", dataclasses.replace(active.container.settings,
                                                                          retry_base_seconds=30))
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert active.receive() == [], "hidden for 30 s, not redelivered at once"
    assert active.receive_count() == 1
    assert post_of(active, key, "facebook").status is PostStatus.QUEUED


@pytest.mark.parametrize("lands", [True, False], ids=["it-had-landed", "it-had-not"])
def test_a_worker_that_died_mid_call_is_found_by_the_clock_and_settled_by_looking(active, client, lands):
    key = schedule(active, client, "x")
    run_clock(active, client, "2021-03-05T08:59:00+05:30")
    post = post_of(active, key, "x")
    claimed = active.clock.now()
    active.force_post(post.content_id, post.account_id, PostStatus.PUBLISHING, wake_at=to_iso(claimed),
                      claim="dead-worker", claimed_at="2021-03-05T03:29:00Z")
    if lands:  # the dead worker's call had reached X
        x = active.container.publisher.platforms["x"]
        from chalicelib.adapters.platforms.base import PublishRequest

        token = active.container.publisher.secrets.token("/prachar/test/accounts/x-sahada")
        x.publish(PublishRequest(target_id="2000002", token=token, text=post.payload["text"]))
    run_clock(active, client, "2021-03-05T09:05:00+05:30")  # a claim younger than its timeout is left alone
    assert post_of(active, key, "x").status is PostStatus.PUBLISHING
    run_clock(active, client, "2021-03-05T09:10:00+05:30")  # the clock finds the stale claim
    post = post_of(active, key, "x")
    assert (post.status, post.check_first) == (PostStatus.AMBIGUOUS, True)
    assert post.ambiguous_since.isoformat().startswith("2021-03-05T03:29")
    run_clock(active, client, "2021-03-05T09:13:00+05:30")
    assert post_of(active, key, "x").status is PostStatus.PUBLISHED
    assert len(accepted(active, "x")) == 1, "exactly once either way"
