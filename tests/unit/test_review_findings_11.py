"""Review of the observability change (c13ed96), `make redrive` / `make destroy` and the runbook (85d080c), and the
bucket policy (c517baf): each finding is a test that fails on the change. The emulator-backed findings (metrics and
log lines through the real handlers) are in tests/functional/test_review_findings_11.py.

The docstring of each test says what breaks for the campaign, and where.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from chalicelib.domain.campaign import Campaign
from chalicelib.services.activity import ALARMING
from infra import destroy as destroy_module
from infra.bucket_policy import bucket_policy
from infra.deploy import DeployRefused, alarm_topic
from local.provision import _template
from tests.support import iam
from tests.support.iam import Request

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-south-1"


def campaign_document(with_principals: bool = True) -> dict:
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    if with_principals:
        for team in document["teams"]:
            for member in team["members"]:
                member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    return document


# ---- 1. three of the four "alarming" activity kinds have no alarm ------------------------------------------------
@pytest.mark.parametrize("kind", ALARMING)
def test_every_alerting_activity_kind_has_an_alarm(kind):
    """chalicelib/services/activity.py: `ALARMING` — "Entries that need a person: each is also a metric, which
    infra/resources.yaml alarms on". Only `account.unhealthy` has an alarm (UnhealthyAccountAlarm): a halted
    broadcast (`broadcast.halted`), a post in doubt that a coordinator must settle (`post.needs_decision`) and a
    coordinator alert that could not be sent on WhatsApp (`alert.not_sent` — the one case where the in-app alert
    itself failed) emit Alerts{kind} that nothing watches: nobody on the ops side is told."""
    watched = set()
    for resource in _template()["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [q["MetricStat"]["Metric"] for q in props.get("Metrics", []) if "MetricStat" in q]
        if props.get("MetricName"):
            stats.append({"MetricName": props["MetricName"], "Dimensions": props.get("Dimensions", [])})
        for metric in stats:
            if metric["MetricName"] == "Alerts":
                watched |= {d["Value"] for d in metric["Dimensions"] if d["Name"] == "kind"}
    assert kind in watched, f"Alerts{{kind={kind}}} is emitted for a person to act on, and no alarm reads it"


# ---- 2. the bucket policy forgets object versions ---------------------------------------------------------------
BUCKET = "prachar-prod-content"


def versioned(action, key, user_id):
    return Request(action, f"arn:aws:s3:::{BUCKET}/{key}", (("aws:userid", user_id), ("aws:SecureTransport", "true")))


@pytest.mark.parametrize("action", ["s3:DeleteObjectVersion", "s3:PutObjectVersionAcl"])
def test_a_member_cannot_delete_or_re_permission_a_version_outside_the_teams_prefixes(action):
    """c517baf: "a member deletes or re-permissions nothing outside the team's prefixes" — infra/bucket_policy.py
    denies s3:PutObject, s3:PutObjectAcl and s3:DeleteObject (KEPT_TO_THE_PREFIX). The content bucket is versioned
    (infra/resources.yaml), and deleting a *version* is s3:DeleteObjectVersion (permanent: no delete marker, nothing
    to restore), re-permissioning one is s3:PutObjectVersionAcl — neither is denied. A Sahada member whose IAM
    policy allows s3:* on the bucket can permanently delete the state team's post or its media, or another
    constituency's calendar. (The config guard itself uses s3:DeleteObject* and s3:PutObject* for exactly this.)
    AWS: "to block users ... from removing or deleting objects ... you must deny them the s3:DeleteObject,
    s3:DeleteObjectVersion, and s3:PutLifeCycleConfiguration actions" (DeleteObject API reference)."""
    policy = bucket_policy(BUCKET, Campaign.model_validate(campaign_document()), ["AIDADEPLOYER"])
    for key in ("content/state/2021-04-01/post.md", "calendar/constituency/vallabhnagar/week.csv"):
        assert iam.decide(policy, versioned(action, key, "AIDASAHADA02")) == "denied", (action, key)


# ---- 3. make destroy, run again after it stopped half-way, forgets what the stack retained ----------------------
@pytest.fixture()
def chalice_config(tmp_path, monkeypatch):
    (tmp_path / ".chalice").mkdir()
    config = tmp_path / ".chalice" / "config.json"
    shutil.copy(ROOT / ".chalice" / "config.json", config)
    monkeypatch.setattr(destroy_module, "CHALICE_CONFIG", config)
    monkeypatch.setattr(destroy_module, "ROOT", tmp_path)
    return config


@pytest.fixture()
def aws(monkeypatch):
    """moto in-process; no emulator endpoint left behind by another test (make destroy would refuse it, and moto
    would not see the calls)."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def test_destroy_run_again_after_the_stack_went_still_removes_the_bucket_and_the_table(aws, chalice_config):
    """infra/destroy.py learns the bucket, the table and the audience key only from the stack's outputs — and
    deletes the stack (step 2) before them. If a run stops after the stack is gone (a bucket of many versions, an
    expired session, Ctrl-C, a throttled DeleteObjects), the next run finds no stack, reports "no stack
    prachar-dev-resources", "stage dev destroyed." — and leaves the retained bucket (the team's uploads, reports
    and, for up to a day, voters' numbers in the clear), the table (sealed contacts, the activity log) and the
    key behind for good. Their names are the stage's own (prachar-<stage>-content, prachar-<stage>)."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="prachar-dev-content", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="prachar-dev-content", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="prachar-dev-content", Key="audience/sahada/list.csv", Body=b"phone,name\n")
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="prachar-dev", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    said = []
    destroy_module.destroy("dev", lambda: None, said.append)
    assert "prachar-dev-content" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}, said
    assert "prachar-dev" not in dynamodb.list_tables()["TableNames"], said


# ---- 4. make destroy from a checkout without .chalice/deployed/<stage>.json -------------------------------------
def test_destroy_without_chalices_deployment_record_does_not_leave_the_functions_running(aws, chalice_config,
                                                                                         monkeypatch, capsys):
    """infra/destroy.py main(): `chalice delete` runs only if .chalice/deployed/<stage>.json exists — a file that is
    git-ignored and lives on the machine that deployed (the runbook itself warns that a deploy from elsewhere makes
    a second API). From any other checkout, make destroy silently skips it, still prints "chalice delete --stage
    dev: the functions, their roles, the API, the schedules", deletes the table, the bucket and the queues under
    the live functions — and leaves every Lambda, its role, the REST API and the every-minute schedules running
    (failing every minute against resources that are gone), and says "stage dev destroyed."."""
    iam_client = boto3.client("iam", region_name=REGION)
    role = iam_client.create_role(RoleName="prachar-dev-publishing_clock", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    lambda_client = boto3.client("lambda", region_name=REGION)
    lambda_client.create_function(FunctionName="prachar-dev-publishing_clock", Runtime="python3.11", Role=role,
                                  Handler="app.handler", Code={"ZipFile": code.getvalue()})
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: ran.append(args))
    try:
        answer = destroy_module.main(["--stage", "dev", "--yes"])
    except DeployRefused:
        return  # refusing, rather than destroying half a stage, would be right too
    left = [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]
    printed = capsys.readouterr().out
    assert not (answer == 0 and left and not ran), (
        f"make destroy said {printed.strip().splitlines()[-1]!r} and left {left} running; chalice delete never ran")


# ---- 5. make destroy leaves the accounts' tokens kept in Secrets Manager ----------------------------------------
def test_destroy_removes_the_stages_account_tokens_kept_in_secrets_manager(aws, chalice_config):
    """README ("Before the first deploy") tells operators to keep an account's token in SSM *or* in Secrets Manager
    (`secretsmanager:prachar/dev/accounts/…`, with `aws secretsmanager create-secret`); tests/support/campaign.yaml
    keeps fb-state's there. make destroy "removes a stage ..., all of it" and deletes the SSM parameters under
    /prachar/<stage>/ and the digest key — but not prachar/<stage>/accounts/* in Secrets Manager: live page and
    X credentials of a destroyed stage stay behind, unwatched."""
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="prachar/dev/accounts/x-sahada", SecretString='{"consumer_key": "k"}')
    destroy_module.destroy("dev", lambda: None, lambda _: None)
    names = [s["Name"] for s in secrets.list_secrets()["SecretList"] if "DeletedDate" not in s]
    assert "prachar/dev/accounts/x-sahada" not in names


# ---- 6. make destroy misses the members' pool past the first page -----------------------------------------------
def test_destroy_finds_the_stages_user_pool_however_many_pools_the_account_has(aws, chalice_config):
    """infra/destroy.py looks for prachar-<stage>-members in one ListUserPools page (MaxResults=60) and never
    follows NextToken: in an account with more pools (a shared dev account), the stage's pool — its members'
    names, emails and phone numbers — survives, and the report says "members' user pool: 0 deleted"."""
    cognito = boto3.client("cognito-idp", region_name=REGION)
    for n in range(60):
        cognito.create_user_pool(PoolName=f"another-team-{n:02d}")
    cognito.create_user_pool(PoolName="prachar-dev-members")
    destroy_module.destroy("dev", lambda: None, lambda _: None)
    left = []
    kwargs = {"MaxResults": 60}
    while True:
        page = cognito.list_user_pools(**kwargs)
        left += [p["Name"] for p in page["UserPools"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert "prachar-dev-members" not in left


# ---- 7. the alarm topic of another region reaches CloudFormation ------------------------------------------------
def test_an_alarm_topic_in_another_region_is_refused_before_the_stack_update(tmp_path, monkeypatch):
    """chalicelib/domain/campaign.py accepts any region in operations.alarm_topic, and infra/deploy.py passes it
    straight to the stack as AlarmTopicArn. CloudWatch refuses an alarm action in another region ("ValidationError:
    Invalid region us-east-1 specified. Only ap-south-1 is supported."), so every alarm fails to create or update,
    the stack rolls back and make deploy stops half-way — on a config the ingest accepted (an ops team's central
    topic in us-east-1 is the usual set-up). The rehearsal cannot show it: moto's PutMetricAlarm takes any ARN."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    document = campaign_document(with_principals=False)
    document["operations"] = {"alarm_topic": "arn:aws:sns:us-east-1:123456789012:ops-alerts"}
    Campaign.model_validate(document)  # the config itself is accepted
    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    class NoStackYet:
        def describe_stacks(self, StackName):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ValidationError", "Message": "does not exist"}}, "DescribeStacks")

    with pytest.raises((DeployRefused, ValueError)):
        topic = alarm_topic(NoStackYet(), None, "dev", campaign_file)
        # what main() would hand to CloudFormation
        assert topic is None or topic.split(":")[3] == REGION, f"AlarmTopicArn={topic} for a stack in {REGION}"


# ---- 8. runbook: "the previous release deploys over a newer one" -------------------------------------------------
@pytest.mark.xfail(strict=True, reason="the config models refuse unknown fields on purpose (a typo is an error, not "
                   "ignored); the runbook's rollback says to take a newer field out of the config first")
def test_the_release_before_c13ed96_can_read_a_campaign_config_this_release_accepts():
    """docs/runbook.md, "Roll back a deploy": `make deploy` of the last good tag over a newer release, "Posts
    scheduled meanwhile are untouched". But every config model is `extra="forbid"` (_Strict), and this change adds
    `operations:` to it: once a coordinator uploads a config naming operations.alarm_topic (as the commit asks),
    the previous release cannot parse the active campaign at all — CampaignSource.active() raises in every Lambda
    (no post goes out, no upload is accepted, the API answers 500), and its `make deploy` stops at load_campaign.
    The rollback the runbook promises breaks exactly when a release added a config field."""
    source = subprocess.run(["git", "show", "c13ed96^:chalicelib/domain/campaign.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    previous = types.ModuleType("campaign_before_c13ed96")
    sys.modules[previous.__name__] = previous
    try:
        exec(compile(source, "campaign_before_c13ed96.py", "exec"), previous.__dict__)
        document = campaign_document(with_principals=False)
        document["operations"] = {"alarm_topic": "arn:aws:sns:ap-south-1:123456789012:ops-alerts"}
        Campaign.model_validate(document)  # this release accepts it
        previous.Campaign.model_validate(document)  # the release the runbook rolls back to
    finally:
        del sys.modules[previous.__name__]


# ---- 9. make destroy by anyone but the deployer stops on the stage's own config guard, half-way ------------------
class PolicyBoundS3:
    """A versioned bucket behind a bucket policy, as S3 answers one caller (`user_id`): DeleteObjects reports each
    key the policy denies in `Errors` (S3 evaluates each key), DeleteBucket refuses a bucket that is not empty."""

    def __init__(self, policy, user_id, keys):
        self.policy, self.user_id, self.keys = policy, user_id, set(keys)
        self.bucket_gone = False

    def _allowed(self, action, key):
        if self.policy is None:
            return True
        request = Request(action, f"arn:aws:s3:::{BUCKET}/{key}",
                          (("aws:userid", self.user_id), ("aws:SecureTransport", "true")))
        return iam.decide(self.policy, request) != "denied"

    def get_paginator(self, name):
        assert name == "list_object_versions"
        outer = self

        class Pages:
            def paginate(self, Bucket):
                return [{"Versions": [{"Key": k, "VersionId": "v1"} for k in sorted(outer.keys)]}]

        return Pages()

    def delete_objects(self, Bucket, Delete):
        errors = []
        for item in Delete["Objects"]:
            if self._allowed("s3:DeleteObjectVersion", item["Key"]):
                self.keys.discard(item["Key"])
            else:
                errors.append({"Key": item["Key"], "VersionId": item["VersionId"], "Code": "AccessDenied"})
        return {"Errors": errors} if errors else {}

    def delete_bucket_policy(self, Bucket):
        self.policy = None

    def delete_bucket(self, Bucket):
        from botocore.exceptions import ClientError

        if self.keys:
            raise ClientError({"Error": {"Code": "BucketNotEmpty", "Message": "not empty"}}, "DeleteBucket")
        self.bucket_gone = True


def test_destroy_by_an_operator_other_than_the_deployer_empties_the_bucket():
    """`make deploy` writes the config guard: only the deploying identity (an IAM user's id, or a role's `AROA…:*`)
    and the coordinators may delete anything under config/ — s3:DeleteObject* included. infra/destroy.py empties
    the bucket with DeleteObjects under that same policy, ignores the per-key `Errors` S3 answers, and then
    DeleteBucket fails (BucketNotEmpty): any other operator (a second ops user, a CI role) running make destroy
    stops there — after the functions and the stack are already gone, so a second run no longer knows the bucket,
    the table or the key (see test_destroy_run_again_after_the_stack_went_…). Deleting the bucket policy first
    (not covered by the guard) would let the owner's IAM permissions decide, as for every other prefix."""
    policy = bucket_policy(BUCKET, Campaign.model_validate(campaign_document()), ["AIDAOPSDEPLOYER"])
    s3 = PolicyBoundS3(policy, "AIDAOPSSECOND", ["config/campaign.yaml", "content/state/post.yaml"])
    destroy_module.empty_and_delete_bucket(s3, BUCKET)
    assert s3.bucket_gone and not s3.keys
