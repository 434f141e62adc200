"""The HTTP API through chalice.test.Client."""

import pytest

from chalicelib.domain.post import content_id_for


def test_health_reports_the_clock_and_the_campaign(active, client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "service": "prachar", "stage": "test",
                                  "now": "2021-03-03T03:30:00Z", "campaign": "test-bypolls"}


def test_a_post_shows_its_content_and_each_account(active, client):
    key = "content/constituency/sahada/p.yaml"
    active.put(key, "title: बजट\ntext: सहाड़ा\nplatforms: [facebook]\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    body = client.http.get(f"/api/posts/{content_id_for(key)}").json_body
    assert (body["title"], body["key"], body["scope"]) == ("बजट", key, "constituency/sahada")
    assert [(a["account_id"], a["status"]) for a in body["accounts"]] == [("fb-sahada", "queued")], "due now"


def test_an_unknown_post_is_404(active, client):
    response = client.http.get("/api/posts/0000000000000000")
    assert response.status_code == 404
    assert "0000000000000000" in response.json_body["Message"]


def test_activity_by_scope_and_date(active, client):
    for key in ("content/constituency/sahada/a.yaml", "content/state/b.yaml"):
        active.put(key, "title: t\ntext: x\nplatforms: [facebook]\n")
        client.lambda_.invoke("on_content_upload", active.s3_event(key))
    everything = client.http.get("/api/activity?date=2021-03-03").json_body
    assert [e["kind"] for e in everything["entries"]] == ["upload.accepted", "upload.accepted", "config.activated"]
    sahada = client.http.get("/api/activity?scope=constituency/sahada").json_body
    assert [e["key"] for e in sahada["entries"]] == ["content/constituency/sahada/a.yaml"]
    assert client.http.get("/api/activity?date=2021-03-04").json_body["entries"] == []
    assert len(client.http.get("/api/activity?limit=1").json_body["entries"]) == 1


@pytest.mark.parametrize("query, words", [("date=03-03-2021", "2021-03-05"), ("scope=nation", "not a scope"),
                                          ("limit=lots", "whole number")])
def test_bad_queries_are_400_with_the_reason(active, client, query, words):
    response = client.http.get(f"/api/activity?{query}")
    assert response.status_code == 400
    assert words in response.json_body["Message"]
