"""`make destroy STAGE=dev`: remove a stage that is not production, all of it.

1. `chalice delete --stage <stage>`: the Lambdas, their roles, the REST API, the schedules and event sources.
2. The CloudFormation stack of infra/resources.yaml: the queues and the SMS role. The bucket, the table and the
   audience key are kept by a stack deletion (DeletionPolicy Retain, so that a production mistake loses nothing), so
   then: every version of every object and the bucket, the table, and the key (scheduled for deletion after 7 days,
   the shortest KMS allows; its alias goes with the stack).
3. What `make deploy` makes outside the stack: the members' user pool, the digest key of voters' numbers (deleted at
   once: a dev stage's digests are worth nothing without its contacts), the stage's SSM parameters (the accounts'
   tokens, the webhook's secrets), the functions' log groups, and the policy files in .chalice/.

It refuses prod, whatever is asked, and an unintended endpoint as `make deploy` does. It asks to type the stage's name,
or takes --yes where nobody can answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.audience import hash_key_name
from infra.deploy import CHALICE_CONFIG, ROOT, DeployRefused, check_target, stack_outputs
from infra.identity import _pools, pool_name
from infra.policy import FUNCTIONS, function_name

PROTECTED = ("prod",)
KEY_DELETION_DAYS = 7


def refuse_protected(stage: str) -> None:
    if stage in PROTECTED:
        raise DeployRefused(f"refusing to destroy {stage}: a production stage is never destroyed by make. Remove "
                            "it by hand, after exporting what the law and the campaign need to keep.")


def empty_and_delete_bucket(s3: Any, bucket: str) -> int:
    """Every version and delete marker (the bucket is versioned), then the bucket; the objects removed."""
    removed = 0
    try:
        # The stage's own policy keeps config/ to its writers (and could name others): it goes first.
        s3.delete_bucket_policy(Bucket=bucket)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000],
                                                                  "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise RuntimeError(f"{len(answer['Errors'])} object version(s) of {bucket} could not be deleted "
                                       f"(e.g. {first['Key']}: {first['Code']}); run make destroy again once fixed")
            removed += len(doomed)
        s3.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return removed


def _key_of_alias(alias: str) -> str | None:
    try:
        return boto3.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    except ClientError:
        return None


def delete_account_secrets(secretsmanager: Any, stage: str) -> int:
    prefix = f"prachar/{stage}/accounts/"
    names = [s["Name"] for page in secretsmanager.get_paginator("list_secrets").paginate(
        Filters=[{"Key": "name", "Values": [prefix]}]) for s in page["SecretList"] if s["Name"].startswith(prefix)]
    for name in names:
        secretsmanager.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    return len(names)


def delete_stage_parameters(ssm: Any, stage: str) -> int:
    names = [p["Name"] for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=f"/prachar/{stage}/", Recursive=True) for p in page["Parameters"]]
    for start in range(0, len(names), 10):
        ssm.delete_parameters(Names=names[start:start + 10])
    return len(names)


def delete_log_groups(logs: Any, stage: str) -> int:
    names = {function_name(stage, f) for f in FUNCTIONS}
    found = [g["logGroupName"] for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=f"/aws/lambda/prachar-{stage}") for g in page["logGroups"]]
    doomed = [name for name in found if name.removeprefix("/aws/lambda/") in names]
    for name in doomed:
        logs.delete_log_group(logGroupName=name)
    return len(doomed)


def _quietly(action: Callable[[], Any], *missing: str) -> bool:
    try:
        action()
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in missing:
            return False
        raise


def destroy(stage: str, chalice: Callable[[], None], report: Callable[[str], None] = print) -> None:
    refuse_protected(stage)
    chalice()
    report(f"chalice delete --stage {stage}: the functions, their roles, the API, the schedules")
    cloudformation = boto3.client("cloudformation")
    outputs = stack_outputs(cloudformation, stage)
    # What the stack retains is found by its outputs, or — on a run again after the stack went — by the stage's
    # own names (a bucket named otherwise is then named by hand: make destroy says so below).
    bucket = outputs.get("ContentBucketName") or f"prachar-{stage}-content"
    table = outputs.get("TableName") or f"prachar-{stage}"
    key = outputs.get("AudienceKeyArn") or _key_of_alias(f"alias/prachar-{stage}-audience")
    if outputs:
        cloudformation.delete_stack(StackName=f"prachar-{stage}-resources")
        cloudformation.get_waiter("stack_delete_complete").wait(StackName=f"prachar-{stage}-resources")
        report(f"stack prachar-{stage}-resources deleted: the queues and the alarms")
    else:
        report(f"no stack prachar-{stage}-resources (deleted before); looking for {bucket} and {table} by name")
    report(f"bucket {bucket}: {empty_and_delete_bucket(boto3.client('s3'), bucket):,} object version(s) "
           "and the bucket deleted")
    if _quietly(lambda: boto3.client("dynamodb").delete_table(TableName=table), "ResourceNotFoundException"):
        report(f"table {table} deleted")
    if key and _quietly(lambda: boto3.client("kms").schedule_key_deletion(KeyId=key.rsplit("/", 1)[-1],
                                                                          PendingWindowInDays=KEY_DELETION_DAYS),
                        "NotFoundException", "KMSInvalidStateException"):
        report(f"audience key scheduled for deletion in {KEY_DELETION_DAYS} days")
    cognito = boto3.client("cognito-idp")
    pools = [p["Id"] for p in _pools(cognito) if p["Name"] == pool_name(stage)]
    for pool in pools:
        cognito.delete_user_pool(UserPoolId=pool)
    report(f"members' user pool: {len(pools)} deleted")
    tokens = delete_account_secrets(boto3.client("secretsmanager"), stage)
    report(f"account tokens in Secrets Manager under prachar/{stage}/accounts/: {tokens} deleted")
    gone = _quietly(lambda: boto3.client("secretsmanager").delete_secret(SecretId=hash_key_name(stage),
                                                                          ForceDeleteWithoutRecovery=True),
                    "ResourceNotFoundException")
    report(f"digest key {hash_key_name(stage)}: {'deleted' if gone else 'not there'}")
    report(f"SSM parameters under /prachar/{stage}/: {delete_stage_parameters(boto3.client('ssm'), stage)} deleted")
    report(f"log groups: {delete_log_groups(boto3.client('logs'), stage)} deleted")
    policies = list(CHALICE_CONFIG.parent.glob(f"policy-{stage}-*.json"))
    for path in policies:
        path.unlink()
    _forget_stage(CHALICE_CONFIG, stage)
    report(f"{len(policies)} policy file(s) removed from .chalice/")


def _forget_stage(config_path: Path, stage: str) -> None:
    """The stage's recorded names leave .chalice/config.json, so a later deploy starts clean."""
    config = json.loads(config_path.read_text())
    stage_config = config.get("stages", {}).get(stage)
    if stage_config is None:
        return
    stage_config.pop("lambda_functions", None)
    for name in list(stage_config.get("environment_variables", {})):
        if name not in ("PRACHAR_STAGE",):
            stage_config["environment_variables"].pop(name)
    stage_config["environment_variables"].update(_committed_names(stage))
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def _committed_names(stage: str) -> dict[str, str]:
    return {"PRACHAR_CONTENT_BUCKET": f"prachar-{stage}-content", "PRACHAR_PUBLISH_QUEUE": f"prachar-{stage}-publish",
            "PRACHAR_TABLE": f"prachar-{stage}"}


def confirmed(stage: str, yes: bool, ask: Callable[[str], str] = input) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise DeployRefused("make destroy asks to type the stage's name; with nobody to answer, pass YES=1 "
                            "(make destroy STAGE=dev YES=1)")
    return ask(f"This deletes stage {stage}: its functions, bucket, table, users and secrets. Type {stage} to go "
               "on: ").strip() == stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make destroy", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--rehearsal", action="store_true", help="destroy on the local emulator at AWS_ENDPOINT_URL")
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    arguments = parser.parse_args(argv)
    refuse_protected(arguments.stage)
    check_target(dict(os.environ), arguments.rehearsal)
    if not confirmed(arguments.stage, arguments.yes):
        print("nothing deleted")
        return 1

    def chalice_delete() -> None:
        if (ROOT / ".chalice" / "deployed" / f"{arguments.stage}.json").exists():
            subprocess.run([str(Path(sys.executable).with_name("chalice")), "delete", "--stage", arguments.stage],
                           cwd=ROOT, check=True)
            return
        running = [f["FunctionName"] for page in boto3.client("lambda").get_paginator("list_functions").paginate()
                   for f in page["Functions"] if f["FunctionName"] == f"prachar-{arguments.stage}"
                   or f["FunctionName"].startswith(f"prachar-{arguments.stage}-")]
        if running:
            # Chalice finds what it deployed by that file; without it, the functions and their schedules would be
            # left running against deleted resources.
            raise DeployRefused(f"{len(running)} function(s) of {arguments.stage} run, but .chalice/deployed/"
                                f"{arguments.stage}.json is not here: run make destroy where the stage was deployed, "
                                "or copy that file from there first. Nothing was deleted.")

    destroy(arguments.stage, chalice_delete)
    print(f"stage {arguments.stage} destroyed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
