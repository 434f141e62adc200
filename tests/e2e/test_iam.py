"""IAM, proven by the calls the code makes: the emulator enforces no IAM, so a call the policy forgets works locally
and fails in the cloud (a missing s3:ListBucket once turned a missing media file into a crash there).

tests/support/recorded_run.py walks every Lambda through a campaign's days on the local stack, each function with its
own container (its own caches, as its own process in the cloud), and records every AWS call each one makes with
botocore's event hooks. Each call is turned into the requests IAM evaluates (tests/support/iam.py) and checked
against the function's own policy as `make deploy` writes it for the stage, bound to its region and account —
and every grant of a policy must be used by a call of its function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from infra.policy import (
    CALLED_ON_RARE_PATHS,
    FUNCTIONS,
    NOT_CALLED_BY_THE_CODE,
    StageResources,
    function_policies,
)
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


def stage_policies() -> dict[str, dict]:
    return function_policies(StageResources(STAGE, BUCKET, f"prachar-{STAGE}", f"prachar-{STAGE}-publish",
                                            f"prachar-{STAGE}-upload-failures", LOCAL_REGION, ACCOUNT))


def by_function(calls: list[AwsCall]) -> dict[str, list[AwsCall]]:
    found: dict[str, list[AwsCall]] = defaultdict(list)
    for call in calls:
        found[call.function].append(call)
    return found


def test_the_run_exercises_every_lambda_function(calls):
    called = set(by_function(calls))
    assert called == set(FUNCTIONS), f"not exercised: {set(FUNCTIONS) - called}; unknown: {called - set(FUNCTIONS)}"


def test_every_call_of_every_function_is_allowed_by_that_functions_policy(calls):
    policies = stage_policies()
    refused: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        for request in requests_for(call, LOCAL_REGION, ACCOUNT):
            if decide(policies[call.function], request) != "allowed":
                refused[call.function].add(str(request))
    assert not refused, "add to infra/policy.py:\n" + "\n".join(f"{f}: {sorted(r)}" for f, r in refused.items())


def test_a_policy_grants_nothing_its_function_never_calls(calls):
    """Each Allow statement's every action × resource is used by a recorded call of the function (or of a function
    running the same code with the same policy: the import's first run and its continuations), unless Lambda, S3 or
    KMS need it on the function's behalf (NOT_CALLED_BY_THE_CODE), or the code calls it on a path the run cannot reach
    on purpose (CALLED_ON_RARE_PATHS, each driven by tests/*/test_review_findings_10.py)."""
    policies, calls_of = stage_policies(), by_function(calls)
    unused: dict[str, list[str]] = {}
    for function, policy in policies.items():
        twins = [f for f, p in policies.items() if _code_of(p) == _code_of(policy)]
        used = {grant for twin in twins for call in calls_of[twin]
                for request in requests_for(call, LOCAL_REGION, ACCOUNT) for grant in allowing(policy, request)}
        granted = {(s["Sid"], action, resource) for s in policy["Statement"] if s["Sid"] not in NOT_CALLED_BY_THE_CODE
                   for action in s["Action"] for resource in _as_list(s["Resource"])
                   if (function, action) not in CALLED_ON_RARE_PATHS}
        if granted - used:
            unused[function] = sorted(f"{sid}: {action} on {resource}" for sid, action, resource in granted - used)
    assert not unused, "never called; remove from infra/policy.py:\n" + "\n".join(f"{f}: {g}"
                                                                                 for f, g in unused.items())


def _code_of(policy: dict) -> list:
    return [s for s in policy["Statement"] if s["Sid"] not in NOT_CALLED_BY_THE_CODE]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_calls_reach_every_kind_of_resource_the_policies_name(calls):
    """The checks can fail: the run makes the calls whose grants are the easiest to forget."""
    requests = {r for call in calls for r in requests_for(call, LOCAL_REGION, ACCOUNT)}
    actions = {r.action for r in requests}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "dynamodb:Query", "dynamodb:BatchWriteItem",
            "sqs:SendMessage", "sqs:ChangeMessageVisibility", "ssm:GetParameter", "secretsmanager:GetSecretValue",
            "kms:GenerateDataKey", "kms:Decrypt"} <= actions
    presigned = [c for c in calls if c.presigned]
    assert {c.function for c in presigned} >= {"api_handler", "on_publish_message"}, \
        "a presigned link is fetched with the function's own credentials: its GetObject is the function's"
    policy = stage_policies()["on_audience_upload"]
    without_sealing = {**policy, "Statement": [s for s in policy["Statement"] if s["Sid"] != "AudienceKey"]}
    sealing = [r for r in requests if r.action == "kms:GenerateDataKey"]
    assert sealing and all(decide(without_sealing, r) == "not allowed" for r in sealing)


def test_a_request_is_allowed_only_on_its_own_stage():
    policy = stage_policies()["on_publish_message"]
    table = f"arn:aws:dynamodb:{LOCAL_REGION}:{ACCOUNT}:table/prachar-local"
    assert allowing(policy, Request("dynamodb:PutItem", table))
    for foreign in (f"arn:aws:dynamodb:{LOCAL_REGION}:{ACCOUNT}:table/prachar-prod",
                    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/prachar-local",
                    f"arn:aws:dynamodb:{LOCAL_REGION}:999999999999:table/prachar-local"):
        assert decide(policy, Request("dynamodb:PutItem", foreign)) == "not allowed", foreign
    assert decide(policy, Request("dynamodb:Scan", table)) == "not allowed"
