"""IAM, proven by the calls the code makes: the emulator enforces no IAM, so a call the policy forgets works locally
and fails in the cloud (a missing s3:ListBucket once turned a missing media file into a crash there).

tests/support/recorded_run.py walks every Lambda through a campaign's days on the local stack, each function with its
own container (its own caches, as its own process in the cloud), and records every AWS call each one makes with
botocore's event hooks. Each call is turned into the requests IAM evaluates (tests/support/iam.py) and checked
against the policy `make deploy` writes for the stage, bound to its region and account.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from chalice.app import S3EventConfig, ScheduledEventConfig, SQSEventConfig

from infra.policy import lambda_policy
from local.aws_calls import AwsCall
from local.emulator import LOCAL_REGION
from local.pump import ACCOUNT
from local.stack import BUCKET, STAGE
from tests.e2e.conftest import ROOT, clean_environment
from tests.support.iam import Request, allowing, decide, requests_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> list[AwsCall]:
    out = tmp_path_factory.mktemp("iam") / "calls.json"
    result = subprocess.run([sys.executable, "-m", "tests.support.recorded_run", str(out)], cwd=ROOT,
                            env=clean_environment(POWERTOOLS_LOG_LEVEL="WARNING"), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return [AwsCall.from_json(c) for c in json.loads(out.read_text())]


def stage_policy() -> dict:
    return lambda_policy(STAGE, BUCKET, f"prachar-{STAGE}", f"prachar-{STAGE}-publish",
                         f"prachar-{STAGE}-upload-failures", region=LOCAL_REGION, account=ACCOUNT)


def the_functions() -> set[str]:
    import app

    handlers = {c.name for c in app.app.event_sources
                if isinstance(c, S3EventConfig | SQSEventConfig | ScheduledEventConfig)}
    return handlers | {"api_handler"}


def test_the_run_exercises_every_lambda_function(calls):
    called = {call.function for call in calls}
    assert called == the_functions(), f"not exercised: {the_functions() - called}; unknown: {called - the_functions()}"


def test_every_call_of_every_function_is_allowed_by_the_stage_policy(calls):
    policy = stage_policy()
    refused: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        for request in requests_for(call, LOCAL_REGION, ACCOUNT):
            if decide(policy, request) != "allowed":
                refused[call.function].add(str(request))
    assert not refused, "add to infra/policy.py:\n" + "\n".join(f"{f}: {sorted(r)}" for f, r in refused.items())


def test_the_calls_reach_every_kind_of_resource_the_policy_names(calls):
    """The check can fail: the run makes the calls whose grants are the easiest to forget."""
    requests = {r for call in calls for r in requests_for(call, LOCAL_REGION, ACCOUNT)}
    actions = {r.action for r in requests}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "dynamodb:Query", "dynamodb:BatchWriteItem",
            "sqs:SendMessage", "sqs:ChangeMessageVisibility", "ssm:GetParameter", "secretsmanager:GetSecretValue",
            "kms:GenerateDataKey", "kms:Decrypt"} <= actions
    presigned = [c for c in calls if c.presigned]
    assert {c.function for c in presigned} >= {"api_handler", "on_publish_message"}, \
        "a presigned link is fetched with the function's own credentials: its GetObject is the function's"
    without_sealing = {**stage_policy()}
    without_sealing["Statement"] = [s for s in without_sealing["Statement"] if s["Sid"] != "SealVotersContacts"]
    sealing = [r for r in requests if r.action == "kms:GenerateDataKey"]
    assert sealing and all(decide(without_sealing, r) == "not allowed" for r in sealing)


def test_a_request_is_allowed_only_on_its_own_stage():
    policy, table = stage_policy(), f"arn:aws:dynamodb:{LOCAL_REGION}:{ACCOUNT}:table/prachar-local"
    assert allowing(policy, Request("dynamodb:PutItem", table))
    for foreign in (f"arn:aws:dynamodb:{LOCAL_REGION}:{ACCOUNT}:table/prachar-prod",
                    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/prachar-local",
                    f"arn:aws:dynamodb:{LOCAL_REGION}:999999999999:table/prachar-local"):
        assert decide(policy, Request("dynamodb:PutItem", foreign)) == "not allowed", foreign
    assert decide(policy, Request("dynamodb:Scan", table)) == "not allowed"
