"""Reading contacts in the clear: only a coordinator or the constituency's lead, through the API, and each read is in
the activity log (who, which constituency, how many — never a number)."""

from __future__ import annotations

import json
import urllib.request

from tests.functional.test_audience_import import HEADER, KEY, rows


def exported(client, member, constituency="sahada"):
    return client.http.post("/api/audience/export", body=json.dumps({"constituency": constituency}), member=member)


def test_a_coordinator_exports_a_constituencys_contacts_and_the_read_is_logged(active, client):
    active.put(KEY, HEADER + rows([1, 2, 3]))
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    answer = exported(client, "state-01")
    assert answer.status_code == 200, answer.json_body
    body = answer.json_body
    assert body["contacts"] == 3 and body["expires_in"] == 900 and body["key"].startswith("exports/sahada/")
    with urllib.request.urlopen(body["url"]) as link:  # the emulator's S3, on loopback
        text = link.read().decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "phone,name,consent_source,consent_at,notice_version,language,booth"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["+919876500001", "+919876500002", "+919876500003"]
    trail = [e for e in active.container.store.activity_on(active.clock.now().date()) if e.kind == "audience.exported"]
    assert len(trail) == 1 and "state-01 exported 3 contacts of sahada" in trail[0].message
    assert "98765" not in json.dumps([e.__dict__ for e in trail], default=str, ensure_ascii=False)


def test_the_constituency_lead_may_a_member_may_not_and_the_refusal_is_logged(active, client):
    active.put(KEY, HEADER + rows([1]))
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    assert exported(client, "sahada-01").status_code == 200
    refused = exported(client, "sahada-02")
    assert refused.status_code == 403 and "only a coordinator" in refused.json_body["Message"]
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date())]
    assert kinds.count("audience.exported") == 1 and kinds.count("audience.read_refused") == 1
    assert exported(client, "state-01", "nowhere").status_code == 404
