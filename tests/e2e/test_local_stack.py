"""Upload with a plain S3 client → the sandbox receives the call → DynamoDB records the delivery."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from chalicelib.domain.post import content_id_for

pytestmark = pytest.mark.e2e
KEY = "content/constituency/sahada/e2e/नई सड़क.yaml"


def test_an_upload_is_published_to_every_account_and_recorded(running_stack):
    s3 = running_stack.s3()
    s3.put_object(Bucket="prachar-local-content", Key=KEY, Body=(
        "title: नई सड़क — e2e\ntext: सहाड़ा में 46 किमी नई ग्रामीण सड़कें (e2e-7c1f)\n"
        "overrides:\n  x: {text: 46 km of new rural roads in Sahada (e2e-7c1f)}\n").encode())
    post_url = f"{running_stack.api}/api/posts/{content_id_for(KEY)}"
    assert running_stack.approve(content_id_for(KEY), "bhilwara-d-01")["accounts"] == ["fb-sahada", "wa-sahada",
                                                                                        "x-sahada"]

    def published():
        post = running_stack.get(post_url)
        return post if {a["status"] for a in post["accounts"]} == {"published"} else None

    post = running_stack.wait_for(published, timeout=90)
    assert sorted(a["account_id"] for a in post["accounts"]) == ["fb-sahada", "wa-sahada", "x-sahada"]

    calls = running_stack.get(f"{running_stack.sandbox}/_sandbox/requests")["requests"]
    ours = [c for c in calls if "e2e-7c1f" in str(c["body"])]
    assert sorted({(c["platform"], c["account_id"]) for c in ours}) == [
        ("facebook", "fb-sahada"), ("whatsapp", "wa-sahada"), ("x", "x-sahada")]
    assert len([c for c in ours if c["platform"] == "whatsapp"]) == 21, "the whole constituency team"
    tweets = [c["body"]["text"] for c in ours if c["platform"] == "x"]
    assert tweets == ["46 km of new rural roads in Sahada (e2e-7c1f)"]
    assert all(c["authorization"] == "present (masked)" for c in ours)

    # DynamoDB, read directly: the delivery with the platform's id, and the activity entries.
    dynamodb = boto3.client("dynamodb", endpoint_url=running_stack.emulator, region_name="ap-south-1",
                            aws_access_key_id="user", aws_secret_access_key="user")
    item = dynamodb.get_item(TableName="prachar-local", Key={
        "pk": {"S": f"CONTENT#{content_id_for(KEY)}"}, "sk": {"S": "POST#fb-sahada"}})["Item"]
    fb_call = next(c for c in ours if c["platform"] == "facebook")
    assert item["status"]["S"] == "published"
    assert item["platform_post_id"]["S"] == fb_call["response"]["id"]
    activity = running_stack.get(f"{running_stack.api}/api/activity?scope=constituency/sahada&limit=500")
    ours = [e for e in activity["entries"] if e.get("content_id") == content_id_for(KEY)]
    kinds = {(e["kind"], e.get("account_id")) for e in ours}
    assert {("upload.accepted", None), ("post.published", "fb-sahada"), ("post.published", "x-sahada"),
            ("post.published", "wa-sahada")} <= kinds


def test_a_bad_upload_gets_its_error_report_and_the_stack_keeps_going(running_stack):
    s3 = running_stack.s3()
    key = "content/district/bhilwara/e2e/broken.yaml"
    s3.put_object(Bucket="prachar-local-content", Key=key, Body=b"title: [oops\n")

    def report():
        try:
            return s3.get_object(Bucket="prachar-local-content", Key=f"errors/{key}.json")["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    assert b"not valid YAML" in running_stack.wait_for(report, timeout=30)
    assert running_stack.get(f"{running_stack.api}/health")["status"] == "ok"


def test_a_429_and_a_5xx_on_the_first_try_still_end_in_one_post_per_account(running_stack):
    marker = "e2e-faults-91b2"
    for fault in ({"platform": "x", "kind": "rate_limit", "account_id": "x-sahada", "contains": marker},
                  {"platform": "facebook", "kind": "server_error", "account_id": "fb-sahada", "contains": marker},
                  {"platform": "whatsapp", "kind": "server_error", "account_id": "wa-sahada", "contains": marker}):
        request = urllib.request.Request(f"{running_stack.sandbox}/_sandbox/faults", method="POST",
                                         data=json.dumps(fault).encode(), headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()
    key = "content/constituency/sahada/e2e/faults.yaml"
    running_stack.s3().put_object(Bucket="prachar-local-content", Key=key, Body=(
        f"title: faults\ntext: सहाड़ा बस स्टैंड का नवीनीकरण ({marker})\n").encode())
    post_url = f"{running_stack.api}/api/posts/{content_id_for(key)}"
    running_stack.approve(content_id_for(key), "state-01")

    def published():
        post = running_stack.get(post_url)
        return post if {a["status"] for a in post["accounts"]} == {"published"} else None

    post = running_stack.wait_for(published, timeout=120)
    attempts = {a["account_id"]: a["attempts"] for a in post["accounts"]}
    assert attempts["fb-sahada"] == 2 and attempts["wa-sahada"] == 2, "the 5xx was retried"
    calls = [c for c in running_stack.get(f"{running_stack.sandbox}/_sandbox/requests")["requests"]
             if marker in json.dumps(c["body"], ensure_ascii=False)]
    accepted = [c for c in calls if c["status"] in (200, 201)]
    assert sorted(c["status"] for c in calls if c["status"] >= 400) == [429, 500, 500]
    assert len([c for c in accepted if c["platform"] == "facebook"]) == 1
    assert len([c for c in accepted if c["platform"] == "x"]) == 1
    whatsapp = [c["body"]["to"] for c in accepted if c["platform"] == "whatsapp"]
    assert len(whatsapp) == len(set(whatsapp)) == 21, "each member of the team exactly once"


def test_the_api_wants_a_signed_in_member_and_make_run_says_how(running_stack):
    output = running_stack.log.read_text(errors="replace")
    assert "every member's password is prachar-local-1" in output and "coordinator state-01" in output
    with pytest.raises(urllib.error.HTTPError) as refused:
        running_stack.get(f"{running_stack.api}/api/posts", member=None)
    assert refused.value.code == 401
    lead = running_stack.get(f"{running_stack.api}/api/posts", member="bhilwara-d-01")
    assert lead["scope"] == "district/bhilwara"
    with pytest.raises(urllib.error.HTTPError) as hidden:
        running_stack.get(f"{running_stack.api}/api/posts?scope=district/udaipur", member="bhilwara-d-01")
    assert hidden.value.code == 403
