"""Each function's policy, as `make deploy` writes it. tests/e2e/test_iam.py proves them against the recorded calls;
these are the rules every policy keeps whatever the code calls."""

import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from infra.policy import FUNCTIONS, NOT_CALLED_BY_THE_CODE, S3_TRIGGERED, StageResources, function_policies

ROOT = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "ap-south-1", "210987654321"


def policies(stage="dev", region=REGION, account=ACCOUNT):
    return function_policies(StageResources(stage, f"prachar-{stage}-content", f"prachar-{stage}",
                                            f"prachar-{stage}-publish", f"prachar-{stage}-upload-failures",
                                            region, account))


def statements(policy):
    return policy["Statement"]


def resources_of(statement):
    return statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]


def test_every_function_of_the_app_has_its_own_policy():
    from chalice.app import S3EventConfig, ScheduledEventConfig, SQSEventConfig

    import app

    handlers = {c.name for c in app.app.event_sources
                if isinstance(c, S3EventConfig | SQSEventConfig | ScheduledEventConfig)}
    assert set(FUNCTIONS) == handlers | {"api_handler"}
    assert len(FUNCTIONS) == len(set(FUNCTIONS)) == len(policies())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_policy_is_least_privilege_and_bound_to_its_stage_region_and_account(function):
    policy = policies()[function]
    sids = [s["Sid"] for s in statements(policy)]
    assert len(sids) == len(set(sids)), sids
    assert "prod" not in json.dumps(policy)
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        for resource in resources_of(statement):
            assert resource != "*", statement["Sid"]
            if resource.startswith("arn:aws:s3:::"):
                assert resource.startswith("arn:aws:s3:::prachar-dev-content"), resource  # S3 ARNs carry neither
            else:
                assert resource.split(":")[3:5] == [REGION, ACCOUNT], resource
            if statement["Sid"] not in ("AudienceKey", "SsmDecryptsTokens"):  # keys made by CloudFormation / AWS
                assert "prachar-dev" in resource or "prachar/dev/" in resource, (statement["Sid"], resource)
    actions = {a for s in statements(policy) for a in s["Action"]}
    assert not actions & {"dynamodb:Scan", "s3:DeleteBucket", "s3:PutObjectAcl", "s3:PutBucketPolicy"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_logs_go_to_the_functions_own_log_group_only(function):
    [logs] = [s for s in statements(policies()[function]) if any(a.startswith("logs:") for a in s["Action"])]
    name = "prachar-dev" if function == "api_handler" else f"prachar-dev-{function}"
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}"
    assert resources_of(logs) == [group, f"{group}:*"]


def test_s3_writes_are_scoped_to_the_prefixes_each_function_writes():
    writes = {f: sorted(r.removeprefix("arn:aws:s3:::prachar-dev-content/") for s in statements(p)
                        for r in resources_of(s) if {"s3:PutObject", "s3:DeleteObject"} & set(s["Action"]))
              for f, p in policies().items()}
    assert writes == {
        "api_handler": ["exports/*"], "on_config_upload": ["errors/config/*"],
        "on_content_upload": ["errors/content/*"], "on_calendar_upload": ["errors/calendar/*"],
        "on_audience_upload": ["errors/audience/*", "reports/*/audience/*"],
        "on_import_continuation": ["errors/audience/*", "reports/*/audience/*"],
        "daily_report": ["reports/*"], "audience_purge": ["reports/*/audience/*"],
        **{f: [] for f in ("on_broadcast_chunk", "publishing_clock", "broadcast_counts", "token_health_check",
                           "coverage_alert", "engagement_collector", "campaign_closer", "on_publish_message")}}


def test_a_function_that_reads_uploads_may_list_the_bucket_so_a_missing_key_answers_404_not_403():
    for function, policy in policies().items():
        reads = [s for s in statements(policy) if s["Sid"] == "ReadUploads"]
        listing = [s for s in statements(policy) if "s3:ListBucket" in s["Action"]]
        assert bool(reads) == bool(listing), function
        assert all(resources_of(s) == ["arn:aws:s3:::prachar-dev-content"] for s in listing)


def test_only_the_s3_triggered_functions_may_send_their_on_failure_records_and_only_there():
    for function, policy in policies().items():
        failing = [s for s in statements(policy) if s["Sid"] == "LambdaRecordsFailures"]
        if function in S3_TRIGGERED:
            assert failing == [{"Sid": "LambdaRecordsFailures", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                                "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:prachar-dev-upload-failures"}]
        else:
            assert not failing, function


def test_every_statement_the_code_does_not_call_says_why():
    sids = {s["Sid"] for p in policies().values() for s in statements(p)}
    assert {sid for sid in sids if sid.startswith("Lambda")} <= set(NOT_CALLED_BY_THE_CODE)


# IAM authorizes these calls under another action's name.
AUTHORIZED_AS = {"s3:HeadObject": "s3:GetObject", "sqs:SendMessageBatch": "sqs:SendMessage",
                 "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}


def aws_calls_in(root: Path) -> dict[str, set[str]]:
    """Every boto3 operation the code names (`client.put_item(` or `"put_item"`), as IAM actions, by file."""
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for service in ("dynamodb", "s3", "sqs", "ssm", "secretsmanager"):  # kms: `encrypt`, `sign` are local crypto too
        for operation in session.get_service_model(service).operation_names:
            action = f"{service}:{operation}"
            operations.setdefault(xform_name(operation), set()).add(AUTHORIZED_AS.get(action, action))
    calls: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"\.([a-z_]+)\(", text) + re.findall(r"[\"']([a-z_]+)[\"']", text):
            for action in operations.get(name, ()):
                calls.setdefault(action, set()).add(str(path.relative_to(ROOT)))
    return calls


def test_every_aws_operation_the_code_names_is_granted_to_some_function():
    """A second net under the recorded calls of test_iam.py: an operation named anywhere in chalicelib/ that no
    function may call would work on the emulator and fail in the cloud."""
    allowed = {a for p in policies().values() for s in statements(p) for a in s["Action"]}
    calls = aws_calls_in(ROOT / "chalicelib")
    assert {"dynamodb:Query", "s3:GetObject", "sqs:SendMessage"} <= set(calls), "the scan finds the adapters' calls"
    missing = {action: sorted(files) for action, files in calls.items() if action not in allowed}
    assert not missing, f"add these to infra/policy.py (or to AUTHORIZED_AS here): {missing}"


def test_with_tracing_on_each_function_may_send_its_trace_segments_and_only_then():
    traced = function_policies(StageResources("dev", "prachar-dev-content", "prachar-dev", "prachar-dev-publish",
                                              "prachar-dev-upload-failures", REGION, ACCOUNT, tracing=True))
    for function in FUNCTIONS:
        [tracing] = [s for s in statements(traced[function]) if s["Sid"] == "TracingSendsSegments"]
        assert tracing["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        assert tracing["Resource"] == "*"  # X-Ray has no resource-level permissions for these two
        assert [s for s in statements(traced[function]) if s is not tracing] == statements(policies()[function])
    assert "TracingSendsSegments" in NOT_CALLED_BY_THE_CODE


def test_a_deploy_with_tracing_turns_x_ray_on_for_the_stage_and_one_without_turns_it_off(tmp_path):
    from infra.deploy import record_stage

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": "2.0", "app_name": "prachar", "stages": {}}))
    environment = {"PRACHAR_CONTENT_BUCKET": "prachar-dev-content", "PRACHAR_TABLE": "prachar-dev",
                   "PRACHAR_PUBLISH_QUEUE": "prachar-dev-publish"}
    record_stage(config, "dev", environment, "prachar-dev-upload-failures", region=REGION, account=ACCOUNT,
                 tracing=True)
    stage = json.loads(config.read_text())["stages"]["dev"]
    assert stage["xray"] is True and stage["environment_variables"]["PRACHAR_TRACING"] == "true"
    policy = json.loads((tmp_path / "policy-dev-publishing_clock.json").read_text())
    assert "TracingSendsSegments" in {s["Sid"] for s in policy["Statement"]}
    record_stage(config, "dev", environment, "prachar-dev-upload-failures", region=REGION, account=ACCOUNT)
    stage = json.loads(config.read_text())["stages"]["dev"]
    assert stage["xray"] is False and stage["environment_variables"]["PRACHAR_TRACING"] == "false"
    policy = json.loads((tmp_path / "policy-dev-publishing_clock.json").read_text())
    assert "TracingSendsSegments" not in {s["Sid"] for s in policy["Statement"]}
