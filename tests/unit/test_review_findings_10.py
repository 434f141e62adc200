"""Review of "IAM proven by recorded calls" (4a3d003) and "a role and a least-privilege policy per Lambda function"
(eb41eca): each finding is a test that fails on the change.

The per-function policies (infra/policy.py) are, by construction, exactly what tests/support/recorded_run.py happened
to call: tests/e2e/test_iam.py refuses any grant no recorded call used. So every code path the run does not walk is a
grant the function lacks in the cloud, where the call is refused (AccessDenied) — while the emulator, which enforces no
IAM, lets it through. These tests feed the calls those paths make (hand-made `AwsCall`s, the shape local/aws_calls.py
records) to tests/support/iam.py and the deployed policy; the emulator-backed proofs that the code really makes each
call are in tests/functional/test_review_findings_10.py.

The docstring of each test says what breaks for the campaign and where (file:line as of eb41eca).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from infra.policy import StageResources, function_policies
from local.aws_calls import AwsCall, CallLog, running
from tests.support.iam import decide, requests_for

REGION, ACCOUNT = "ap-south-1", "210987654321"
TABLE = "prachar-dev"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"


def policies():
    return function_policies(StageResources("dev", "prachar-dev-content", TABLE, "prachar-dev-publish",
                                            "prachar-dev-upload-failures", REGION, ACCOUNT))


def call(function, service, operation, **params):
    return AwsCall(function, service, operation, tuple(sorted(params.items())))


def refused(*calls):
    """The requests of these calls that the function's own policy does not allow, as 'function: request'."""
    found = policies()
    return [f"{c.function}: {r}" for c in calls for r in requests_for(c, REGION, ACCOUNT)
            if decide(found[c.function], r) != "allowed"]


# ---- 1. account tokens in Secrets Manager: documented, in the test campaign, refused in the cloud ------------------
TOKEN_READERS = ("api_handler", "on_publish_message", "on_broadcast_chunk", "token_health_check",
                 "engagement_collector")


@pytest.mark.parametrize("function", TOKEN_READERS)
def test_an_account_token_kept_in_secrets_manager_can_be_read_by_every_function_that_reads_tokens(function):
    """README.md:564-573 tells operators to keep an account's secret in SSM *or* in Secrets Manager
    (`secretsmanager:prachar/dev/accounts/x-sahada`, and shows `aws secretsmanager create-secret` for X's OAuth
    credentials); chalicelib/adapters/secrets.py:23-28 reads those with GetSecretValue; the campaign model accepts any
    `secret` (chalicelib/domain/campaign.py:140), and tests/support/campaign.yaml:25 itself keeps fb-state's token
    there. The policies grant only ssm:GetParameter on parameter/prachar/<stage>/accounts/* (infra/policy.py:87-91,
    used at 130, 138, 142, 148, 154): every publish, token check, engagement read and broadcast of such an account is
    AccessDenied in the cloud, and the token check reports a healthy account as broken. The recorded run only ever
    uses SSM names."""
    secret = call(function, "secretsmanager", "GetSecretValue", SecretId="prachar/dev/accounts/x-sahada")
    assert refused(secret) == []


# ---- 2. the publishing clock cannot expire, escalate or recover a post --------------------------------------------
def test_the_publishing_clock_may_read_a_post_and_write_the_activity_log():
    """chalicelib/services/dispatch.py:59-67: a post nobody approved in time is expired, then read back
    (`store.post`, GetItem) and logged (`activity.record`, PutItem); dispatch.py:44 and 77-86: an ambiguous WhatsApp
    post and a publisher that died mid-call (a claim expired) are read with GetItem before anything else, and
    services/ambiguity.py:23-75 logs them (PutItem). publishing_clock's policy has only UpdateItem and Query on the
    wake index (infra/policy.py:139-140). In the cloud the first expiry raises AccessDenied mid-run (the posts queued
    before it in that run are never sent to SQS); an ambiguous or abandoned post makes *every* minute's run fail at the
    same GetItem — it stays due — so nothing is published any more. The recorded run has no expiry, no ambiguous and
    no abandoned post."""
    from chalicelib.services.dispatch import Dispatcher

    source = inspect.getsource(Dispatcher)
    assert "self.store.post(" in source and "self.activity.record(" in source
    assert refused(call("publishing_clock", "dynamodb", "GetItem", TableName=TABLE),
                   call("publishing_clock", "dynamodb", "PutItem", TableName=TABLE)) == []


# ---- 3. the campaign closer cannot cancel anything -----------------------------------------------------------------
def test_the_campaign_closer_may_move_the_posts_it_cancels():
    """chalicelib/services/controls.py:64-77: when a constituency's poll closes, each unpublished post becomes
    cancelled_campaign_over with store.move_post — an UpdateItem. campaign_closer's policy has GetItem, PutItem and
    the by_scope index only (infra/policy.py:149). In the cloud the closer fails every 5 minutes from the close of poll
    on, never marks the poll closed, and nothing is cancelled. The recorded run closes polls with "0 unpublished
    post(s) cancelled" (its every post had gone out), so move_post was never called."""
    from chalicelib.services.controls import Controls

    assert "self.store.move_post(" in inspect.getsource(Controls.close_polls)
    assert refused(call("campaign_closer", "dynamodb", "UpdateItem", TableName=TABLE)) == []


# ---- 4. a coordinator cannot erase a voter who is in the audience --------------------------------------------------
def test_the_api_may_delete_the_contacts_and_broadcast_records_of_an_erased_voter():
    """chalicelib/services/opt_outs.py:90-95: POST /api/audience/erase deletes the person's contact in each
    constituency (AudienceStore.delete_contacts → BatchWriteItem, adapters/audience_store.py:111-113) and their
    broadcast records (BroadcastStore.forget → BatchWriteItem, adapters/broadcast_store.py:190-193). api_handler's
    policy has no BatchWriteItem (infra/policy.py:123-125): a DPDP erasure of anyone who is actually in the audience
    fails with AccessDenied. The recorded run erases "+91 98765 00040", a number that is in no audience file (the
    sample list has +91 76650 …): "0 contact record(s) deleted", before any broadcast existed."""
    from chalicelib.adapters.audience_store import AudienceStore
    from chalicelib.adapters.broadcast_store import BroadcastStore
    from chalicelib.services.opt_outs import OptOuts

    assert "delete_contacts(" in inspect.getsource(OptOuts.erase)
    assert "_batch_write(" in inspect.getsource(AudienceStore.delete_contacts)
    assert "_batch_write(" in inspect.getsource(BroadcastStore.forget)
    assert refused(call("api_handler", "dynamodb", "BatchWriteItem", TableNames=(TABLE,))) == []


@pytest.mark.parametrize("function", ["on_audience_upload", "on_import_continuation"])
def test_an_import_may_take_back_the_contacts_of_a_stop_that_landed_during_it(function):
    """chalicelib/services/audience_import.py:195-199: a STOP or an erasure that lands between the import's look-up
    and its write is made to win by deleting those contacts again — AudienceStore.delete_contacts, a BatchWriteItem.
    The import functions' policy has no BatchWriteItem (infra/policy.py:119): in the cloud that batch fails, S3 retries
    it, and it fails the same way until the on-failure queue — and the stopped person's contact stays, to be sent the
    next broadcast."""
    from chalicelib.services.audience_import import AudienceImport

    assert "delete_contacts(" in inspect.getsource(AudienceImport)
    assert refused(call(function, "dynamodb", "BatchWriteItem", TableNames=(TABLE,))) == []


# ---- 5. a changed post or calendar cannot be re-uploaded ---------------------------------------------------------
@pytest.mark.parametrize("function", ["on_content_upload", "on_calendar_upload"])
def test_a_re_upload_may_read_the_posts_it_replaces(function):
    """chalicelib/services/ingest.py:306 (every re-upload of a changed manifest or calendar row), ingest.py:185 (a
    series item re-uploaded) and ingest.py:293 (a row removed from a calendar) read the content's posts with
    Store.content_with_posts — a Query on the table (adapters/store.py:103-111). The upload functions' policies have
    GetItem, PutItem and UpdateItem only (infra/policy.py:118, 132-133): in the cloud, correcting a post that was
    already accepted — the everyday edit — fails with AccessDenied, S3 retries it twice and the upload lands in the
    upload-failures queue, unanswered. The recorded run re-uploads only a manifest that had been *rejected* (no
    existing content), so the Query never ran."""
    from chalicelib.adapters.store import Store
    from chalicelib.services.ingest import Ingest

    assert "content_with_posts(" in inspect.getsource(Ingest._accept)
    assert "_query(" in inspect.getsource(Store.content_with_posts)
    assert refused(call(function, "dynamodb", "Query", TableName=TABLE)) == []


# ---- 6. engagement cannot say why it could not read an account --------------------------------------------------
def test_the_engagement_collector_may_write_the_activity_log():
    """chalicelib/services/engagement.py:77-86 and 91-96: a platform's rate limit, a revoked token or a post deleted
    on the page is written to the activity log (ActivityLog.record → Store.add_activity, a PutItem). The collector's
    policy has GetItem and UpdateItem only (infra/policy.py:147-148): in the cloud the first such answer raises
    AccessDenied, the rest of the accounts in that run are never read, and it happens again every 6 hours. The
    recorded run's every engagement read succeeds."""
    from chalicelib.services.engagement import Engagement

    assert "self.activity.record(" in inspect.getsource(Engagement)
    assert refused(call("engagement_collector", "dynamodb", "PutItem", TableName=TABLE)) == []


# ---- 7. a WhatsApp team member who cannot be reached breaks the publisher -----------------------------------------
def test_the_publisher_may_give_back_a_whatsapp_pair_rate_slot_nothing_was_sent_in():
    """chalicelib/services/publish.py:246-248: when WhatsApp refuses a team member's message for good
    (undeliverable, outside the 24-hour window, a bad token …) the publisher gives the member's pair-rate slot back —
    Store.free_recipient, a conditional DeleteItem (adapters/store.py:493-502). on_publish_message's policy has no
    DeleteItem (infra/policy.py:151): in the cloud that raises AccessDenied instead of recording "1 recipient(s)
    unreachable" — the whole kit's message fails and SQS redelivers it until the dead-letter queue. The recorded run's
    WhatsApp fault is on a broadcast chunk (on_broadcast_chunk has DeleteItem), never on a team kit."""
    from chalicelib.services.publish import Publisher

    assert "free_recipient(" in inspect.getsource(Publisher)
    assert refused(call("on_publish_message", "dynamodb", "DeleteItem", TableName=TABLE)) == []


# ---- 8. a failed-status webhook for a broadcast message cannot queue its retry ----------------------------------
def test_the_webhook_may_queue_the_retry_of_a_broadcast_message_whatsapp_failed():
    """chalicelib/services/broadcasts.py:368-388: a `failed` status webhook with a retryable code (131000, a throttle,
    the pair rate) for a broadcast message queues that contact's chunk again (Broadcaster._again → the broadcasts
    queue: GetQueueUrl and SendMessageBatch) — in api_handler, which serves /webhooks/whatsapp
    (chalicelib/bootstrap.py:118-122). api_handler's policy has no SQS grant at all (infra/policy.py:123-130): in the
    cloud the webhook answers 500, Meta redelivers it for days, every time refused, and the subscriber never gets the
    message. The recorded run's sandbox sends only `sent` and `delivered` statuses (local/sandbox/server.py:94)."""
    from tests.support.broadcast_world import World

    world = World()
    world.add([1])
    world.begin()
    world.drain()
    [sent] = world.whatsapp.sent
    assert world.status(1, "wamid.1", "failed", code=131000, error="Something went wrong") == "resent"
    assert world.service.queue.take(), "the retry goes through the broadcasts queue"
    queue = f"{QUEUE_URL}/prachar-dev-broadcasts"
    assert refused(call("api_handler", "sqs", "GetQueueUrl", QueueName="prachar-dev-broadcasts"),
                   call("api_handler", "sqs", "SendMessageBatch", QueueUrl=queue)) == []


# ---- 9. the recording itself: calls made in the import's write threads are not recorded -------------------------
def test_the_contacts_an_import_writes_from_its_thread_pool_are_recorded_as_its_calls():
    """local/aws_calls.py:48-58 names the running function in a ContextVar, and says calls in other threads are
    recorded only when the thread was started "with a copy of its context". AudienceStore.save_contacts
    (adapters/audience_store.py:87-95) writes each contact from a ThreadPoolExecutor without one: every contact
    PutItem of every import is dropped by CallLog._record (function None). The recorded run shows it: on_audience_upload
    made 12 PutItems while it imported 40 contacts. The IAM test (and the cost figures) never see the import's main
    write; had it been any action other than PutItem, the policy would lack it and nothing would notice."""
    from chalicelib.adapters.audience_store import AudienceStore
    from chalicelib.domain.audience import Sealed, StoredContact

    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    log = CallLog().install(session)
    dynamodb = session.client("dynamodb")
    at = datetime(2021, 3, 3, tzinfo=UTC)
    contacts = [StoredContact(constituency="sahada", digest=f"{n:x}" * 64, sealed=Sealed("blob", "key"),
                              consent_source="missed call", consent_at=at, notice_version="v1", language="hi",
                              source_key="audience/sahada/list.csv", updated_at=at) for n in range(1, 6)]
    with Stubber(dynamodb) as stub:
        for _ in range(len(contacts) + 1):
            stub.add_response("put_item", {})
        with running("on_audience_upload"):
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "x"}, "sk": {"S": "y"}})
            assert [c.operation for c in log.calls] == ["PutItem"], "a call on the function's own thread is recorded"
            log.calls.clear()
            AudienceStore(dynamodb, TABLE).save_contacts(contacts)
    written = [c for c in log.calls if c.operation == "PutItem"]
    assert [c.function for c in written] == ["on_audience_upload"] * len(contacts)


# ---- 10. the local API does not run in a container of its own --------------------------------------------------
def test_the_local_api_runs_as_api_handler_in_a_container_of_its_own(monkeypatch):
    """README.md ("each function with its own container as in its own process") and local/aws_calls.py:48-58:
    own_container gives a function the caches it has in the cloud. The pump passes it (local/pump.py:248), the local
    API gateway does not (local/gateway.py:104-109: `running(API_FUNCTION)` only). api_handler therefore shares the
    process-wide container with everything the harness does outside a function (recorded_run.run_until's
    store reads, the stack's own calls): whatever that warms — the active campaign, a token, the digest key, a data
    key — the API does not call for, and its recording misses calls the cloud's api_handler makes on a cold start."""
    from chalice.local import LocalGateway

    from chalicelib import bootstrap
    from local.gateway import ApiFunctionGateway

    seen = {}

    def handle(self, *args, **kwargs):
        return None

    monkeypatch.setattr(LocalGateway, "handle_request", handle)
    monkeypatch.setattr(bootstrap, "as_function", lambda name: _own_container(seen, name))
    object.__new__(ApiFunctionGateway).handle_request("GET", "/health", {}, b"")
    assert seen.get("as_function") == "api_handler", "the API is given no container of its own"


class _own_container:  # stands in for bootstrap.as_function's context manager
    def __init__(self, seen, name):
        seen["as_function"] = name

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
