"""The dashboard's page, its assets and its one read (/api/overview), through the real handlers."""

from __future__ import annotations

import json

import pytest
import yaml

from chalicelib.domain.post import PostStatus, content_id_for
from tests.support.campaigns import two_districts


@pytest.fixture()
def campaign(active, campaign_yaml):
    """The test campaign with sign-off, a Bhilwara district lead and a Vallabhnagar team and account."""
    document = two_districts(campaign_yaml)
    active.put("config/campaign.yaml", yaml.safe_dump(document, allow_unicode=True))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    return active


def upload(world, key, when, platforms="facebook"):
    world.put(key, f"title: {key.rsplit('/', 1)[1]}\ntext: विकास कार्य\nplatforms: [{platforms}]\n"
                   f"publish_at: {when}\n")
    assert world.container.ingest().content(key).outcome == "accepted"
    return content_id_for(key)


def test_the_page_and_its_assets_are_served_by_the_app_with_a_strict_policy(active, client):
    page = client.http.get("/dashboard", member=None)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self' http://127.0.0.1:" in policy
    assert b"dashboard/uPlot.iife.min.js" in page.body and b"https://" not in page.body, "no CDN"
    for asset, kind in (("app.js", "text/javascript"), ("uPlot.iife.min.js", "text/javascript"),
                        ("app.css", "text/css"), ("uPlot.min.css", "text/css")):
        answer = client.http.get(f"/dashboard/{asset}", member=None)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind), asset
    identity = json.loads(client.http.get("/dashboard/identity.json", member=None).body)
    assert identity["client_id"] and identity["endpoint"].startswith("http://127.0.0.1:")
    assert client.http.get("/dashboard/..%2Fapp.py", member=None).status_code == 404
    assert client.http.get("/dashboard/__init__.py", member=None).status_code == 404


def test_the_overview_counts_each_day_by_column(campaign, client):
    upload(campaign, "content/constituency/sahada/a.yaml", "2021-03-03T18:00:00+05:30", "facebook, x")
    rejected = upload(campaign, "content/constituency/sahada/b.yaml", "2021-03-04T10:00:00+05:30")
    client.http.post(f"/api/posts/{rejected}/reject", body=json.dumps({"reason": "no"}), member="bhilwara-01")
    approved = upload(campaign, "content/constituency/sahada/c.yaml", "2021-03-05T10:00:00+05:30")
    assert client.http.post(f"/api/posts/{approved}/approve", body=json.dumps({"revision": 1}),
                            member="bhilwara-01").status_code == 200
    data = client.http.get("/api/overview").json_body
    assert data["today"] == "2021-03-03" and [d["date"] for d in data["totals"]][:3] == [
        "2021-03-03", "2021-03-04", "2021-03-05"] and len(data["totals"]) == 8
    today, tomorrow, after = data["totals"][:3]
    assert (today["waiting_approval"], tomorrow["stopped"], after["scheduled"]) == (2, 1, 1)
    assert [a["id"] for a in data["approvals"]] == [content_id_for("content/constituency/sahada/a.yaml")]
    queued = data["approvals"][0]
    assert queued["accounts"] == ["fb-sahada", "x-sahada"] and queued["may_decide"] and queued["revision"] == 1


def test_coverage_marks_the_days_with_nothing_scheduled_until_each_poll(campaign, client):
    upload(campaign, "content/constituency/sahada/a.yaml", "2021-03-04T10:00:00+05:30")
    data = client.http.get("/api/overview").json_body
    sahada = next(row for row in data["coverage"] if row["team"] == "sahada-it-cell")
    assert sahada["poll"] == "2021-04-17" and sahada["days"][0]["date"] == "2021-03-03"
    assert sahada["days"][-1]["date"] == "2021-04-15" and len(sahada["days"]) == 44, \
        "until the silence starts (18:00 on the 15th): the 16th and the poll day are silent"
    assert "2021-03-03" in sahada["gaps"] and "2021-03-04" not in sahada["gaps"]
    state = next(row for row in data["coverage"] if row["team"] == "state-it-cell")
    assert state["poll"] == "2021-10-30", "the state campaigns until the last poll"


def test_a_lead_sees_only_their_district_and_may_decide_only_what_the_rules_give_them(campaign, client):
    upload(campaign, "content/constituency/sahada/a.yaml", "2021-03-04T10:00:00+05:30")
    upload(campaign, "content/constituency/vallabhnagar/v.yaml", "2021-03-04T10:00:00+05:30")
    lead = client.http.get("/api/overview", member="bhilwara-01").json_body
    assert lead["scope"] == "district/bhilwara"
    assert {s["scope"] for s in lead["scopes"]} == {"district/bhilwara", "constituency/sahada"}
    assert [a["scope"] for a in lead["approvals"]] == ["constituency/sahada"]
    assert {c["team"] for c in lead["coverage"]} == {"bhilwara-it-cell", "sahada-it-cell"}
    assert [s["constituency"] for s in lead["silences"]] == ["sahada"]
    sahada_lead = client.http.get("/api/overview", member="sahada-01").json_body
    assert sahada_lead["approvals"][0]["may_decide"] is False
    assert "lead of state or district/bhilwara" in sahada_lead["approvals"][0]["why_not"]
    assert client.http.get("/api/overview?scope=constituency/vallabhnagar", member="bhilwara-01").status_code == 403


def test_silences_kill_switch_troubled_accounts_and_failures(campaign, client):
    campaign.at("2021-04-16T09:00:00+05:30")  # inside Sahada's 48-hour silence
    client.http.post("/api/pause", body=json.dumps({"scope": "district/bhilwara", "reason": "video review"}))
    campaign.container.store.mark_account_unhealthy("x-sahada", "token revoked", campaign.clock.now())
    failed = upload(campaign, "content/state/f.yaml", "2021-04-16T10:00:00+05:30")
    campaign.force_post(failed, "fb-state", PostStatus.FAILED, reason="(#200) permission denied")
    data = client.http.get("/api/overview").json_body
    silences = {s["constituency"]: s for s in data["silences"]}
    assert silences["sahada"]["state"] == "silent" and silences["sahada"]["seconds_to_close"] == 33 * 3600
    assert silences["vallabhnagar"]["state"] == "before"
    assert [p["scope"] for p in data["pauses"]] == ["district/bhilwara"]
    assert [(a["account_id"], a["reason"]) for a in data["accounts"]] == [("x-sahada", "token revoked")]
    assert [(f["account_id"], f["reason"]) for f in data["failures"]] == [("fb-state", "(#200) permission denied")]


def test_uploads_per_member_carry_the_load_by_member_or_by_team(campaign, client):
    for name in ("a", "b"):
        upload(campaign, f"content/constituency/sahada/{name}.yaml", "2021-03-04T10:00:00+05:30")
    upload(campaign, "content/state/s.yaml", "2021-03-04T10:00:00+05:30")
    rows = client.http.get("/api/overview").json_body["charts"]["uploads_per_member"]
    assert rows == [{"member": "sahada-it-cell (team)", "name": "sahada-it-cell (team)", "uploads": 2},
                    {"member": "state-it-cell (team)", "name": "state-it-cell (team)", "uploads": 1}]
