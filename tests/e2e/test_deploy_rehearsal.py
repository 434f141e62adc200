"""`make deploy` rehearsed against the emulator: resources, the members' pool, chalice deploy, and the post-deploy
settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import boto3
import pytest
import yaml

from infra.deploy import DeployRefused, check_target
from infra.policy import FUNCTIONS
from local.emulator import Emulator, free_port
from tests.e2e.conftest import ROOT, clean_environment

pytestmark = pytest.mark.e2e
PROJECT_FILES = ["app.py", "chalicelib", "infra", "requirements.txt", ".chalice/config.json"]
AUTHORIZER = "prachar-members"
# The swagger `chalice deploy` sends API Gateway, made from the app as imported with the stage's environment.
SWAGGER = ("import json, app\n"
           "from chalice.deploy.swagger import SwaggerGenerator\n"
           "handler = {'api_handler_arn': 'arn:aws:lambda:ap-south-1:123456789012:function:prachar-dev'}\n"
           "print(json.dumps(SwaggerGenerator('ap-south-1', handler).generate_swagger(app.app)))\n")


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
            if member["id"] == "sahada-03":
                member["email"] = "sahada-03@example.org"  # the test campaign gives no phone: every member reachable
    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    members = {m["id"]: m for t in document["teams"] for m in t["members"]}
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
        assert "alarms → arn:aws:sns:ap-south-1:123456789012:prachar-dev-alarms (made by the stack" in result.stdout
        assert "On-failure destination prachar-dev-upload-failures on 4 S3-triggered function(s) (4 changed)" \
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
        mappings = {m["EventSourceArn"].rsplit(":", 1)[1]: m
                    for m in client("lambda").list_event_source_mappings()["EventSourceMappings"]}
        assert set(mappings) == {"prachar-dev-publish", "prachar-dev-imports", "prachar-dev-broadcasts"}
        assert mappings["prachar-dev-publish"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mappings["prachar-dev-imports"]["BatchSize"] == 1, "one import continued per invocation"
        timeout = client("lambda").get_function_configuration(FunctionName="prachar-dev-on_audience_upload")["Timeout"]
        assert timeout == 900, "an audience import has Lambda's 15 minutes"
        rules = client("events").list_rules()["Rules"]
        assert any(r.get("ScheduleExpression") == "rate(1 minute)" for r in rules)
        environment = client("lambda").get_function_configuration(
            FunctionName="prachar-dev-on_publish_message")["Environment"]["Variables"]
        assert environment["PRACHAR_PUBLISH_QUEUE"] == "prachar-dev-publish"
        policy = json.loads(client("s3").get_bucket_policy(Bucket="prachar-dev-content")["Policy"])
        statements = {statement["Sid"]: statement for statement in policy["Statement"]}
        assert {"SahadaItCellWritesItsOwnPrefix", "SahadaItCellWritesNowhereElse"} <= set(statements)
        assert "2 team(s) can write only under their own prefix" in result.stdout
        deployer = client("sts").get_caller_identity()["UserId"]
        guard = statements["OnlyConfigWritersChangeConfig"]
        assert guard["Effect"] == "Deny" and guard["Resource"] == ["arn:aws:s3:::prachar-dev-content/config/*"]
        assert sorted(guard["Condition"]["StringNotLike"]["aws:userid"]) == sorted([deployer, "AIDASTATE01"])

        cognito = client("cognito-idp")

        def dev_pools():  # moto's backends are per process: tests run before this one may have left pools of theirs
            pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
            return [p for p in pools if p["Name"] == "prachar-dev-members"]

        [pool] = dev_pools()
        pool_arn = cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Arn"]
        [app_client] = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
        assert app_client["ClientName"] == "prachar-dashboard"

        def users():
            return {u["Username"]: {"Enabled": u["Enabled"], **{a["Name"]: a["Value"] for a in u["Attributes"]}}
                    for u in cognito.list_users(UserPoolId=pool["Id"])["Users"]}

        invited = users()
        assert sorted(invited) == sorted(members)
        for member_id, member in members.items():
            if member.get("email"):
                assert invited[member_id]["email"] == member["email"]
            else:
                assert invited[member_id]["phone_number"] == member["phone"]
        assert "members: 4 invited, 0 re-enabled, 0 disabled" in result.stdout
        assert "not invited" not in result.stdout

        pool_environment = {"PRACHAR_USER_POOL_ARN": pool_arn, "PRACHAR_USER_POOL_CLIENT_ID": app_client["ClientId"]}
        recorded = json.loads((tmp_path / ".chalice" / "config.json").read_text())["stages"]["dev"]
        assert pool_environment.items() <= recorded["environment_variables"].items()
        api_environment = client("lambda").get_function_configuration(FunctionName="prachar-dev")["Environment"]
        assert pool_environment.items() <= api_environment["Variables"].items()

        [rest_api] = [a for a in client("apigateway").get_rest_apis()["items"] if a["name"] == "prachar"]
        authorizers = client("apigateway").get_authorizers(restApiId=rest_api["id"])["items"]
        # moto 5.2.5 keeps the paths and integrations of an imported API but not its securityDefinitions; if a later
        # moto does, check them there too
        for authorizer in authorizers:
            assert (authorizer["type"], authorizer["providerARNs"]) == ("COGNITO_USER_POOLS", [pool_arn])
        generated = subprocess.run([sys.executable, "-c", SWAGGER], cwd=tmp_path, capture_output=True, text=True,
                                   env=clean_environment(**recorded["environment_variables"]))
        assert generated.returncode == 0, generated.stderr[-3000:]
        swagger = json.loads(generated.stdout)
        definition = swagger["securityDefinitions"][AUTHORIZER]
        assert definition["x-amazon-apigateway-authorizer"] == {"type": "cognito_user_pools",
                                                                "providerARNs": [pool_arn]}
        api_methods = [(path, method) for path, methods in swagger["paths"].items() if path.startswith("/api")
                       for method in methods if method != "options"]
        assert len(api_methods) >= 11
        for path, method in api_methods:
            assert swagger["paths"][path][method]["security"] == [{AUTHORIZER: []}], (path, method)

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
        role_policy = json.loads((tmp_path / ".chalice" / "policy-dev-on_content_upload.json").read_text())
        sending = [s for s in role_policy["Statement"] if s["Action"] == ["sqs:SendMessage"]]
        assert [s["Resource"] for s in sending] == [failure_queue_arn], "the role may write its failure records"
        listing = [s for s in role_policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
        assert [s["Resource"] for s in listing] == ["arn:aws:s3:::prachar-dev-content"]
        # The alarms, each to the stage's topic.
        alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}
        assert set(alarms) == {f"prachar-dev-{name}" for name in (
            "publish-dlq", "imports-dlq", "broadcasts-dlq", "upload-failures", "facebook-failure-rate",
            "x-failure-rate", "whatsapp-failure-rate", "account-unhealthy", "publishing-lag", "broadcast-halted",
            "post-needs-decision", "alert-not-sent")}
        assert {tuple(a["AlarmActions"]) for a in alarms.values()} == {
            ("arn:aws:sns:ap-south-1:123456789012:prachar-dev-alarms",)}
        lag = alarms["prachar-dev-publishing-lag"]
        assert (lag["Namespace"], lag["MetricName"], lag["TreatMissingData"]) == ("Prachar", "PublishingLag",
                                                                                 "breaching")
        # A role per function, each with its own policy as written.
        iam = client("iam")
        roles = {role["RoleName"] for role in iam.list_roles()["Roles"]}
        assert {f"prachar-dev-{function}" for function in FUNCTIONS} <= roles
        [name] = iam.list_role_policies(RoleName="prachar-dev-publishing_clock")["PolicyNames"]
        deployed = iam.get_role_policy(RoleName="prachar-dev-publishing_clock", PolicyName=name)["PolicyDocument"]
        deployed = json.loads(deployed) if isinstance(deployed, str) else deployed
        assert deployed == json.loads((tmp_path / ".chalice" / "policy-dev-publishing_clock.json").read_text())

        # A later deploy, with sahada-02 gone from the campaign: chalice leaves the destinations alone, and so does
        # ours; the pool and the other users stay as they were, sahada-02's user is disabled.
        sahada = next(t for t in document["teams"] if t["id"] == "sahada-it-cell")
        sahada["members"] = [m for m in sahada["members"] if m["id"] != "sahada-02"]
        campaign_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        again = deploy()
        assert "On-failure destination prachar-dev-upload-failures on 4 S3-triggered function(s) (0 changed)" \
            in again.stdout
        assert set(on_failure_destinations().values()) == {(failure_queue_arn, 2, 21600)}
        assert "members: 0 invited, 0 re-enabled, 1 disabled" in again.stdout
        assert users() == {**invited, "sahada-02": {**invited["sahada-02"], "Enabled": False}}
        assert dev_pools() == [pool]
        assert cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"] == [app_client]
        recorded_again = json.loads((tmp_path / ".chalice" / "config.json").read_text())["stages"]["dev"]
        assert recorded_again == recorded

        # make destroy STAGE=dev YES=1: nothing of the stage is left, and a deploy could start again from scratch.
        client("s3").put_object(Bucket="prachar-dev-content", Key="content/state/left.yaml", Body=b"title: x\n")
        client("ssm").put_parameter(Name="/prachar/dev/accounts/fb-state", Value="token", Type="SecureString")
        destroyed = subprocess.run([sys.executable, "-m", "infra.destroy", "--stage", "dev", "--rehearsal", "--yes"],
                                   cwd=tmp_path, env=clean_environment(**credentials), capture_output=True, text=True,
                                   timeout=600)
        assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
        assert not [f for f in client("lambda").list_functions()["Functions"]
                    if f["FunctionName"].startswith("prachar-dev")]
        assert "prachar-dev-content" not in {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
        assert "prachar-dev" not in client("dynamodb").list_tables()["TableNames"]
        assert not [q for q in client("sqs").list_queues().get("QueueUrls", []) if "prachar-dev-" in q]
        assert dev_pools() == []
        assert not client("ssm").get_parameters_by_path(Path="/prachar/dev/", Recursive=True)["Parameters"]
        assert not list((tmp_path / ".chalice").glob("policy-dev-*.json"))
        assert "lambda_functions" not in json.loads((tmp_path / ".chalice" / "config.json").read_text())["stages"][
            "dev"]
    finally:
        emulator.stop()


def test_destroy_refuses_production_and_a_silent_confirmation():
    from infra.destroy import confirmed, main

    with pytest.raises(DeployRefused, match="production"):
        main(["--stage", "prod", "--yes"])
    with pytest.raises(DeployRefused, match="YES=1"):
        confirmed("dev", yes=False)  # pytest's stdin is not a terminal: nobody could answer
    assert confirmed("dev", yes=True)
