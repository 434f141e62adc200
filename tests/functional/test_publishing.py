"""The publishing clock and the publisher, through chalice.test.Client with real queue messages."""

import json

import pytest

from chalicelib.domain.post import PostStatus, content_id_for
from local.sandbox import Fault

KEY = "content/constituency/sahada/day1.yaml"


@pytest.fixture()
def scheduled(active, client):
    active.put(KEY, "title: बजट घोषणा\ntext: सहाड़ा में नया महाविद्यालय\nlink: https://example.org/b\n"
                    "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    return active


def tick(client, world):
    return client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload


def deliver(client, world, messages):
    return client.lambda_.invoke("on_publish_message", world.sqs_event(messages)).payload


def statuses(world):
    _, posts = world.container.store.content_with_posts(content_id_for(KEY))
    return {p.account_id: p.status for p in posts}


def test_nothing_is_queued_before_its_time(scheduled, client):
    scheduled.at("2021-03-05T08:59:00+05:30")
    assert tick(client, scheduled)["queued"] == 0
    assert scheduled.receive() == []


def test_due_posts_are_queued_exactly_once(scheduled, client):
    scheduled.at("2021-03-05T09:00:00+05:30")
    assert tick(client, scheduled)["queued"] == 3
    assert tick(client, scheduled)["queued"] == 0
    messages = scheduled.receive()
    assert sorted(json.loads(m["Body"])["account_id"] for m in messages) == ["fb-sahada", "wa-sahada", "x-sahada"]
    assert set(statuses(scheduled).values()) == {PostStatus.QUEUED}


def test_each_post_reaches_its_platform_once_and_is_recorded(scheduled, client):
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    messages = scheduled.receive()
    assert deliver(client, scheduled, messages) == {"batchItemFailures": []}
    assert set(statuses(scheduled).values()) == {PostStatus.PUBLISHED}
    calls = scheduled.sandbox.received()
    assert sorted((c["platform"], c["status"]) for c in calls) == [
        ("facebook", 200), ("whatsapp", 200), ("whatsapp", 200), ("x", 201)]
    feed = next(c for c in calls if c["platform"] == "facebook")
    assert feed["path"] == "/v25.0/100000000000002/feed"
    assert feed["body"] == {"message": "सहाड़ा में नया महाविद्यालय", "link": "https://example.org/b"}
    tweet = next(c for c in calls if c["platform"] == "x")
    assert tweet["body"] == {"text": "सहाड़ा में नया महाविद्यालय\n\nhttps://example.org/b"}
    whatsapp = sorted(c["body"]["to"] for c in calls if c["platform"] == "whatsapp")
    assert whatsapp == ["919000000101", "919000000102"], "team members with a phone, and only them"
    view = scheduled.container.queries().post(content_id_for(KEY))
    fb = next(a for a in view["accounts"] if a["account_id"] == "fb-sahada")
    assert fb["platform_post_id"] == feed["response"]["id"]
    assert (fb["published_at"], fb["attempts"]) == ("2021-03-05T03:31:00Z", 1)
    published = [e for e in scheduled.container.store.activity_on(scheduled.clock.now().date())
                 if e.kind == "post.published"]
    assert len(published) == 3


def test_a_redelivered_message_does_not_post_twice(scheduled, client):
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    messages = scheduled.receive()
    deliver(client, scheduled, messages)
    deliver(client, scheduled, messages)  # SQS at-least-once: the same messages again
    tick(client, scheduled)
    assert len(scheduled.sandbox.received()) == 4


def test_a_worker_that_died_mid_call_leaves_the_post_ambiguous_not_resent(scheduled, client):
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    store = scheduled.container.store
    cid = content_id_for(KEY)
    assert store.move_post(cid, "fb-sahada", expected=[PostStatus.QUEUED], status=PostStatus.PUBLISHING,
                           now=scheduled.clock.now(), fields={"claim": "dead-worker"})
    deliver(client, scheduled, scheduled.receive())
    assert statuses(scheduled)["fb-sahada"] is PostStatus.AMBIGUOUS
    assert not [c for c in scheduled.sandbox.received() if c["platform"] == "facebook"]


def test_an_unreachable_platform_is_retried_later_and_then_published(scheduled, client, monkeypatch):
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    real_base = scheduled.container.settings.facebook_api_base
    facebook = scheduled.container.publisher.platforms["facebook"]
    monkeypatch.setattr(facebook, "_base", "http://127.0.0.1:9/v25.0")  # nothing listens on port 9
    result = deliver(client, scheduled, scheduled.receive())
    assert len(result["batchItemFailures"]) == 1
    assert statuses(scheduled)["fb-sahada"] is PostStatus.QUEUED
    monkeypatch.setattr(facebook, "_base", f"{real_base}/v25.0")
    assert deliver(client, scheduled, scheduled.receive()) == {"batchItemFailures": []}
    assert statuses(scheduled)["fb-sahada"] is PostStatus.PUBLISHED
    view = scheduled.container.queries().post(content_id_for(KEY))
    assert next(a for a in view["accounts"] if a["account_id"] == "fb-sahada")["attempts"] == 2


def test_a_platform_refusal_fails_the_post_with_the_reason(scheduled, client):
    scheduled.sandbox.inject(Fault("facebook", "bad_request", account_id="fb-sahada"))
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    assert deliver(client, scheduled, scheduled.receive()) == {"batchItemFailures": []}
    view = scheduled.container.queries().post(content_id_for(KEY))
    fb = next(a for a in view["accounts"] if a["account_id"] == "fb-sahada")
    assert fb["status"] == "failed"
    assert "[code 100]" in fb["reason"]
    assert "sandbox-fb-sahada" not in json.dumps(view), "no token in what users see"


def test_a_lost_message_is_sent_again_by_the_clock(scheduled, client):
    scheduled.at("2021-03-05T09:01:00+05:30")
    tick(client, scheduled)
    for message in scheduled.receive():  # lost: nobody will ever process these
        scheduled.put("lost", message["Body"])
    scheduled.at("2021-03-05T09:12:00+05:30")
    assert tick(client, scheduled)["requeued"] == 3
    deliver(client, scheduled, scheduled.receive())
    assert set(statuses(scheduled).values()) == {PostStatus.PUBLISHED}


def test_a_long_x_text_goes_out_as_a_reply_chain_once(active, client):
    key = "content/constituency/sahada/thread.yaml"
    sentence = "सहाड़ा में विकास के काम तेज़ी से चल रहे हैं और हर गाँव तक पहुँच रहे हैं। "
    active.put(key, f"title: thread\ntext: \"{sentence * 10}\"\nplatforms: [x]\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    active.at("2021-03-03T09:01:00+05:30")
    tick(client, active)
    messages = active.receive()
    deliver(client, active, messages)
    deliver(client, active, messages)
    tweets = [c for c in active.sandbox.received() if c["platform"] == "x"]
    assert len(tweets) > 1
    assert "reply" not in tweets[0]["body"]
    for previous, reply in zip(tweets, tweets[1:], strict=False):
        assert reply["body"]["reply"]["in_reply_to_tweet_id"] == previous["response"]["data"]["id"]
    _, posts = active.container.store.content_with_posts(content_id_for(key))
    assert posts[0].platform_post_id == tweets[0]["response"]["data"]["id"]
    assert len(posts[0].deliveries) == len(tweets)


def test_secrets_manager_secrets_work_and_no_secret_reaches_any_output(active, client, caplog, capsys):
    key = "content/state/secret-check.yaml"
    active.put(key, "title: t\ntext: राज्य स्तर की पोस्ट\nplatforms: [facebook]\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    active.sandbox.inject(Fault("facebook", "auth", account_id="fb-state"))
    tick(client, active)
    deliver(client, active, active.receive())
    active.sandbox.state.faults.clear()
    client.lambda_.invoke("token_health_check", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    active.at("2021-03-03T09:16:00+05:30")
    tick(client, active)
    deliver(client, active, active.receive())
    assert active.container.store.post(content_id_for(key), "fb-state").status is PostStatus.PUBLISHED
    secrets = ["sandbox-fb-state", "sandbox-secret-x-sahada", "sandbox-consumer-secret", "sandbox-wa-sahada"]
    activity = json.dumps([e.to_dict() for e in active.container.store.activity_on(active.clock.now().date())],
                          ensure_ascii=False)
    post = json.dumps(active.container.queries().post(content_id_for(key)), ensure_ascii=False)
    requests = json.dumps(active.sandbox.received(), ensure_ascii=False)
    printed = capsys.readouterr()
    for secret in secrets:
        for where, text in (("activity", activity), ("post", post), ("logs", caplog.text),
                            ("stdout", printed.out), ("stderr", printed.err), ("sandbox log", requests)):
            assert secret not in text, f"{secret} leaked into {where}"
