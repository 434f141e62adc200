"""Engagement: collected hourly for the last 7 days' posts, within each platform's read limits, shown per team."""

from __future__ import annotations

import pytest

from chalicelib.domain.post import PostStatus, content_id_for
from tests.functional.test_failure_classes import deliver_all, run_clock, scheduled_event

KEY = "content/constituency/sahada/engage.yaml"


def collect(client):
    return client.lambda_.invoke("engagement_collector", scheduled_event(client)).payload


@pytest.fixture()
def out(active, client):
    active.put(KEY, "title: t\ntext: सहाड़ा में नया महाविद्यालय\nplatforms: [facebook, x, whatsapp]\n"
                    "publish_at: 2021-03-03T10:00:00+05:30\n")
    assert active.container.ingest().content(KEY).outcome == "accepted"
    run_clock(active, client, "2021-03-03T10:01:00+05:30")
    deliver_all(active, client)
    for body, headers in active.sandbox.take_webhooks():  # Meta's sent / delivered statuses
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    return active


def post(world, account):
    return world.container.store.post(content_id_for(KEY), account)


def test_each_platforms_numbers_land_on_the_post(out, client):
    fb, x = post(out, "fb-sahada"), post(out, "x-sahada")
    assert fb.status is x.status is PostStatus.PUBLISHED
    out.sandbox.set_metrics(fb.platform_post_id, {"reactions": 41, "comments": 7, "shares": 3})
    out.sandbox.set_metrics(x.platform_post_id, {"like_count": 12, "retweet_count": 4, "reply_count": 2,
                                                 "quote_count": 1, "impression_count": 900})
    out.at("2021-03-03T11:00:00+05:30")
    assert collect(client) == {"fb-sahada": 1, "x-sahada": 1, "wa-sahada": 1}
    assert post(out, "fb-sahada").metrics == {"reactions": 41, "comments": 7, "shares": 3}
    assert post(out, "x-sahada").metrics == {"likes": 12, "reposts": 4, "replies": 2, "quotes": 1,
                                             "impressions": 900}
    wa = post(out, "wa-sahada")
    members = len(wa.deliveries)
    assert wa.metrics["sent"] == members and wa.metrics.get("read", 0) <= wa.metrics.get("delivered", 0) <= members
    rows = {r["platform"]: r for r in client.http.get("/api/overview").json_body["engagement"]}
    assert rows["facebook"]["reactions"] == 41 and rows["x"]["impressions"] == 900
    assert client.http.get("/api/overview", member="sahada-02").json_body["engagement"], "a member sees their team's"


def test_one_read_per_platform_account_a_run_and_none_after_seven_days(out, client):
    out.at("2021-03-03T11:00:00+05:30")
    collect(client)
    assert (out.sandbox.metric_reads("fb-sahada"), out.sandbox.metric_reads("x-sahada")) == (1, 1)
    out.at("2021-03-10T11:00:00+05:30")  # a week and an hour after it went out
    assert collect(client) == {}
    assert out.sandbox.metric_reads("x-sahada") == 1


def test_a_throttled_account_is_not_read_and_keeps_its_last_numbers(out, client):
    out.at("2021-03-03T11:00:00+05:30")
    collect(client)
    before = post(out, "x-sahada").metrics
    out.container.store.throttle_account("x-sahada", out.clock.now().replace(hour=23), "429", out.clock.now())
    out.at("2021-03-03T12:00:00+05:30")
    collect(client)
    assert out.sandbox.metric_reads("x-sahada") == 1 and post(out, "x-sahada").metrics == before


def test_the_daily_report_shows_the_weeks_engagement(out, client):
    import csv
    import io

    out.sandbox.set_metrics(post(out, "fb-sahada").platform_post_id, {"reactions": 5, "comments": 1, "shares": 0})
    out.at("2021-03-03T20:00:00+05:30")
    collect(client)
    out.at("2021-03-03T21:00:00+05:30")
    client.lambda_.invoke("daily_report", scheduled_event(client))
    rows = list(csv.DictReader(io.StringIO(out.read("reports/2021-03-03/report.csv").decode("utf-8"))))
    fb = next(r for r in rows if r["platform"] == "facebook" and r["team"] == "sahada-it-cell")
    assert fb["engagement"] == "comments 1; reactions 5; shares 0"


def test_whatsapp_reach_counts_each_member_once_per_stage_whatever_the_webhooks_order(out, client):
    import json

    from tests.functional.test_webhooks import signed

    out.at("2021-03-03T11:00:00+05:30")
    collect(client)
    wa = post(out, "wa-sahada")
    before = dict(wa.metrics)
    member, message_id = next(iter(wa.deliveries.items()))
    from chalicelib.domain.whatsapp_webhook import delivery_reference

    def status(name):
        return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "3000002"},
                          "statuses": [{"id": message_id, "status": name, "timestamp": "1614744000",
                                        "recipient_id": "919000000102",
                                        "biz_opaque_callback_data": delivery_reference(wa.content_id, wa.account_id,
                                                                                       member)}]}}]}]}

    for name in ("read", "delivered", "read", "sent"):  # late, repeated, out of order
        body, headers = signed(out, json.dumps(status(name)).encode())
        assert client.http.post("/webhooks/whatsapp", body=body, headers=headers).status_code == 200
    out.at("2021-03-03T12:00:00+05:30")
    collect(client)
    after = post(out, "wa-sahada").metrics
    assert after["read"] == before.get("read", 0) + 1
    assert after["delivered"] == max(before.get("delivered", 0), 1) and after["sent"] == before["sent"]
