"""The evening coverage alert: tomorrow's gaps in the activity log and on the coordinators' WhatsApp, once."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.functional.test_failure_classes import deliver_all, run_clock, scheduled_event


@pytest.fixture()
def alerting(active, campaign_yaml):
    document = yaml.safe_load(campaign_yaml)
    document["whatsapp_templates"] = [{"name": "prachar_coverage_gaps", "params": 2, "language": "hi"},
                                      {"name": "prachar_daily_report", "params": 4, "language": "hi"}]
    document["accounts"].append({"id": "wa-state", "scope": "state", "platform": "whatsapp",
                                 "phone_number_id": "3000001", "secret": "/prachar/{stage}/accounts/wa-state"})
    document["teams"][0]["members"].append({"id": "state-02", "name": "दूसरी समन्वयक", "role": "coordinator",
                                            "phone": "+919000000002"})
    active.put("config/campaign.yaml", yaml.safe_dump(document, allow_unicode=True))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    from chalicelib.adapters import aws
    from chalicelib.domain.campaign import Campaign
    from local.provision import register_in_sandbox, seed_account_secrets

    accounts = Campaign.model_validate(document).accounts
    register_in_sandbox(active.sandbox, seed_account_secrets(aws.client("ssm"), aws.client("secretsmanager"),
                                                             accounts, "test"))
    return active


def evening(client):
    return client.lambda_.invoke("coverage_alert", scheduled_event(client))


def upload(world, key, when):
    world.put(key, f"title: t\ntext: विकास\nplatforms: [facebook]\npublish_at: {when}\n")
    assert world.container.ingest().content(key).outcome == "accepted"


def gap_entries(world, day):
    from datetime import date

    return [e for e in world.container.store.activity_on(date.fromisoformat(day)) if e.kind == "coverage.gap"]


def test_each_evening_tomorrows_gaps_reach_the_activity_log_and_the_coordinators_once(alerting, client):
    upload(alerting, "content/constituency/sahada/tomorrow.yaml", "2021-03-04T10:00:00+05:30")
    alerting.at("2021-03-03T19:00:00+05:30")
    first = evening(client).payload
    again = evening(client).payload
    assert first["date"] == "2021-03-04" and first["gaps"] == ["state-it-cell"] and first["whatsapp"] == "wa-state"
    assert again["already"] is True, "EventBridge may fire twice: the alert goes once"
    entries = gap_entries(alerting, "2021-03-03")
    assert [(e.scope, e.level) for e in entries] == [("state", "warning")]
    assert "state-it-cell has nothing scheduled for 2021-03-04" in entries[0].message
    run_clock(alerting, client, "2021-03-03T19:01:00+05:30")
    deliver_all(alerting, client)
    messages = [r for r in alerting.sandbox.received() if r["platform"] == "whatsapp"]
    assert sorted(m["body"]["to"] for m in messages) == ["919000000001", "919000000002"], "every coordinator, once"
    template = messages[0]["body"]["template"]
    assert template["name"] == "prachar_coverage_gaps"
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["2021-03-04", "state-it-cell"]
    overview = client.http.get("/api/overview").json_body
    assert all(d["scheduled"] + d["published"] <= 1 for d in overview["totals"]), "the alert counts nowhere"


def test_a_campaign_without_the_template_gets_the_log_entry_and_says_why_no_message(active, client):
    active.at("2021-03-03T19:00:00+05:30")
    result = evening(client).payload
    assert set(result["gaps"]) == {"state-it-cell", "sahada-it-cell"} and result["whatsapp"] is None
    kinds = [e.kind for e in active.container.store.activity_on(__import__("datetime").date(2021, 3, 3))]
    assert kinds.count("coverage.gap") == 2 and "alert.not_sent" in kinds


def test_no_gaps_no_message(alerting, client):
    for scope in ("state", "constituency/sahada"):
        upload(alerting, f"content/{scope}/t.yaml", "2021-03-04T10:00:00+05:30")
    alerting.at("2021-03-03T19:00:00+05:30")
    result = evening(client).payload
    assert result["gaps"] == [] and result["whatsapp"] is None
    assert json.dumps(gap_entries(alerting, "2021-03-03"), default=str) == "[]"


def daily_report(client):
    return client.lambda_.invoke("daily_report", scheduled_event(client)).payload


def test_the_daily_report_counts_each_team_and_platform_and_neutralises_formulas(alerting, client):
    import csv
    import io

    from chalicelib.domain.post import PostStatus, content_id_for

    upload(alerting, "content/constituency/sahada/out.yaml", "2021-03-03T10:00:00+05:30")
    upload(alerting, "content/constituency/sahada/bad.yaml", "2021-03-03T11:00:00+05:30")
    upload(alerting, "content/state/held.yaml", "2021-03-03T12:00:00+05:30")
    run_clock(alerting, client, "2021-03-03T10:01:00+05:30")
    deliver_all(alerting, client)
    alerting.force_post(content_id_for("content/constituency/sahada/bad.yaml"), "fb-sahada", PostStatus.FAILED,
                        reason="=HYPERLINK(\"http://evil\") <b>refused</b>")
    alerting.force_post(content_id_for("content/state/held.yaml"), "fb-state", PostStatus.HELD_ACCOUNT,
                        reason="token expired")
    alerting.at("2021-03-03T21:00:00+05:30")
    first = daily_report(client)
    assert first["folder"] == "reports/2021-03-03" and first["whatsapp"] == "wa-state"
    assert first["summary"].startswith("1 published, 1 failed, 1 held, 0 expired, 0 rejected")
    rows = list(csv.DictReader(io.StringIO(alerting.read("reports/2021-03-03/report.csv").decode("utf-8"))))
    sahada = next(r for r in rows if r["team"] == "sahada-it-cell" and r["platform"] == "facebook")
    assert (sahada["published"], sahada["failed"]) == ("1", "1")
    assert sahada["failure_reasons"].startswith("'=HYPERLINK"), "a formula is text in a spreadsheet"
    assert next(r for r in rows if r["team"] == "state-it-cell")["held"] == "1"
    page = alerting.read("reports/2021-03-03/report.html").decode("utf-8")
    assert "&lt;b&gt;refused&lt;/b&gt;" in page and "<b>refused</b>" not in page
    assert 'name="viewport"' in page and "Coverage gaps, next 7 days" in page
    again = daily_report(client)
    assert again["again"] is True and again["whatsapp"] is None, "one summary a day on WhatsApp"
    run_clock(alerting, client, "2021-03-03T21:01:00+05:30")
    deliver_all(alerting, client)
    reports = [r for r in alerting.sandbox.received() if r["platform"] == "whatsapp"
               and r["body"].get("template", {}).get("name") == "prachar_daily_report"]
    assert sorted(r["body"]["to"] for r in reports) == ["919000000001", "919000000002"]
    assert [p["text"] for p in reports[0]["body"]["template"]["components"][0]["parameters"]] == [
        "2021-03-03", "1", "1", "2"]
