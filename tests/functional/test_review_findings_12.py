"""Hostile review of the uncommitted change "one read before the claim, the kill switch read after it, the last delivery
recorded with the publishing, publish now, metrics counted once" (chalicelib/services/publish.py, dispatch.py,
ingest.py, approvals.py). Each test fails on the change; its docstring says what breaks and why it matters.

The root of findings 1 and 2: the publisher no longer reads the kill switch before it claims a post, so a paused post
is now *claimed* every time the clock re-checks it (every PAUSE_RECHECK, 5 minutes): queued → publishing → paused.
Before the change it went queued → paused without a claim. `publishing` is not REPLACEABLE, so everything a coordinator
does to a paused post — take a row out of the calendar, reject it — now misses the post while it is in that window,
and once the pause is lifted the post goes out.
"""

import json

from chalicelib.domain.post import PostStatus, content_id_for

COORDINATOR = "state-01"
CALENDAR = "calendar/constituency/sahada/week.csv"
HEADER = "publish_at,platforms,title,text,link,media,series\r\n"
KEEP_ROW = "2021-03-05T09:00:00+05:30,facebook,रहेगा,सहाड़ा में सड़क बनेगी,,,\r\n"
DROP_ROW = "2021-03-05T09:00:00+05:30,facebook,हटाओ,गलत आंकड़े वाली पोस्ट,,,\r\n"
KEY = "content/constituency/sahada/review12.yaml"


def clock_event(client):
    return client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                           resources=[])


def tick(world, client, moment):
    world.at(moment)
    return client.lambda_.invoke("publishing_clock", clock_event(client)).payload


def deliver(world, client, messages):
    if messages:
        client.lambda_.invoke("on_publish_message", world.sqs_event(messages))


def pause(client, scope="state"):
    answer = client.http.post("/api/pause", body=json.dumps({"scope": scope, "reason": "फर्जी वीडियो की जांच"}),
                              member=COORDINATOR)
    assert answer.status_code == 200, answer.json_body


def resume(client, scope="state"):
    answer = client.http.post("/api/resume", body=json.dumps({"scope": scope}), member=COORDINATOR)
    assert answer.status_code == 200, answer.json_body


def texts_sent(world):
    return json.dumps(world.sandbox.received(), ensure_ascii=False)


def during_the_pause_re_check_claim(world, monkeypatch, action):
    """Run `action` at the moment the publisher, having claimed a paused post, reads the kill switch (the post is
    `publishing` then) — the window every re-check of a paused post opened. Once fixed (the pause is read with the
    post, before any claim), no claim happens and the action runs after the re-check, when the post is `paused`:
    `then()` runs it there."""
    store = world.container.store
    real_claim = store.claim_post
    done = []

    def claim_post(*args, **kwargs):
        claimed = real_claim(*args, **kwargs)
        if not done:
            done.append(action())
        return claimed

    def then():
        if not done:
            done.append(action())

    monkeypatch.setattr(store, "claim_post", claim_post)
    return done, then


def act_during_the_re_check_then_resume(world, client, monkeypatch, action, messages):
    """The re-check's messages delivered with `action` in the window (or after, once there is none), then the pause
    lifted and whatever is due published: what `action` returned."""
    done, then = during_the_pause_re_check_claim(world, monkeypatch, action)
    deliver(world, client, messages)
    then()
    monkeypatch.undo()
    resume(client)
    tick(world, client, "2021-03-05T09:06:00+05:30")
    deliver(world, client, world.receive())
    return done


# ---- 1. a calendar row taken out during a pause is not withdrawn, and goes out on resume -------------------------
def test_a_calendar_row_removed_while_its_post_is_paused_is_withdrawn_and_never_sent(active, client, monkeypatch):
    """A coordinator pauses the state, finds a wrong row in the constituency's calendar and uploads the calendar
    without it (`Ingest._withdraw_dropped_rows`: move_post(expected=REPLACEABLE) → withdrawn, silently skipped for any
    other status, and the row is forgotten at once by `remember_calendar_rows`). If that upload lands while the
    clock's 5-minute re-check has the paused post claimed (queued → publishing, a step the change added: the kill
    switch is read only after the claim), the withdrawal fails silently — no error, no retry, "0 withdrawn" — the
    publisher then parks the post back in `paused`, and on resume the row that was taken out is published. Before the
    change a paused post was never `publishing` (queued → paused at the gate, both replaceable)."""
    active.at("2021-03-05T08:00:00+05:30")
    pause(client)
    active.put(CALENDAR, HEADER + KEEP_ROW + DROP_ROW)
    client.lambda_.invoke("on_calendar_upload", active.s3_event(CALENDAR))
    dropped = content_id_for(f"{CALENDAR}#हटाओ")
    tick(active, client, "2021-03-05T09:00:30+05:30")
    deliver(active, client, active.receive())
    store = active.container.store
    assert store.post(dropped, "fb-sahada").status is PostStatus.PAUSED
    tick(active, client, "2021-03-05T09:05:31+05:30")  # the pause re-check: both posts queued again
    messages = active.receive()
    mine = [m for m in messages if json.loads(m["Body"])["content_id"] == dropped]
    assert mine, "the re-check queued the paused post"

    def remove_the_row():
        active.put(CALENDAR, HEADER + KEEP_ROW)
        return client.lambda_.invoke("on_calendar_upload", active.s3_event(CALENDAR)).payload

    act_during_the_re_check_then_resume(active, client, monkeypatch, remove_the_row, mine)
    post = store.post(dropped, "fb-sahada")
    assert "गलत आंकड़े" not in texts_sent(active), "the row taken out of the calendar was published after the resume"
    assert post.status is PostStatus.WITHDRAWN, post.status


# ---- 2. a rejection during a pause is refused as "already publishing", and the post goes out on resume -----------
def test_a_paused_post_rejected_during_its_re_check_is_rejected_and_never_sent(active, client, monkeypatch):
    """docs/post-states.md: `reject` is "also possible after approval, until the post is claimed", from `paused`
    among others. A coordinator pauses, then rejects a paused post; if the rejection lands while the 5-minute
    re-check has the post claimed (a claim the change introduced for paused posts), `Approvals.reject` finds nothing
    REPLACEABLE and answers 409 "nothing … can be stopped any more: fb-sahada publishing" — telling the coordinator
    it is already going out — while the publisher parks it back in `paused`. On resume the rejected post is
    published. Before the change a paused post was queued or paused at every moment, and the rejection always won."""
    active.at("2021-03-05T08:00:00+05:30")
    pause(client)
    active.put(KEY, "title: बजट\ntext: गलत दावा वाली पोस्ट\nplatforms: [facebook]\n"
                    "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    tick(active, client, "2021-03-05T09:00:30+05:30")
    deliver(active, client, active.receive())
    store = active.container.store
    assert store.post(content_id_for(KEY), "fb-sahada").status is PostStatus.PAUSED
    tick(active, client, "2021-03-05T09:05:31+05:30")
    messages = active.receive()

    def reject():
        return client.http.post(f"/api/posts/{content_id_for(KEY)}/reject", member=COORDINATOR,
                                body=json.dumps({"reason": "तथ्य गलत है"}))

    answers = act_during_the_re_check_then_resume(active, client, monkeypatch, reject, messages)
    post = store.post(content_id_for(KEY), "fb-sahada")
    said = answers[0].json_body if answers else None
    assert "गलत दावा" not in texts_sent(active), f"rejected ({said}) while paused, yet published after the resume"
    assert post.status is PostStatus.REJECTED, (post.status, said)


# ---- 3. "publish now" whose SQS send fails waits 10 minutes, not the clock's next minute -------------------------
def test_a_publish_now_whose_message_sqs_did_not_take_goes_out_at_the_clock_s_next_minute(active, client,
                                                                                           monkeypatch):
    """Dispatcher.queue_now moves the post scheduled → queued (wake_at = now + REQUEUE_AFTER, 10 min) *before* it
    sends, and on a failed send only logs "the clock will resend them" / "the publishing clock will". The clock does
    not look at it for 10 minutes: to the clock it is a queued post whose message is not yet overdue. So a failed
    send turns "publish now" into "publish in 10 minutes" — later than without the feature, where the clock queued a
    due post within a minute. Near an election silence that is the difference between out and held (and, for a
    constituency's own post, cancelled at the close of poll)."""
    active.at("2021-03-05T10:00:00+05:30")
    queue = active.container.publish_queue
    real_send = queue.send
    monkeypatch.setattr(queue, "send", lambda messages, delay_seconds=0: list(messages))  # SQS takes none of them
    active.put(KEY, "title: अभी\ntext: सहाड़ा में आज की सभा\nplatforms: [facebook]\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    monkeypatch.setattr(queue, "send", real_send)
    assert active.receive() == []
    ran = tick(active, client, "2021-03-05T10:01:00+05:30")  # the clock's next minute
    deliver(active, client, active.receive())
    tick(active, client, "2021-03-05T10:02:00+05:30")
    deliver(active, client, active.receive())
    post = active.container.store.post(content_id_for(KEY), "fb-sahada")
    assert post.status is PostStatus.PUBLISHED, (
        f"{post.status}, next look {post.wake_at}; the clock's runs at 10:01 and 10:02 did nothing ({ran})")
