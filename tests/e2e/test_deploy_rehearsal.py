"""`make deploy` rehearsed against the emulator: resources, chalice deploy, and the post-deploy settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import boto3
import pytest
import yaml

from infra.deploy import DeployRefused, check_target
from local.emulator import Emulator, free_port
from tests.e2e.conftest import ROOT, clean_environment

pytestmark = pytest.mark.e2e
PROJECT_FILES = ["app.py", "chalicelib", "infra", "requirements.txt", ".chalice/config.json"]


def test_a_deploy_refuses_an_unintended_endpoint():
    with pytest.raises(DeployRefused, match="refusing"):
        check_target({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, rehearsal=False)
    with pytest.raises(DeployRefused, match="loopback"):
        check_target({"AWS_ENDPOINT_URL": "https://s3.example.net"}, rehearsal=True)
    check_target({}, rehearsal=False)


def test_deploy_rehearsal_against_the_emulator(tmp_path):
    for name in PROJECT_FILES:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    for team in document["teams"]:
        for member in team["members"]:
            member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    emulator = Emulator(port=free_port()).start()
    try:
        credentials = {"AWS_ENDPOINT_URL": emulator.url, "AWS_DEFAULT_REGION": "ap-south-1",
                       "AWS_ACCESS_KEY_ID": "ops", "AWS_SECRET_ACCESS_KEY": "ops"}
        def deploy():
            result = subprocess.run([sys.executable, "-m", "infra.deploy", "--stage", "dev", "--rehearsal",
                                     "--campaign", str(campaign_file)],
                                    cwd=tmp_path, env=clean_environment(**credentials), capture_output=True,
                                    text=True, timeout=600)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            return result

        result = deploy()
        assert "ReportBatchItemFailures on 1 event-source mapping" in result.stdout
        assert "On-failure destination prachar-dev-upload-failures on 3 S3-triggered function(s) (3 changed)" \
            in result.stdout

        def client(service):
            return boto3.client(service, endpoint_url=emulator.url, region_name="ap-south-1",
                                aws_access_key_id="ops", aws_secret_access_key="ops")

        functions = {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}
        assert {"prachar-dev-on_config_upload", "prachar-dev-on_content_upload", "prachar-dev-publishing_clock",
                "prachar-dev-on_publish_message", "prachar-dev"} <= functions
        notifications = client("s3").get_bucket_notification_configuration(Bucket="prachar-dev-content")
        filters = sorted(str(n.get("Filter")) for n in notifications["LambdaFunctionConfigurations"])
        assert any("config/" in f for f in filters) and any("content/" in f for f in filters)
        [mapping] = client("lambda").list_event_source_mappings()["EventSourceMappings"]
        assert mapping["EventSourceArn"].endswith(":prachar-dev-publish")
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        rules = client("events").list_rules()["Rules"]
        assert any(r.get("ScheduleExpression") == "rate(1 minute)" for r in rules)
        environment = client("lambda").get_function_configuration(
            FunctionName="prachar-dev-on_publish_message")["Environment"]["Variables"]
        assert environment["PRACHAR_PUBLISH_QUEUE"] == "prachar-dev-publish"
        policy = json.loads(client("s3").get_bucket_policy(Bucket="prachar-dev-content")["Policy"])
        sids = {statement["Sid"] for statement in policy["Statement"]}
        assert {"SahadaItCellWritesItsOwnPrefix", "SahadaItCellWritesNowhereElse"} <= sids
        assert "2 team(s) can write only under their own prefix" in result.stdout

        failure_queue = client("sqs").get_queue_url(QueueName="prachar-dev-upload-failures")["QueueUrl"]
        failure_queue_arn = client("sqs").get_queue_attributes(
            QueueUrl=failure_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        def on_failure_destinations():
            found = {}
            for handler in ("on_config_upload", "on_content_upload", "on_calendar_upload"):
                config = client("lambda").get_function_event_invoke_config(FunctionName=f"prachar-dev-{handler}")
                found[handler] = (config["DestinationConfig"]["OnFailure"]["Destination"],
                                  config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"])
            return found

        assert set(on_failure_destinations().values()) == {(failure_queue_arn, 2, 21600)}
        role_policy = json.loads((tmp_path / ".chalice" / "policy-dev.json").read_text())
        sending = [s for s in role_policy["Statement"] if s["Action"] == ["sqs:SendMessage"]]
        assert [s["Resource"] for s in sending] == [failure_queue_arn], "the role may write its failure records"
        listing = [s for s in role_policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
        assert [s["Resource"] for s in listing] == ["arn:aws:s3:::prachar-dev-content"]

        again = deploy()  # a later deploy: chalice leaves the destinations alone, and so does ours
        assert "On-failure destination prachar-dev-upload-failures on 3 S3-triggered function(s) (0 changed)" \
            in again.stdout
        assert set(on_failure_destinations().values()) == {(failure_queue_arn, 2, 21600)}
    finally:
        emulator.stop()
