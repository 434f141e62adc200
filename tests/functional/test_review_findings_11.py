"""Review of the observability change (c13ed96) and the runbook (85d080c), through the real handlers on the
emulator: each finding is a test that fails on the change. The docstring of each says what breaks, and where.

The EMF lines and the log lines are captured as tests/functional/test_observability.py does (its `emf` fixture and
its parsers are reused).
"""

from __future__ import annotations

import json
from collections import Counter

from chalicelib.adapters import aws
from chalicelib.domain.post import PostStatus, content_id_for
from local.sandbox import Fault
from tests.functional.test_broadcasts import import_contacts, publish_broadcast
from tests.functional.test_observability import lines, metrics, tick

KEY = "content/constituency/sahada/review-11.yaml"


def emitted(capfd):
    return metrics(lines(capfd.readouterr().out))


# ---- 1. PublishingLag measures the clock, not the posts -------------------------------------------------------
def test_publishing_lag_reports_a_post_that_is_half_an_hour_late_and_still_not_out(active, client, emf, capfd):
    """infra/resources.yaml's PublishingLagAlarm says "A post due more than 10 minutes ago is not out yet", and
    the runbook sends ops to it for a post that did not go out. But chalicelib/services/dispatch.py measures
    `now - wake_at` of SCHEDULED/QUEUED posts, and the clock itself moves a queued post's wake_at 10 minutes ahead
    (REQUEUE_AFTER) every time it (re)queues it: a post whose publish message never gets through (the Lambda
    failing on it, a lost message) is re-queued every 10 minutes and reported ~1 s late each time — for ever. While
    the clock runs, the metric never exceeds a minute, so the alarm can fire only when the clock itself stops."""
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    reported = []
    for moment in ("09:00:30", "09:10:31", "09:20:32", "09:30:33"):
        active.at(f"2021-03-05T{moment}+05:30")
        capfd.readouterr()
        tick(client)
        reported += [value for name, _, value, _ in emitted(capfd) if name == "PublishingLag"]
        # The publish Lambda never gets it through (every message it is given fails, then dead-letters).
        for message in active.receive():
            aws.client("sqs").delete_message(QueueUrl=active.queue_url(), ReceiptHandle=message["ReceiptHandle"])
    post = active.container.store.post(content_id_for(KEY), "fb-sahada")
    assert post.status is PostStatus.QUEUED and post.published_at is None, "due 09:00, not out at 09:30"
    assert len(reported) == 4, reported
    assert reported[-1] >= 1800, (
        f"at 09:30:33 the post is 30 minutes late, but PublishingLag says {reported[-1]:.0f} s "
        f"(all reported: {[round(v) for v in reported]})")


# ---- 2. a broadcast post is never counted as published ----------------------------------------------------------
def test_a_broadcast_post_that_went_out_is_counted_published(active, client, emf, capfd):
    """chalicelib/services/publish.py counts Published and DueToPublished in `_published` only; a WhatsApp post to
    `subscribers` ends in `_broadcast`, which moves it to published (and records "post.published") without either
    metric — while its failures (`_settle(FAILED)` when broadcasts are not set up, or after MAX_ATTEMPTS of a begin
    that keeps failing) are counted as Failed. The WhatsApp failure-rate alarm thus sees a broadcast's failures and
    never its successes, and the published counts by scope miss every broadcast."""
    import_contacts(active, client, [1, 2, 3])
    capfd.readouterr()
    content_id = publish_broadcast(active, client)
    found = emitted(capfd)
    post = active.container.store.post(content_id, "wa-sahada")
    assert post.status is PostStatus.PUBLISHED
    published = [(dims, value) for name, dims, value, _ in found if name == "Published"]
    assert ({"platform": "whatsapp"}, 1.0) in published, f"Published metrics: {published}"


# ---- 3. correlation ids wiped from the lines that name only an account ------------------------------------------
def test_every_line_of_a_throttled_publish_carries_the_posts_ids(active, client, emf, capfd):
    """chalicelib/entry.py appends content_id/account_id/post_id for the whole publish (`correlated`), but
    ActivityLog.record logs with `extra={"content_id": content_id, "account_id": account_id, ...}`: Powertools lets
    a record's extras override the appended keys and then drops keys whose value is None. So every activity line
    recorded without a content id — `account.throttled`, `account.unhealthy` (one account, many posts) — loses
    the post's content_id in the middle of its own publish, and a Logs Insights query on the post's content_id
    misses exactly the line that says why it was held."""
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    active.sandbox.inject(Fault("facebook", "rate_limit", account_id="fb-sahada", times=1))
    active.at("2021-03-05T09:01:00+05:30")
    tick(client)
    emf.lines.clear()
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    logged = lines("\n".join(emf.lines))
    assert any(r.get("activity") == "account.throttled" for r in logged), [r.get("message") for r in logged]
    missing = [r.get("activity") or r.get("message") for r in logged if r.get("content_id") != content_id_for(KEY)]
    assert missing == [], f"lines of the publish without its content_id: {missing}"


# ---- 4. a webhook Meta delivers again is counted again ---------------------------------------------------------
def test_a_status_webhook_delivered_again_is_not_counted_again(active, client, emf, capfd):
    """chalicelib/services/webhooks.py counts WebhookStatuses before it looks whether the status is a repeat
    (`known >= rank` → "repeated", no effect). Meta redelivers webhooks (at least once; every 503 this handler
    answers for a post being published makes Meta send the whole envelope again, statuses already handled
    included), so the metric counts deliveries, not statuses: one message delivered once reads as many."""
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [whatsapp]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    active.at("2021-03-05T09:01:00+05:30")
    tick(client)
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    webhooks = active.sandbox.take_webhooks()
    assert webhooks, "the sandbox sent the team's statuses"

    def deliver():
        capfd.readouterr()
        for body, headers in webhooks:
            answer = client.http.post("/webhooks/whatsapp", body=body,
                                      headers={**headers, "Content-Type": "application/json"}, member=None)
            assert answer.status_code == 200, answer.body
        return Counter(dims.get("status") for name, dims, _, _ in emitted(capfd)
                       if name == "WebhookStatuses" and "scope" in dims)

    first = deliver()
    assert sum(first.values()) >= 2, first
    again = deliver()
    assert sum(again.values()) == 0, f"the same statuses delivered again were counted again: {dict(again)}"


# ---- 5. a paused post is "held" again at every re-check ---------------------------------------------------------
def test_one_paused_post_is_counted_held_once(active, client, emf, capfd):
    """A paused post wakes every PAUSE_RECHECK (5 minutes), is queued, and the publisher holds it again —
    `_hold` counts Held(reason=paused) each time. A state-wide pause of a day counts each post ~288 times, so Held
    says how many re-checks ran, not how many posts waited (and a long pause dwarfs every other hold reason)."""
    paused = client.http.post("/api/pause", body=json.dumps({"scope": "state", "reason": "review"}),
                              member="state-01")
    assert paused.status_code == 200, paused.json_body
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    held = []
    for moment in ("09:00:30", "09:05:31", "09:10:32", "09:15:33"):
        active.at(f"2021-03-05T{moment}+05:30")
        capfd.readouterr()
        tick(client)
        messages = active.receive()
        if messages:
            client.lambda_.invoke("on_publish_message", active.sqs_event(messages))
        held += [dims for name, dims, value, _ in emitted(capfd) if name == "Held" and "scope" not in dims
                 for _ in range(int(value))]
    post = active.container.store.post(content_id_for(KEY), "fb-sahada")
    assert post.status is PostStatus.PAUSED
    assert len(held) == 1, f"one post, paused once, counted Held {len(held)} times"


# ---- 6. runbook: "the activity log says how late" ---------------------------------------------------------------
def test_a_late_post_s_activity_entry_says_how_late_it_went_out(active, client):
    """docs/runbook.md, "A token expired", step 3: after a good check the held posts go out — "late ones still go;
    the activity log says how late". The post.published entry (chalicelib/services/publish.py `_published`) says
    what went out and its attempts; nothing in its message or details gives the due time or the delay."""
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    active.at("2021-03-05T10:30:00+05:30")  # e.g. held for an unhealthy account until the check at 10:30
    tick(client)
    client.lambda_.invoke("on_publish_message", active.sqs_event(active.receive()))
    post = active.container.store.post(content_id_for(KEY), "fb-sahada")
    assert post.status is PostStatus.PUBLISHED
    entries = client.http.get("/api/activity?scope=constituency/sahada&date=2021-03-05", member="state-01").json_body
    entries = entries.get("entries", entries) if isinstance(entries, dict) else entries
    [published] = [e for e in entries if e.get("kind") == "post.published"]
    said = json.dumps(published, ensure_ascii=False)
    assert any(word in said for word in ("late", "90 min", "1 h 30", "1h30", "due")), said


# ---- 7. a kit re-sent to one member is published (and counted) twice -------------------------------------------
def test_a_kit_re_sent_to_one_member_counts_one_published_post(active, client, emf, capfd):
    """A WhatsApp `failed` status for a passing reason (131000) reopens a published team kit for that member
    (store.reopen_delivery: published → queued); the re-send ends in `_published` again, which counts Published and
    DueToPublished again. One post, reaching its team once, is two published posts in CloudWatch (inflating the
    failure-rate alarm's denominator), and the second DueToPublished is measured from the original due time — the
    latency graph shows a post "published" long after it went out."""
    from tests.functional.test_exactly_once import failed_status, published_kit
    from tests.functional.test_failure_classes import post_of, run_clock

    capfd.readouterr()
    key, post = published_kit(active, client)
    first = [v for name, dims, v, _ in emitted(capfd) if name == "Published" and "scope" not in dims]
    assert first == [1.0], first
    body, headers = failed_status(active, post, "sahada-02", 131000)
    assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    capfd.readouterr()
    run_clock(active, client, "2021-03-05T11:00:00+05:30")
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    found = emitted(capfd)
    again = [v for name, dims, v, _ in found if name == "Published" and "scope" not in dims]
    latency = [v for name, dims, v, _ in found if name == "DueToPublished" and "scope" not in dims]
    assert again == [], f"the same post counted Published again ({again}), DueToPublished {latency} s"
