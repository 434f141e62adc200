"""Election silence, campaign end and the kill switch, enforced at publish time through the real handlers."""

import json

from chalicelib.domain.post import PostStatus, content_id_for

COORDINATOR = "state-01"
LEAD = "sahada-01"


def event(client):
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])


def upload(world, client, key, platforms, publish_at):
    world.put(key, f"title: t\ntext: \"सहाड़ा में विकास ({key})\"\nplatforms: [{platforms}]\n"
                   f"publish_at: {publish_at}\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key))


def run(world, client, moment):
    world.at(moment)
    client.lambda_.invoke("publishing_clock", event(client))
    messages = world.receive()
    if messages:
        client.lambda_.invoke("on_publish_message", world.sqs_event(messages))


def status(world, key, account):
    return world.container.store.post(content_id_for(key), account).status


def post_json(client, path, body, member):
    return client.http.post(path, body=json.dumps(body), member=member)


SAHADA = "content/constituency/sahada/silence.yaml"
STATE = "content/state/silence.yaml"


def test_posts_in_the_silence_are_held_then_cancelled_or_released_at_the_close_of_poll(active, client):
    upload(active, client, SAHADA, "facebook", "2021-04-16T10:00:00+05:30")
    upload(active, client, STATE, "facebook", "2021-04-16T10:00:00+05:30")
    warnings = [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "upload.warning"]
    assert len(warnings) == 2 and "election silence" in warnings[0].message, "warned at upload"
    run(active, client, "2021-04-16T10:00:00+05:30")
    for key, account in ((SAHADA, "fb-sahada"), (STATE, "fb-state")):
        post = active.container.store.post(content_id_for(key), account)
        assert post.status is PostStatus.HELD_SILENCE
        assert post.wake_at.isoformat() == "2021-04-17T12:30:00+00:00", "until the close of poll"
        assert "election silence in सहाड़ा" in post.reason
    assert active.sandbox.received() == []
    run(active, client, "2021-04-17T18:00:00+05:30")
    assert status(active, SAHADA, "fb-sahada") is PostStatus.CANCELLED_CAMPAIGN_OVER
    assert status(active, STATE, "fb-state") is PostStatus.PUBLISHED
    assert [r["account_id"] for r in active.sandbox.received()] == ["fb-state"]


def test_the_campaign_closer_cancels_what_was_scheduled_after_the_poll(active, client):
    later = "content/constituency/sahada/after.yaml"
    upload(active, client, later, "facebook, x", "2021-04-20T09:00:00+05:30")
    active.at("2021-04-17T18:04:00+05:30")
    assert client.lambda_.invoke("campaign_closer", event(client)).payload == {"sahada": 2}
    assert status(active, later, "fb-sahada") is PostStatus.CANCELLED_CAMPAIGN_OVER
    assert client.lambda_.invoke("campaign_closer", event(client)).payload == {}, "once per poll"


def test_pausing_is_for_coordinators_and_leads_inside_their_scope_and_says_why(active, client):
    assert post_json(client, "/api/pause", {"scope": "district/bhilwara", "reason": "x"}, LEAD).status_code == 403
    assert post_json(client, "/api/pause", {"scope": "constituency/sahada", "reason": "x"}, "sahada-02"
                     ).status_code == 403  # a member
    assert post_json(client, "/api/pause", {"reason": "x"}, None).status_code == 401
    mine = post_json(client, "/api/pause", {"reason": "booth video"}, LEAD)  # a lead's own scope by default
    assert mine.json_body == {"paused": "constituency/sahada", "by": LEAD, "reason": "booth video"}
    assert post_json(client, "/api/pause", {"scope": "district/bhilwara"}, COORDINATOR).status_code == 400
    assert post_json(client, "/api/pause", {"scope": "constituency/kota", "reason": "x"},
                     COORDINATOR).status_code == 400
    ok = post_json(client, "/api/pause", {"scope": "district/bhilwara", "reason": "fake video alert"}, COORDINATOR)
    assert ok.json_body == {"paused": "district/bhilwara", "by": "state-01", "reason": "fake video alert"}
    assert [p["scope"] for p in client.http.get("/api/pauses").json_body["paused"]] == [
        "constituency/sahada", "district/bhilwara"]


def test_a_pause_stops_a_message_already_on_the_queue_and_a_resume_releases_it(active, client):
    upload(active, client, SAHADA, "facebook", "2021-03-05T09:00:00+05:30")
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", event(client))
    queued = active.receive()  # the publish message is on the queue …
    assert post_json(client, "/api/pause", {"scope": "district/bhilwara", "reason": "review"},
                     COORDINATOR).status_code == 200  # … when the coordinator pulls the switch
    client.lambda_.invoke("on_publish_message", active.sqs_event(queued))
    assert status(active, SAHADA, "fb-sahada") is PostStatus.PAUSED
    assert active.sandbox.received() == []
    resumed = post_json(client, "/api/resume", {"scope": "district/bhilwara"}, COORDINATOR).json_body
    assert resumed == {"resumed": "district/bhilwara", "was_paused": True, "posts_released": 1}
    run(active, client, "2021-03-05T09:01:00+05:30")
    assert status(active, SAHADA, "fb-sahada") is PostStatus.PUBLISHED


def test_a_pause_that_lands_just_before_the_claim_still_wins_and_costs_no_attempt(active, client, monkeypatch):
    upload(active, client, SAHADA, "facebook", "2021-03-05T09:00:00+05:30")
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", event(client))
    store = active.container.store
    real_claim = store.claim_post

    def pause_arrives_first(*args, **kwargs):
        store.pause("state", "state-01", "everything stops", active.clock.now())
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(store, "claim_post", pause_arrives_first)
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    assert status(active, SAHADA, "fb-sahada") is PostStatus.PAUSED, "the look after the claim saw the pause"
    assert active.sandbox.received() == []
    post = store.post(content_id_for(SAHADA), "fb-sahada")
    assert post.attempts == 0, "waiting out a pause is not an attempt"


def test_a_pause_elsewhere_does_not_stop_this_scope(active, client):
    post_json(client, "/api/pause", {"scope": "district/udaipur", "reason": "review"}, COORDINATOR)
    upload(active, client, SAHADA, "facebook", "2021-03-05T09:00:00+05:30")
    run(active, client, "2021-03-05T09:00:00+05:30")
    assert status(active, SAHADA, "fb-sahada") is PostStatus.PUBLISHED
