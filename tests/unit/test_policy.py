import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from infra.policy import lambda_policy, policy_text

ROOT = Path(__file__).resolve().parents[2]


def policy_for(stage, **where):
    return lambda_policy(stage, f"prachar-{stage}-content", f"prachar-{stage}", f"prachar-{stage}-publish",
                         f"prachar-{stage}-upload-failures", **where)


def statements_allowing(policy, action):
    return [s for s in policy["Statement"] if action in s["Action"]]


def resources_of(statement):
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_policies_are_what_the_generator_writes(stage):
    assert (ROOT / ".chalice" / f"policy-{stage}.json").read_text() == policy_text(policy_for(stage))


def test_the_policy_is_least_privilege_and_stage_bound():
    policy = policy_for("dev")
    text = json.dumps(policy)
    assert "prod" not in text
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        assert statement["Resource"] != "*", statement["Sid"]
        if statement["Sid"] == "SealVotersContacts":  # a key made by CloudFormation: bound by its alias
            assert statement["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == \
                "alias/prachar-dev-audience"
        elif statement["Sid"] != "DecryptTokensThroughSsmOnly":
            assert all("prachar-dev" in r or "prachar/dev/" in r for r in resources_of(statement)), statement["Sid"]
    kms = next(s for s in policy["Statement"] if s["Sid"] == "DecryptTokensThroughSsmOnly")
    assert all(s.split(".")[0] in ("ssm", "secretsmanager") for s in kms["Condition"]["StringLike"]["kms:ViaService"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "dynamodb:Scan" not in actions and "s3:DeleteBucket" not in actions


def test_a_missing_media_file_answers_404_not_403():
    """Without s3:ListBucket on the bucket itself, S3 answers GET/HEAD of a missing key with 403 AccessDenied."""
    [listing] = statements_allowing(policy_for("dev"), "s3:ListBucket")
    assert resources_of(listing) == ["arn:aws:s3:::prachar-dev-content"]


def test_lambda_may_send_its_on_failure_records_to_the_upload_failures_queue_only():
    sending = statements_allowing(policy_for("dev", region="ap-south-1", account="210987654321"), "sqs:SendMessage")
    resources = {r for s in sending for r in resources_of(s)}
    assert "arn:aws:sqs:ap-south-1:210987654321:prachar-dev-upload-failures" in resources
    failure_statement = next(s for s in sending if "upload-failures" in str(s["Resource"]))
    assert failure_statement["Action"] == ["sqs:SendMessage"], "the failure queue is written, never read, by Lambda"


def test_a_deploy_binds_every_arn_to_its_region_and_account():
    policy = policy_for("dev", region="ap-south-1", account="210987654321")
    for statement in policy["Statement"]:
        for resource in resources_of(statement):
            if resource.startswith("arn:aws:s3:::"):
                continue  # S3 bucket and object ARNs carry neither
            assert resource.split(":")[3:5] == ["ap-south-1", "210987654321"], resource


# IAM authorizes these calls under another action's name.
AUTHORIZED_AS = {"s3:HeadObject": "s3:GetObject", "sqs:SendMessageBatch": "sqs:SendMessage",
                 "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
# Calls made through Powertools Parameters, under names of its own.
POWERTOOLS_CALLS = {"get_secret": "secretsmanager:GetSecretValue", "get_parameters_by_name": "ssm:GetParameters"}


def aws_calls_in(root: Path) -> dict[str, set[str]]:
    """Every boto3 operation the code names (`client.put_item(` or `"put_item"`), as IAM actions, by file."""
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for service in ("dynamodb", "s3", "sqs", "ssm", "secretsmanager"):
        for operation in session.get_service_model(service).operation_names:
            action = f"{service}:{operation}"
            operations.setdefault(xform_name(operation), set()).add(AUTHORIZED_AS.get(action, action))
    for name, action in POWERTOOLS_CALLS.items():
        operations.setdefault(name, set()).add(action)
    calls: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"\.([a-z_]+)\(", text) + re.findall(r"[\"']([a-z_]+)[\"']", text):
            for action in operations.get(name, ()):
                calls.setdefault(action, set()).add(str(path.relative_to(ROOT)))
    return calls


def test_every_aws_call_the_lambdas_make_is_allowed():
    """The emulator does not enforce IAM, so a call the policy forgets works locally and fails in the cloud."""
    allowed = {a for s in policy_for("dev")["Statement"] for a in s["Action"]}
    calls = aws_calls_in(ROOT / "chalicelib")
    assert {"dynamodb:Query", "s3:GetObject", "sqs:SendMessage"} <= set(calls), "the scan finds the adapters' calls"
    missing = {action: sorted(files) for action, files in calls.items() if action not in allowed}
    assert not missing, f"add these to infra/policy.py (or to AUTHORIZED_AS here): {missing}"
