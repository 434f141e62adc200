"""Hostile review of 2f9c1ac..10145b2 (PublishingLag from the due time through the sparse `on_its_way` index; fewer
AWS requests for WhatsApp statuses and team kits; the plain SQS batch loop; lazy platform clients; tracing). Each test
fails on the change; its docstring says what breaks and where.
"""

from __future__ import annotations

import json

from chalicelib.domain.post import PostStatus, content_id_for
from tests.functional.test_observability import lines, metrics, tick

COORDINATOR = "state-01"
KEY = "content/constituency/sahada/review-13.yaml"


def emitted(capfd):
    return metrics(lines(capfd.readouterr().out))


def lag_reported(capfd):
    return [value for name, _, value, _ in emitted(capfd) if name == "PublishingLag"]


def deliver(world, client):
    messages = world.receive()
    if messages:
        client.lambda_.invoke("on_publish_message", world.sqs_event(messages))
    return messages


# ---- 1. a pause reads as late publishing: the lag alarm fires during every pause ---------------------------------
def test_a_paused_post_is_not_reported_late_while_the_pause_lasts(active, client, emf, capfd):
    """README ("PublishingLag … a post held on purpose — for a sign-off, a pause, a silence, a throttle or a held
    account — is not late, each of those has its own metric or alarm"), docs/runbook.md and the alarm's description
    all promise that a paused post does not count. But a paused post wakes every PAUSE_RECHECK (5 min): the clock
    moves it paused → queued (`queue`, via Store._move, which puts `way_pk` back because QUEUED is in ON_ITS_WAY) and
    then, in the same run, `Dispatcher._report_lag` reads the on_its_way index — where the post now sits under its
    original due time. So every re-check of a paused post reports PublishingLag = time since it was due. With the
    alarm's Maximum over 300 s and 2 evaluation periods, a 5-minute re-check puts a breaching datapoint in every
    period: any pause that lasts ~20 minutes past a post's due time pages the on-call as "publishing is late".
    (The same holds for held_account, re-queued every 15 minutes, and held_throttled at each reset.)"""
    active.at("2021-03-05T08:00:00+05:30")
    answer = client.http.post("/api/pause", body=json.dumps({"scope": "state", "reason": "वीडियो की जांच"}),
                              member=COORDINATOR)
    assert answer.status_code == 200, answer.json_body
    active.put(KEY, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(KEY))
    reported = []
    for moment in ("09:00:30", "09:05:31", "09:10:32", "09:15:33", "09:20:34", "09:25:35"):
        active.at(f"2021-03-05T{moment}+05:30")
        capfd.readouterr()
        tick(client)
        reported.append(max(lag_reported(capfd), default=None))
        deliver(active, client)  # the publisher sees the pause and parks the post again
        assert active.container.store.post(content_id_for(KEY), "fb-sahada").status is PostStatus.PAUSED
    assert None not in reported, reported
    assert max(reported) < 600, (
        f"the post has been deliberately paused all along, yet the clock reported it late: PublishingLag per run "
        f"{[round(v) for v in reported]} s (the alarm fires over 600 s in two 5-minute periods running)")


# ---- 2. "approvals take may_see": the API still reads the content first ------------------------------------------
def test_a_decision_reads_the_content_once_as_the_approvals_service_now_allows(active, client, monkeypatch,
                                                                              campaign_yaml):
    """2f9c1ac's "fewer AWS requests" gives Approvals.approve/reject/clear_silence a `may_see` ("another team's content
    answers as a GET does — not found … so the API need not read the content first to check"), but nothing passes it:
    chalicelib/entry.py `decide` still calls `_seen_content` (a GetItem of the content record) before the service's
    own `content_with_posts` (a Query of the same partition) — every approve, reject and clear-silence makes the extra
    read the change claims to have removed, and the `may_see` branch is dead code that no test through the API
    exercises."""
    from tests.functional.test_approvals import act, upload, with_sign_off

    active.put("config/campaign.yaml", with_sign_off(campaign_yaml))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    upload(active, client, key=KEY, principal="AWS:AIDASAHADA02")
    revision = client.http.get(f"/api/posts/{content_id_for(KEY)}").json_body["revision"]
    store = active.container.store
    reads = []
    real_content = store.content
    monkeypatch.setattr(store, "content", lambda content_id: reads.append(content_id) or real_content(content_id))
    approved = act(client, "approve", "bhilwara-01", {"revision": revision}, key=KEY)
    assert approved.status_code == 200, approved.json_body
    assert reads == [], f"the approval read the content record on its own first: {reads}"

