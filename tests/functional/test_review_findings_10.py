"""Review of "IAM proven by recorded calls" (4a3d003) and "a role and a least-privilege policy per Lambda function"
(eb41eca), on the emulator and the platform sandbox: each finding is a test that fails on the change.

Each test walks one code path tests/support/recorded_run.py never walks, records the AWS calls the handler makes
there with local/aws_calls.py's own CallLog (hooked onto the clients the handlers use), and checks every call, as
tests/support/iam.py turns it into IAM requests, against that function's policy as infra/policy.py writes it for the
stage. The emulator enforces no IAM, so each of these works locally and is AccessDenied in the cloud.
The docstring of each test says what breaks for the campaign and where (file:line as of eb41eca); the unit-level
findings are in tests/unit/test_review_findings_10.py.
"""

from __future__ import annotations

import contextlib
import json

from chalicelib.adapters import aws
from chalicelib.domain.audience import SHARDS
from chalicelib.domain.post import PostStatus, content_id_for
from infra.policy import StageResources, function_policies
from local.aws_calls import CallLog, running
from local.sandbox import Fault
from tests.functional.test_approvals import signing  # noqa: F401 - the fixture
from tests.functional.test_approvals import upload as upload_for_approval
from tests.functional.test_audience_import import HEADER, KEY, rows
from tests.functional.test_failure_classes import deliver_all, post_of, run_clock, schedule, scheduled_event

REGION, ACCOUNT = "ap-south-1", "123456789012"
SERVICES = ("dynamodb", "s3", "sqs", "kms", "secretsmanager", "ssm")


def policies():
    return function_policies(StageResources("test", "prachar-test-content", "prachar-test", "prachar-test-publish",
                                            "prachar-test-upload-failures", REGION, ACCOUNT))


@contextlib.contextmanager
def recorded(function):
    """The AWS calls made in the block, as `function`'s (local/aws_calls.CallLog on the handlers' own clients)."""
    from tests.support.iam import decide, requests_for

    log = CallLog()
    clients = [aws.client(service) for service in SERVICES]
    for each in clients:
        each.meta.events.register("before-parameter-build", log._record, unique_id="review-10")
    log.refused = lambda: sorted({f"{c.function}: {r}" for c in log.calls for r in requests_for(c, REGION, ACCOUNT)
                                  if decide(policies()[c.function], r) != "allowed"})
    try:
        with running(function):
            yield log
    finally:
        for each in clients:
            each.meta.events.unregister("before-parameter-build", unique_id="review-10")


# ---- content and calendars: the everyday correction ---------------------------------------------------------------
def test_a_corrected_manifest_re_uploaded_is_allowed_by_the_content_functions_policy(active, client):
    """chalicelib/services/ingest.py:306 reads the posts of an accepted content with Store.content_with_posts — a
    Query (adapters/store.py:103-111) — on every re-upload that changes it. on_content_upload's policy has no Query
    (infra/policy.py:118, 132): the team's correction is refused in the cloud, S3 retries, the upload ends in the
    upload-failures queue and the old wording goes out."""
    key = "content/constituency/sahada/fixed.yaml"
    active.put(key, "title: बजट\ntext: पहला पाठ\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    active.put(key, "title: बजट\ntext: सुधरा पाठ\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    with recorded("on_content_upload") as log:
        client.lambda_.invoke("on_content_upload", active.s3_event(key))
    assert active.container.store.post(content_id_for(key), "fb-sahada").revision == 2, "locally it works"
    assert log.refused() == []


def test_a_calendar_re_uploaded_with_a_row_changed_and_one_dropped_is_allowed_by_its_policy(active, client):
    """ingest.py:306 (a changed row) and ingest.py:287-297 (a dropped row is withdrawn) read the row's posts with
    Store.content_with_posts, a Query. on_calendar_upload's policy has no Query (infra/policy.py:118, 133)."""
    key = "calendar/constituency/sahada/2021-03/march.csv"
    header = "publish_at,platforms,title,text,link,media,series"
    active.put(key, "\r\n".join([header, "2021-03-10T09:00,facebook,दिन 1,पहला,,,", "2021-03-11T09:00,facebook,दिन 2,"
                                 "दूसरा,,,"]) + "\r\n")
    client.lambda_.invoke("on_calendar_upload", active.s3_event(key))
    active.put(key, "\r\n".join([header, "2021-03-10T09:00,facebook,दिन 1,सुधरा,,,"]) + "\r\n")
    with recorded("on_calendar_upload") as log:
        client.lambda_.invoke("on_calendar_upload", active.s3_event(key))
    assert active.container.store.post(content_id_for(f"{key}#दिन 2"), "fb-sahada").status is PostStatus.WITHDRAWN
    assert log.refused() == []


# ---- the publishing clock ---------------------------------------------------------------------------------------
def test_the_publishing_clock_expiring_an_unapproved_post_is_allowed_by_its_policy(signing, client):  # noqa: F811
    """chalicelib/services/dispatch.py:59-67: an expired post is read back (GetItem) and logged (PutItem);
    publishing_clock may only UpdateItem and Query the wake index (infra/policy.py:139-140). In the cloud the clock
    fails at the first post nobody approved in time — an everyday event with sign-off on."""
    upload_for_approval(signing, client)
    signing.at("2021-03-05T09:00:00+05:30")
    with recorded("publishing_clock") as log:
        client.lambda_.invoke("publishing_clock", scheduled_event(client))
    assert signing.container.store.post(content_id_for("content/constituency/sahada/approval.yaml"),
                                        "fb-sahada").status is PostStatus.EXPIRED
    assert log.refused() == []


def test_the_publishing_clock_recovering_a_post_whose_publisher_died_is_allowed_by_its_policy(active, client):
    """chalicelib/services/dispatch.py:70 and 83-86 and services/ambiguity.py:23-60: a post left `publishing` by a
    Lambda that died (timeout, out of memory) is read (GetItem) and resumed or made ambiguous, with an activity entry
    (PutItem). Refused in the cloud, and since the post stays due, every following minute's run fails at the same
    call: nothing is published."""
    key = schedule(active, client, "facebook")
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))  # queued; it wakes again at 09:10
    active.force_post(content_id_for(key), "fb-sahada", PostStatus.PUBLISHING, claim="dead-worker",
                      claimed_at="2021-03-05T03:30:00Z")  # taken at 09:00 by a publisher that then died
    active.at("2021-03-05T09:15:00+05:30")
    with recorded("publishing_clock") as log:
        client.lambda_.invoke("publishing_clock", scheduled_event(client))
    assert post_of(active, key, "facebook").status is not PostStatus.PUBLISHING, "locally it is recovered"
    assert log.refused() == []


# ---- the campaign closer ----------------------------------------------------------------------------------------
def test_the_campaign_closer_cancelling_what_was_scheduled_after_the_poll_is_allowed_by_its_policy(active, client):
    """chalicelib/services/controls.py:73-76 cancels each unpublished post with Store.move_post, an UpdateItem;
    campaign_closer may not UpdateItem (infra/policy.py:149). tests/functional/test_election_and_kill_switch.py:60
    passes locally; in the cloud the closer fails every 5 minutes and the poll is never marked closed."""
    later = "content/constituency/sahada/after.yaml"
    active.put(later, "title: t\ntext: सहाड़ा\nplatforms: [facebook]\npublish_at: 2021-04-20T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(later))
    active.at("2021-04-17T18:04:00+05:30")
    with recorded("campaign_closer") as log:
        assert client.lambda_.invoke("campaign_closer", scheduled_event(client)).payload == {"sahada": 1}
    assert log.refused() == []


# ---- erasure ------------------------------------------------------------------------------------------------------
def test_erasing_a_voter_who_is_in_the_audience_is_allowed_by_the_apis_policy(active, client):
    """chalicelib/services/opt_outs.py:90-92: the erasure deletes the contact with BatchWriteItem
    (adapters/audience_store.py:111-113); api_handler may not BatchWriteItem (infra/policy.py:123-125). The recorded
    run erased a number that was in no audience (tests/support/recorded_run.py:112: "0 contact record(s) deleted")."""
    active.put(KEY, HEADER + rows((1, 2)))
    client.lambda_.invoke("on_audience_upload", active.s3_event(KEY))
    with recorded("api_handler") as log:
        answer = client.http.post("/api/audience/erase", body=json.dumps({"phone": "+91 98765 00001"}),
                                  headers={"Content-Type": "application/json"}, member="state-01")
    assert answer.json_body["contacts_deleted"] == 1
    assert sum(1 for s in SHARDS for _ in active.container.audience.contacts("sahada", s)) == 1
    assert log.refused() == []


# ---- publishing a team kit with one unreachable member ----------------------------------------------------------
def test_a_whatsapp_member_who_cannot_be_reached_is_allowed_by_the_publishers_policy(active, client):
    """chalicelib/services/publish.py:246-248 gives back the member's pair-rate slot (Store.free_recipient, a
    DeleteItem); on_publish_message may not DeleteItem (infra/policy.py:151).
    tests/functional/test_failure_classes.py:183 passes locally; in the cloud the kit's message fails and is
    redelivered until the dead-letter queue instead of recording the one unreachable member."""
    key = schedule(active, client, "whatsapp")
    active.sandbox.inject(Fault("whatsapp", "undeliverable", account_id="wa-sahada", contains="919000000101"))
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    with recorded("on_publish_message") as log:
        deliver_all(active, client)
    assert post_of(active, key, "whatsapp").status is PostStatus.PUBLISHED
    assert log.refused() == []


# ---- a token in Secrets Manager --------------------------------------------------------------------------------
def test_publishing_for_an_account_whose_token_is_in_secrets_manager_is_allowed_by_the_publishers_policy(active,
                                                                                                          client):
    """tests/support/campaign.yaml:25 keeps fb-state's token in Secrets Manager, as README.md:564-573 documents;
    chalicelib/adapters/secrets.py:23-24 reads it with GetSecretValue. No function's policy has
    secretsmanager:GetSecretValue on prachar/<stage>/accounts/* (infra/policy.py:87-91, used at 130, 138, 142, 148,
    154)."""
    key = "content/state/secrets.yaml"
    active.put(key, "title: t\ntext: राज्य\nplatforms: [facebook]\npublish_at: 2021-03-05T09:00:00+05:30\n")
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    active.at("2021-03-05T09:00:00+05:30")
    client.lambda_.invoke("publishing_clock", scheduled_event(client))
    with recorded("on_publish_message") as log:
        deliver_all(active, client)
    assert active.container.store.post(content_id_for(key), "fb-state").status is PostStatus.PUBLISHED
    assert any(c.service == "secretsmanager" for c in log.calls), "the token was read from Secrets Manager"
    assert log.refused() == []


# ---- engagement -------------------------------------------------------------------------------------------------
def test_engagement_that_cannot_read_an_account_is_allowed_by_the_collectors_policy(active, client):
    """chalicelib/services/engagement.py:83-86: a read that fails (here a revoked page token) is logged, a PutItem;
    engagement_collector may not PutItem (infra/policy.py:147-148): in the cloud the run stops at that account."""
    key = schedule(active, client, "facebook")
    run_clock(active, client, "2021-03-05T09:00:00+05:30")
    assert post_of(active, key, "facebook").status is PostStatus.PUBLISHED
    active.sandbox.revoke("fb-sahada")
    active.at("2021-03-05T11:00:00+05:30")
    with recorded("engagement_collector") as log:
        client.lambda_.invoke("engagement_collector", scheduled_event(client))
    kinds = [e.kind for e in active.container.store.activity_on(active.clock.now().date())]
    assert "engagement.failed" in kinds
    assert log.refused() == []
