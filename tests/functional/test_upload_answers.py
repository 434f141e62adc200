"""What `prachar` reads from the API: who the caller is, the campaign to check against, and each upload's answer.

The answer is kept by the upload's ETag (the one S3 gave the uploader and put in the event), so an uploader waiting
for their own upload is never shown another upload of the same key.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.adapters import aws
from chalicelib.domain.post import content_id_for
from tests.support.world import BUCKET

FOLDER = "content/constituency/sahada/2021-03"
GOOD = "title: बजट\ntext: सहाड़ा में नया महाविद्यालय\nplatforms: [facebook, x]\npublish_at: 2021-03-10T09:00:00+05:30\n"


def upload_of(key: str) -> tuple[str, str]:
    """The upload as its uploader knows it: the ETag and version id PutObject answered."""
    head = aws.client("s3").head_object(Bucket=BUCKET, Key=key)
    return head["ETag"].strip('"'), head["VersionId"]


def answer(client, key: str, upload: tuple[str, str], member: str = "sahada-02"):
    etag, version = upload
    return client.http.get(f"/api/uploads?{urlencode({'key': key, 'etag': etag, 'version': version})}",
                           member=member)


def test_an_accepted_manifest_is_answered_with_its_post_id_and_accounts(active, client):
    key = f"{FOLDER}/बजट घोषणा.yaml"
    active.put(key, GOOD)
    etag = upload_of(key)
    assert answer(client, key, etag).json_body == {"answered": False, "key": key}, "not yet read"
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    body = answer(client, key, etag).json_body
    assert body["answered"] and body["outcome"] == "accepted"
    assert body["content_ids"] == [content_id_for(key)]
    assert sorted(body["accounts"]) == ["fb-sahada", "x-sahada"]
    assert body["problems"] == [] and body["warnings"] == []


def test_a_rejected_manifest_is_answered_with_the_problems_of_its_error_report(active, client):
    key = f"{FOLDER}/bad.yaml"
    active.put(key, "title: t\nplatforms: [facebook]\npublish_at: 2021-02-30T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key)).json_body
    assert body["outcome"] == "rejected" and body["content_ids"] == []
    assert body["problems"] == active.error_report(key)["problems"]


def test_each_upload_of_a_key_has_its_own_answer(active, client):
    key = f"{FOLDER}/twice.yaml"
    active.put(key, "title: t\nplatforms: [facebook]\n")  # no text: rejected
    first, first_event = upload_of(key), active.s3_event(key)
    client.lambda_.invoke("on_content_upload", first_event)
    active.put(key, GOOD)
    second = upload_of(key)
    assert answer(client, key, second).json_body["answered"] is False
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    assert answer(client, key, first).json_body["outcome"] == "rejected"
    assert answer(client, key, second).json_body["outcome"] == "accepted"


def test_the_same_bytes_uploaded_again_wait_for_their_own_answer(active, client):
    """Same bytes, same ETag: the second upload must not be shown the first one's answer (say, a rejection for
    media that has been uploaded since)."""
    key = f"{FOLDER}/again.yaml"
    body = "title: t\ntext: पाठ\nplatforms: [facebook]\nmedia: [poster.png]\n"
    active.put(key, body)
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    first = upload_of(key)
    assert answer(client, key, first).json_body["outcome"] == "rejected"
    active.put("content/constituency/sahada/2021-03/poster.png", b"\x89PNG" + b"0" * 100)
    active.put(key, body)
    second = upload_of(key)
    assert second[0] == first[0] and second[1] != first[1]
    assert answer(client, key, second).json_body == {"answered": False, "key": key}
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    assert answer(client, key, second).json_body["outcome"] == "accepted"
    assert answer(client, key, first).json_body["outcome"] == "rejected"


def test_an_event_for_an_upload_replaced_meanwhile_reads_nothing_and_says_so(active, client):
    key = f"{FOLDER}/raced.yaml"
    active.put(key, "title: t\nplatforms: [facebook]\n")
    late_event, first = active.s3_event(key), upload_of(key)
    active.put(key, GOOD)
    client.lambda_.invoke("on_content_upload", late_event)
    assert answer(client, key, first).json_body["outcome"] == "superseded"
    assert active.error_report(key) is None, "the replaced bytes are never judged"
    assert active.container.store.content(content_id_for(key)) is None, "nor scheduled"
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    assert answer(client, key, upload_of(key)).json_body["outcome"] == "accepted"


def test_a_calendar_is_answered_with_each_accepted_rows_post_id_and_the_bad_rows(active, client):
    key = "calendar/constituency/sahada/2021-03/week.csv"
    active.put(key, "publish_at,platforms,title,text,link,media,series\n"
                    "2021-03-10T09:00,facebook,एक,पाठ,,,\n2021-02-30T09:00,facebook,दो,पाठ,,,\n")
    client.lambda_.invoke("on_calendar_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key)).json_body
    assert body["outcome"] == "accepted" and body["content_ids"] == [content_id_for(f"{key}#एक")]
    assert [(p["row"], p["field"]) for p in body["problems"]] == [(3, "publish_at")]


def test_a_post_held_by_the_election_calendar_is_accepted_with_a_warning(active, client):
    key = f"{FOLDER}/late.yaml"
    active.put(key, "title: t\ntext: पाठ\nplatforms: [facebook]\npublish_at: 2021-04-16T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key)).json_body
    assert body["outcome"] == "accepted"
    [warning] = body["warnings"]
    assert warning.startswith("for fb-sahada at ") and "it will be held" in warning


def test_an_audience_import_is_answered_with_its_counts(active, client):
    key = "audience/sahada/march.csv"
    active.put(key, "phone,name,consent_source,consent_at,notice_version,language\n"
                    "+91 98765 00001,मतदाता,missed call,2021-03-01T10:00:00+05:30,v1,hi\n"
                    "+91 98765 00002,मतदाता,missed call,,v1,hi\n")
    etag = upload_of(key)
    client.lambda_.invoke("on_audience_upload", active.s3_event(key))
    body = answer(client, key, etag, member="sahada-01").json_body
    assert body["answered"] and body["outcome"] == "imported"
    assert body["counts"] == {"added": 1, "no_consent": 1}
    assert [p["row"] for p in body["problems"]] == [3]


def test_an_audience_file_refused_before_it_is_read_is_answered_too(active, client):
    key = "audience/nowhere/march.csv"
    active.put(key, "phone\n")
    client.lambda_.invoke("on_audience_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key), member="state-01").json_body
    assert body["outcome"] == "rejected" and body["problems"][0]["field"] == "(key)"


def test_me_says_who_the_caller_is_and_where_they_upload(active, client):
    body = client.http.get("/api/me", member="sahada-02").json_body
    assert body["member"] == {"id": "sahada-02", "name": "सदस्य एक", "role": "member"}
    assert body["team"]["scope"] == "constituency/sahada"
    assert body["bucket"] == BUCKET and body["campaign"] == "test-bypolls"
    assert body["max_upload_bytes"] > 0 and body["now"].startswith("2021-03-03")
    assert body["config_version"] == active.container.campaigns.active_version()


def test_the_campaign_for_offline_checks_holds_no_members_contact_details(active, client):
    body = client.http.get("/api/campaign", member="sahada-02").json_body
    members = [m for team in body["campaign"]["teams"] for m in team["members"]]
    assert members and all(set(m) <= {"id", "name", "role"} for m in members)
    assert body["config_version"] == active.container.campaigns.active_version()
    from chalicelib.domain.campaign import parse_campaign

    assert parse_campaign(body["campaign"]).campaign == "test-bypolls", "it still parses as a campaign"
