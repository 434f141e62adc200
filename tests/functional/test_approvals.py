"""Sign-off through the API: who may approve, what expires, what a rejection stops, who may upload where."""

import json
from datetime import date

import pytest
import yaml

from chalicelib.domain.post import PostStatus, content_id_for
from chalicelib.errors import Conflict

KEY = "content/constituency/sahada/approval.yaml"


def with_sign_off(campaign_yaml: str) -> str:
    """The test campaign with the default sign-off chain, a Bhilwara district team, and mapped principals."""
    document = yaml.safe_load(campaign_yaml)
    document.pop("approval")
    document["teams"].append({"id": "bhilwara-it-cell", "scope": "district/bhilwara", "members": [
        {"id": "bhilwara-01", "name": "जिला लीड", "role": "lead", "principal": "AIDABHILWARA01"}]})
    for team in document["teams"]:
        for member in team["members"]:
            member.setdefault("principal", f"AIDA{member['id'].upper().replace('-', '')}")
    return yaml.safe_dump(document, allow_unicode=True)


@pytest.fixture()
def signing(active, client, campaign_yaml):
    active.put("config/campaign.yaml", with_sign_off(campaign_yaml))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    return active


def upload(world, client, key=KEY, body=None, principal="AWS:AIDASAHADA02"):
    world.put(key, body or "title: बजट\ntext: सहाड़ा में नया महाविद्यालय\nplatforms: [facebook]\n"
                           "publish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", world.s3_event(key, principal=principal))


def act(client, action, member, body=None, key=KEY):
    body = dict(body or {})
    if action in ("approve", "clear-silence") and "revision" not in body:  # they decide on what they see now
        body["revision"] = client.http.get(f"/api/posts/{content_id_for(key)}").json_body["revision"]
    return client.http.post(f"/api/posts/{content_id_for(key)}/{action}", body=json.dumps(body),
                            member=member)


def tick(world, client, moment):
    world.at(moment)
    client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    messages = world.receive()
    if messages:
        client.lambda_.invoke("on_publish_message", world.sqs_event(messages))


def status(world, key=KEY, account="fb-sahada"):
    return world.container.store.post(content_id_for(key), account).status


def test_constituency_content_waits_for_its_district_lead_then_goes_out(signing, client):
    upload(signing, client)
    assert status(signing) is PostStatus.PENDING_APPROVAL
    refused = act(client, "approve", "sahada-01")
    assert refused.status_code == 403 and "a lead of state or district/bhilwara" in refused.json_body["Message"]
    approved = act(client, "approve", "bhilwara-01", {"note": "तथ्य जाँचे"})
    assert approved.json_body == {"id": content_id_for(KEY), "approved_by": "bhilwara-01", "accounts": ["fb-sahada"],
                                  "revision": 1}
    view = client.http.get(f"/api/posts/{content_id_for(KEY)}").json_body
    assert view["accounts"][0]["status"] == "scheduled"
    tick(signing, client, "2021-03-05T09:00:00+05:30")
    assert status(signing) is PostStatus.PUBLISHED
    [decision] = [e for e in signing.container.store.activity_on(date(2021, 3, 3)) if e.kind == "post.approved"]
    assert "bhilwara-01" in decision.message and "तथ्य जाँचे" in decision.message


def test_nobody_approves_their_own_upload(signing, client):
    upload(signing, client, principal="AWS:AIDASTATE01", key="content/state/own.yaml")
    response = act(client, "approve", "state-01", key="content/state/own.yaml")
    assert (response.status_code, response.json_body["Message"]) == (403, "nobody approves their own content")


def test_unapproved_at_its_time_expires_and_cannot_be_approved_after(signing, client):
    upload(signing, client)
    tick(signing, client, "2021-03-05T09:00:00+05:30")
    assert status(signing) is PostStatus.EXPIRED
    assert signing.sandbox.received() == []
    assert act(client, "approve", "bhilwara-01").status_code == 409


def test_a_rejection_needs_a_reason_and_stops_even_approved_posts(signing, client):
    upload(signing, client)
    act(client, "approve", "bhilwara-01")
    assert act(client, "reject", "bhilwara-01").status_code == 400
    rejected = act(client, "reject", "state-01", {"reason": "तथ्य गलत है"})
    assert rejected.json_body["accounts"] == ["fb-sahada"]
    tick(signing, client, "2021-03-05T09:00:00+05:30")
    post = signing.container.store.post(content_id_for(KEY), "fb-sahada")
    assert (post.status, post.reason) == (PostStatus.REJECTED, "rejected by state-01: तथ्य गलत है")
    assert signing.sandbox.received() == []


def test_paid_promotion_cannot_be_approved_without_a_certificate(signing, client):
    body = "title: t\ntext: x\nplatforms: [facebook]\npaid: true\npublish_at: 2021-03-05T09:00:00+05:30\n"
    upload(signing, client, body=body)
    assert "MCMC" in act(client, "approve", "state-01").json_body["Message"]
    upload(signing, client, body=body + "mcmc_certificate: MCMC/BHL/2021/42\n")
    assert act(client, "approve", "state-01").status_code == 200


def test_changed_content_needs_a_new_sign_off(signing, client):
    upload(signing, client)
    act(client, "approve", "bhilwara-01")
    assert status(signing) is PostStatus.SCHEDULED
    upload(signing, client, body="title: बजट\ntext: नया पाठ\nplatforms: [facebook]\n"
                                 "publish_at: 2021-03-05T09:00:00+05:30\n")
    assert status(signing) is PostStatus.PENDING_APPROVAL


@pytest.mark.parametrize("principal, words", [("AWS:AIDASAHADA02", "owns content/constituency/sahada/"),
                                              ("AWS:AIDASTRANGER", "not a member of the campaign")])
def test_a_team_uploads_only_under_its_own_prefix_when_principals_are_mapped(signing, client, principal, words):
    key = "content/district/bhilwara/not-mine.yaml"
    upload(signing, client, key=key, principal=principal)
    report = signing.error_report(key)
    assert words in report["problems"][0]["problem"]
    assert signing.container.store.content(content_id_for(key)) is None


def test_the_uploader_is_recorded(signing, client):
    upload(signing, client)
    assert signing.container.store.content(content_id_for(KEY)).uploaded_by == "sahada-02"


def test_a_coordinator_can_clear_a_state_post_for_the_silence(signing, client):
    key = "content/state/neutral.yaml"
    upload(signing, client, key=key, principal="AWS:AIDASTATE01", body=(
        "title: t\ntext: जयपुर में बजट संवाद\nplatforms: [facebook]\npublish_at: 2021-04-16T10:00:00+05:30\n"))
    signing.container.store.move_post(content_id_for(key), "fb-state", expected=[PostStatus.PENDING_APPROVAL],
                                      status=PostStatus.SCHEDULED, now=signing.clock.now(),
                                      wake_at=signing.clock.now().replace(month=4, day=16))
    tick(signing, client, "2021-04-16T10:00:00+05:30")
    assert status(signing, key, "fb-state") is PostStatus.HELD_SILENCE
    assert act(client, "clear-silence", "sahada-01", key=key).status_code == 404  # not a post a sahada lead sees
    answer = act(client, "clear-silence", "state-01", body={"revision": 1}, key=key)  # the current revision
    assert answer.status_code == 200
    assert (answer.json_body["accounts"], answer.json_body["revision"]) == (["fb-state"], 1)
    tick(signing, client, "2021-04-16T10:01:00+05:30")
    assert status(signing, key, "fb-state") is PostStatus.PUBLISHED, "cleared: it goes out inside the silence"


@pytest.mark.parametrize("body, words", [({}, "say which revision you clear for the silence"),
                                         ({"revision": None}, "say which revision you clear for the silence"),
                                         ({"revision": True}, "say which revision you clear for the silence"),
                                         ({"revision": "one"}, "revision must be a whole number")])
def test_a_silence_clearance_names_the_revision_it_clears(signing, client, body, words):
    key = "content/state/neutral.yaml"
    upload(signing, client, key=key, principal="AWS:AIDASTATE01", body=(
        "title: t\ntext: जयपुर में बजट संवाद\nplatforms: [facebook]\npublish_at: 2021-04-16T10:00:00+05:30\n"))
    answer = client.http.post(f"/api/posts/{content_id_for(key)}/clear-silence", body=json.dumps(body),
                              member="state-01")
    assert answer.status_code == 400 and words in answer.json_body["Message"]
    assert not signing.container.store.post(content_id_for(key), "fb-state").silence_cleared


def test_a_silence_clearance_of_an_older_revision_is_refused(signing, client):
    key = "content/state/neutral.yaml"
    for text in ("जयपुर में बजट संवाद", "जयपुर में बजट संवाद, नया पाठ"):
        upload(signing, client, key=key, principal="AWS:AIDASTATE01", body=(
            f"title: t\ntext: {text}\nplatforms: [facebook]\npublish_at: 2021-04-16T10:00:00+05:30\n"))
    answer = act(client, "clear-silence", "state-01", body={"revision": 1}, key=key)
    assert answer.status_code == 409 and "revision 2" in answer.json_body["Message"]
    assert not signing.container.store.post(content_id_for(key), "fb-state").silence_cleared
    assert act(client, "clear-silence", "state-01", body={"revision": 2}, key=key).status_code == 200
    assert signing.container.store.post(content_id_for(key), "fb-state").silence_cleared


def test_content_without_a_time_goes_out_once_approved_and_expires_after_a_day(signing, client):
    soon = "content/constituency/sahada/asap.yaml"
    upload(signing, client, key=soon, body="title: t\ntext: तुरंत\nplatforms: [facebook]\n")
    tick(signing, client, "2021-03-03T12:00:00+05:30")
    assert status(signing, soon) is PostStatus.PENDING_APPROVAL, "no time given: not expired at the next tick"
    act(client, "approve", "bhilwara-01", key=soon)
    tick(signing, client, "2021-03-03T12:01:00+05:30")
    assert status(signing, soon) is PostStatus.PUBLISHED
    late = "content/constituency/sahada/forgotten.yaml"
    upload(signing, client, key=late, body="title: t\ntext: भूला हुआ\nplatforms: [facebook]\n")
    tick(signing, client, "2021-03-04T12:02:00+05:30")
    assert status(signing, late) is PostStatus.EXPIRED


def test_an_approval_names_the_revision_it_approves(signing, client):
    upload(signing, client)
    response = act(client, "approve", "bhilwara-01", {"revision": None})
    assert response.status_code == 400 and "revision" in response.json_body["Message"]
    assert status(signing) is PostStatus.PENDING_APPROVAL


def test_an_approval_of_wording_replaced_since_is_refused(signing, client):
    upload(signing, client)
    upload(signing, client, body="title: बजट\ntext: बदली हुई बात\nplatforms: [facebook]\n"
                                 "publish_at: 2021-03-05T09:00:00+05:30\n")
    response = act(client, "approve", "bhilwara-01", {"revision": 1})
    assert response.status_code == 409 and "revision 2" in response.json_body["Message"]
    assert status(signing) is PostStatus.PENDING_APPROVAL


def test_an_approval_racing_a_re_upload_never_releases_the_new_wording(signing, client):
    """The re-upload has placed its new posts but not yet saved the content record when the approval of
    the old revision lands: the decision must not move the new wording."""
    from dataclasses import replace

    from chalicelib.domain.post import REPLACEABLE

    upload(signing, client)
    store = signing.container.store
    old = store.post(content_id_for(KEY), "fb-sahada")
    newer = replace(old, revision=2, payload={**old.payload, "text": "किसी ने नहीं देखी"})
    assert store.place_post(newer, REPLACEABLE).placed
    response = act(client, "approve", "bhilwara-01", {"revision": 1})
    assert response.status_code == 409
    post = store.post(content_id_for(KEY), "fb-sahada")
    assert (post.status, post.revision) == (PostStatus.PENDING_APPROVAL, 2)


def test_a_silence_clearance_racing_a_re_upload_clears_nothing(signing, client, monkeypatch):
    """The coordinator's revision was current when the clearance read the post, but a re-upload landed before it
    wrote: each move is conditional on that revision, so the new wording is not cleared (409)."""
    key = "content/state/neutral.yaml"
    body = "title: t\ntext: {}\nplatforms: [facebook]\npublish_at: 2021-04-16T10:00:00+05:30\n"
    upload(signing, client, key=key, principal="AWS:AIDASTATE01", body=body.format("जयपुर में बजट संवाद"))
    store = signing.container.store
    stale = store.content_with_posts(content_id_for(key))  # what the clearance reads: revision 1
    upload(signing, client, key=key, principal="AWS:AIDASTATE01", body=body.format("वल्लभनगर के मतदाता वोट दें"))
    assert store.post(content_id_for(key), "fb-state").revision == 2
    monkeypatch.setattr(store, "content_with_posts", lambda content_id: stale)
    coordinator = signing.container.campaigns.active().member("state-01")
    with pytest.raises(Conflict, match="uploaded again while you cleared revision 1"):
        signing.container.approvals().clear_silence(content_id_for(key), coordinator, 1)
    assert not store.post(content_id_for(key), "fb-state").silence_cleared


def test_content_approved_after_its_time_goes_to_the_queue_with_the_approval(signing, client):
    signing.at("2021-03-05T09:00:00+05:30")
    upload(signing, client)
    assert signing.receive() == [], "waiting for sign-off"
    signing.at("2021-03-05T09:03:00+05:30")
    assert act(client, "approve", "bhilwara-01").status_code == 200
    messages = signing.receive()
    assert [json.loads(m["Body"])["account_id"] for m in messages] == ["fb-sahada"], "queued by the approval"
    signing.at("2021-03-05T09:04:00+05:30")
    ran = client.lambda_.invoke("publishing_clock", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload
    assert ran["queued"] == 0 and signing.receive() == [], "and not by the clock as well"
