"""`make deploy STAGE=dev|prod`: resources, then `chalice deploy`, then what Chalice cannot set.

1. Create or update the stage's CloudFormation stack from infra/resources.yaml.
2. Make the stage's Cognito user pool and its app client, if missing (infra/identity.py).
3. Record the resource names and the pool in .chalice/config.json, and write each function's own policy
   (with --tracing, X-Ray on for the stage and each policy's grant to send trace segments).
4. `chalice deploy --stage <stage>` (the decorators read the same names, and the authorizer the pool, from the
   environment).
5. Turn on ReportBatchItemFailures for the publish queue's event-source mapping (aws/chalice#2029).
6. Give each S3-triggered function its on-failure destination, the upload-failures queue (aws/chalice#1309).
7. Write the bucket policy: only the config writers change config/; with a campaign, each team its own prefix.
8. With a campaign, give each member a user in the pool (an invitation) and disable the users of those who left.

It refuses to run while AWS_ENDPOINT_URL is set, unless --rehearsal is given and the endpoint is on
loopback: a deploy must never land somewhere unintended.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import yaml
from botocore.exceptions import ClientError

from chalicelib.domain.campaign import Campaign
from infra.audience import ensure_audience_hash_key, hash_key_name
from infra.bucket_policy import bucket_policy, config_writers, restricted_teams
from infra.identity import MemberSync, ensure_user_pool, sync_members, user_pool_environment
from infra.policy import StageResources, function_policies, policy_file, policy_text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "resources.yaml"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
PUBLISH_HANDLER = "on_publish_message"
# Lambda's asynchronous invocation: the first try and two retries, then the on-failure destination. Six hours
# (the most Lambda allows) for an event that waits, e.g. while the function is throttled.
S3_RETRY_ATTEMPTS = 2
S3_MAX_EVENT_AGE_SECONDS = 21600


class DeployRefused(SystemExit):
    pass


def check_target(environ: dict[str, str], rehearsal: bool) -> None:
    endpoint = environ.get("AWS_ENDPOINT_URL")
    if endpoint and not rehearsal:
        raise DeployRefused(f"AWS_ENDPOINT_URL is set ({endpoint}): refusing to deploy. Unset it to deploy to AWS, "
                            "or pass --rehearsal to deploy to a local emulator.")
    if rehearsal and (not endpoint or urlparse(endpoint).hostname not in ("127.0.0.1", "localhost", "::1")):
        raise DeployRefused("--rehearsal deploys only to an emulator on loopback: set AWS_ENDPOINT_URL to it")


def deploy_resources(cloudformation: Any, stage: str, parameters: dict[str, str]) -> dict[str, str]:
    stack = f"prachar-{stage}-resources"
    request = {"StackName": stack, "TemplateBody": TEMPLATE.read_text(),
               "Parameters": [{"ParameterKey": "Stage", "ParameterValue": stage}]
               + [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]}
    try:
        cloudformation.describe_stacks(StackName=stack)
        exists = True
    except ClientError:
        exists = False
    if exists:
        try:
            cloudformation.update_stack(**request)
            cloudformation.get_waiter("stack_update_complete").wait(StackName=stack)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    else:
        cloudformation.create_stack(**request)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=stack)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def stage_environment(stage: str, outputs: dict[str, str]) -> dict[str, str]:
    return {"PRACHAR_STAGE": stage, "PRACHAR_CONTENT_BUCKET": outputs["ContentBucketName"],
            "PRACHAR_PUBLISH_QUEUE": outputs["PublishQueueName"], "PRACHAR_TABLE": outputs["TableName"],
            "PRACHAR_IMPORT_QUEUE": outputs["ImportQueueName"],
            "PRACHAR_BROADCAST_QUEUE": outputs["BroadcastQueueName"]}


def record_stage(config_path: Path, stage: str, environment: dict[str, str], failure_queue: str, *,
                 region: str = "*", account: str = "*", tracing: bool = False) -> int:
    """The stage's names in .chalice/config.json, and each function's own policy beside it; the number written.
    `tracing` turns X-Ray on for the stage (Chalice's `xray`: the functions and the API) or off again."""
    config = json.loads(config_path.read_text())
    stage_config = config.setdefault("stages", {}).setdefault(stage, {"api_gateway_stage": "api"})
    stage_config.pop("iam_policy_file", None)  # one policy for every function: before each had its own
    stage_config["xray"] = tracing
    stage_config.setdefault("environment_variables", {}).update(environment, PRACHAR_TRACING=str(tracing).lower())
    resources = StageResources(stage, environment["PRACHAR_CONTENT_BUCKET"], environment["PRACHAR_TABLE"],
                               environment["PRACHAR_PUBLISH_QUEUE"], failure_queue, region, account, tracing)
    functions = stage_config.setdefault("lambda_functions", {})
    policies = function_policies(resources)
    for function, policy in policies.items():
        functions.setdefault(function, {})["iam_policy_file"] = policy_file(stage, function)
        (config_path.parent / policy_file(stage, function)).write_text(policy_text(policy))
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return len(policies)


def enable_partial_batch_failures(lambda_client: Any, queue_arn: str) -> int:
    """Chalice never sets ReportBatchItemFailures; set it on the publish queue's mapping (survives redeploys)."""
    updated = 0
    for mapping in lambda_client.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]:
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"],
                                                      FunctionResponseTypes=["ReportBatchItemFailures"])
        updated += 1
    return updated


def s3_triggered_functions(deployed_file: Path) -> list[str]:
    """The ARNs of the functions S3 invokes, as `chalice deploy` recorded them."""
    resources = json.loads(deployed_file.read_text())["resources"]
    return sorted({r["lambda_arn"] for r in resources if r.get("resource_type") == "s3_event"})


def route_upload_failures(lambda_client: Any, function_arns: list[str], queue_arn: str, *,
                          sleep: Callable[[float], None] = time.sleep) -> int:
    """Make the upload-failures queue each S3-triggered function's on-failure destination; returns how many
    functions changed. Lambda keeps this configuration apart from the function's code and configuration, so a
    later `chalice deploy` leaves it alone; after a `chalice delete` the next deploy sets it again."""
    wanted = {"MaximumRetryAttempts": S3_RETRY_ATTEMPTS, "MaximumEventAgeInSeconds": S3_MAX_EVENT_AGE_SECONDS,
              "DestinationConfig": {"OnFailure": {"Destination": queue_arn}}}
    changed = 0
    for function_arn in function_arns:
        try:
            current = lambda_client.get_function_event_invoke_config(FunctionName=function_arn)
        except lambda_client.exceptions.ResourceNotFoundException:
            current = {}
        if _settings_of(current) == _settings_of(wanted):
            continue
        # Lambda checks that the function's role may send to the destination; the role policy `chalice deploy`
        # just wrote can take a few seconds to be seen.
        for wait in (2, 4, 8, 16, 0):
            try:
                lambda_client.put_function_event_invoke_config(FunctionName=function_arn, **wanted)
                break
            except lambda_client.exceptions.InvalidParameterValueException:
                if not wait:
                    raise
                sleep(wait)
        changed += 1
    return changed


def _settings_of(config: dict[str, Any]) -> tuple[Any, Any, Any]:
    on_failure = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return config.get("MaximumRetryAttempts"), config.get("MaximumEventAgeInSeconds"), on_failure


def load_campaign(dynamodb: Any, table: str, campaign_file: Path | None) -> Campaign | None:
    """The campaign config from the file given, else the one the system made active (never the bucket's latest
    upload, which may be one ingest refused); None before any config was accepted."""
    if campaign_file is not None:
        return Campaign.model_validate(yaml.safe_load(campaign_file.read_text(encoding="utf-8")))
    from chalicelib.adapters.store import Store

    record = Store(dynamodb, table).active_campaign()
    return Campaign.model_validate(record.document) if record else None


def stack_outputs(cloudformation: Any, stage: str) -> dict[str, str]:
    """The outputs of the stage's resources stack; empty when there is no stack."""
    try:
        [stack] = cloudformation.describe_stacks(StackName=f"prachar-{stage}-resources")["Stacks"]
    except ClientError:
        return {}
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def alarm_topic(cloudformation: Any, dynamodb: Any, stage: str, campaign_file: Path | None) -> str | None:
    """The campaign config's operations.alarm_topic: from the file given, else from the active campaign of a stage
    deployed before (none yet on a first deploy without a file)."""
    table = stack_outputs(cloudformation, stage).get("TableName")
    if campaign_file is None and table is None:
        return None
    try:
        campaign = load_campaign(dynamodb, table or "", campaign_file)
    except ClientError:
        return None
    topic = campaign.operations.alarm_topic if campaign else None
    region = boto3.session.Session().region_name
    if topic and region and topic.split(":")[3] != region:
        # CloudWatch refuses an alarm action in another region, and the stack update would roll back half-way.
        raise DeployRefused(f"operations.alarm_topic {topic} is in {topic.split(':')[3]}, the stage in {region}: "
                            "CloudWatch alarms notify only a topic of their own region — name one there (it may "
                            "forward to the central one)")
    return topic


def deployer_user_id(sts: Any) -> str:
    """The deploying identity as aws:userid sees it. A role session's id (`AROA…:<session>`) changes with each
    sign-in: the writer is the role, any session of it, or ops would lock themselves out of config/ next time."""
    user_id = sts.get_caller_identity()["UserId"]
    if user_id.startswith("AROA") and ":" in user_id:
        return user_id.split(":", 1)[0] + ":*"
    return user_id


def apply_bucket_policy(s3: Any, bucket: str, campaign: Campaign | None, deployers: list[str]) -> str:
    """Only the config writers change config/; with a campaign, each team writes under its own prefix only."""
    policy = bucket_policy(bucket, campaign, deployers)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    writers = ", ".join(config_writers(deployers, campaign))
    summary = f"bucket policy: only {writers} may change config/"
    if campaign is None:
        return f"{summary}; no campaign config yet: teams are kept to their prefixes from the next deploy after it"
    teams = restricted_teams(policy)
    if not teams:
        return summary + "; no member has a principal: uploads are not restricted by team"
    return summary + f"; {teams} team(s) can write only under their own prefix"


def sync_campaign_members(cognito: Any, pool_id: str, campaign: Campaign | None, store: Any = None) -> str:
    """Users for the members; with `store`, which user holds each id is recorded (an old holder's token is then
    refused by the API at once, not when it expires)."""
    if campaign is None:
        return "no campaign config yet: members get their sign-in invitations on the next deploy after it is uploaded"
    sync = sync_members(cognito, pool_id, campaign)
    if store is not None:
        from datetime import UTC, datetime

        store.bind_members(sync.subs, datetime.now(UTC))
    return members_report(sync)


def members_report(sync: MemberSync) -> str:
    lines = [f"members: {len(sync.invited)} invited, {len(sync.enabled)} re-enabled, {len(sync.disabled)} disabled "
             f"(no longer in the campaign), {len(sync.updated)} with a new email or phone, {len(sync.reinvited)} "
             f"invited again (the first invitation expired unused), {len(sync.replaced)} given to a new person (the "
             "previous holder's user removed)"]
    if sync.unreachable:
        lines.append(f"not invited, no email and no phone: {', '.join(sync.unreachable)} — add `email:` or `phone:` "
                     "to each in config/campaign.yaml, upload it, and deploy again")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--bucket-name", default="", help="content bucket name (default prachar-<stage>-content)")
    parser.add_argument("--rehearsal", action="store_true", help="deploy to the local emulator at AWS_ENDPOINT_URL")
    parser.add_argument("--campaign", type=Path, help="campaign config for the team write policy and the members' "
                                                      "users (default: the bucket's config/campaign.yaml)")
    parser.add_argument("--config-writer", action="append", default=[], metavar="USERID",
                        help="an aws:userid (AIDA…, or AROA…:* for any session of a role) that may change config/, "
                             "besides the campaign's coordinators; repeatable (default: the deploying identity)")
    parser.add_argument("--tracing", action="store_true",
                        help="turn X-Ray tracing on for this deploy (the functions and the API); without it, off")
    arguments = parser.parse_args(argv)
    check_target(dict(os.environ), arguments.rehearsal)
    parameters = {"ContentBucketName": arguments.bucket_name} if arguments.bucket_name else {}
    topic = alarm_topic(boto3.client("cloudformation"), boto3.client("dynamodb"), arguments.stage, arguments.campaign)
    parameters["AlarmTopicArn"] = topic or "none"
    outputs = deploy_resources(boto3.client("cloudformation"), arguments.stage, parameters)
    print(f"alarms → {outputs.get('AlarmTopicArn')}" + ("" if topic else " (made by the stack; the campaign config's "
          "operations.alarm_topic names your own): subscribe with aws sns subscribe --topic-arn "
          f"{outputs.get('AlarmTopicArn')} --protocol email --notification-endpoint <ops address>"))
    if ensure_audience_hash_key(boto3.client("secretsmanager"), arguments.stage):
        print(f"made the digest key of voters' numbers: {hash_key_name(arguments.stage)} (never change it)")
    cognito = boto3.client("cognito-idp")
    pool = ensure_user_pool(cognito, arguments.stage, outputs.get("MemberInvitationSmsRoleArn"))
    sts = boto3.client("sts")
    deployers = arguments.config_writer or [deployer_user_id(sts)]
    # The app's config guard lets in the same writers as the bucket policy's, read the same way.
    environment = {**stage_environment(arguments.stage, outputs), **user_pool_environment(pool),
                   "PRACHAR_CONFIG_WRITERS": ",".join(deployers)}
    region = boto3.session.Session().region_name
    account = sts.get_caller_identity()["Account"]
    written = record_stage(CHALICE_CONFIG, arguments.stage, environment, outputs["UploadFailureQueueName"],
                           region=region, account=account, tracing=arguments.tracing)
    print(f"{written} functions, each with its own least-privilege policy in .chalice/policy-{arguments.stage}-*.json")
    print("X-Ray tracing: on" if arguments.tracing else "X-Ray tracing: off (make deploy TRACING=1 turns it on)")
    print(f"resources ready: {json.dumps(outputs, indent=2)}")
    print(f"user pool {pool.id}, app client {pool.client_id}")
    chalice = str(Path(sys.executable).with_name("chalice"))
    subprocess.run([chalice, "deploy", "--stage", arguments.stage], cwd=ROOT, check=True,
                   env={**os.environ, **environment})
    mappings = enable_partial_batch_failures(boto3.client("lambda"), outputs["PublishQueueArn"])
    s3_functions = s3_triggered_functions(ROOT / ".chalice" / "deployed" / f"{arguments.stage}.json")
    routed = route_upload_failures(boto3.client("lambda"), s3_functions, outputs["UploadFailureQueueArn"])
    s3, bucket = boto3.client("s3"), outputs["ContentBucketName"]
    campaign = load_campaign(boto3.client("dynamodb"), outputs["TableName"], arguments.campaign)
    print(apply_bucket_policy(s3, bucket, campaign, deployers))
    print(f"ReportBatchItemFailures on {mappings} event-source mapping(s) of {PUBLISH_HANDLER}.")
    print(f"On-failure destination {outputs['UploadFailureQueueName']} on {len(s3_functions)} S3-triggered "
          f"function(s) ({routed} changed): an upload whose Lambda fails three times lands there.")
    from chalicelib.adapters.store import Store

    print(sync_campaign_members(cognito, pool.id, campaign, Store(boto3.client("dynamodb"), outputs["TableName"])))
    print(f"Next: store each account's token in SSM under /prachar/{arguments.stage}/accounts/<id>, "
          f"then upload config/campaign.yaml to s3://{bucket}/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
