"""Create the stage's resources from infra/resources.yaml — the cloud's template — on the emulator,
and give every account a secret the platform sandbox will accept, as ops would give it a real one."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.campaign import Account

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.yaml"
SANDBOX_CONSUMER = {"consumer_key": "sandbox-consumer-key", "consumer_secret": "sandbox-consumer-secret"}


def create_resources(cloudformation: Any, stage: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    stack = f"prachar-{stage}-resources"
    cloudformation.create_stack(
        StackName=stack, TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}]
        + [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()])
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    from chalicelib.adapters import aws
    from infra.audience import ensure_audience_hash_key

    ensure_audience_hash_key(aws.client("secretsmanager"), stage)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    if "ContentBucketName" in outputs:
        apply_bucket_settings(aws.client("s3"), outputs["ContentBucketName"])
    return outputs


def apply_bucket_settings(s3: Any, bucket: str) -> None:
    """What the emulator's CloudFormation leaves out of AWS::S3::Bucket (versioning, lifecycle rules), applied from
    the same template through the S3 API, so the local bucket is the cloud's."""
    properties = _template()["Resources"]["ContentBucket"]["Properties"]
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=properties["VersioningConfiguration"])
    rules = properties.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")},
             **({"Expiration": {"Days": rule["ExpirationInDays"]}} if "ExpirationInDays" in rule else {}),
             **({"NoncurrentVersionExpiration": {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}}
                if "NoncurrentVersionExpirationInDays" in rule else {})} for rule in rules]})


def _template() -> dict[str, Any]:
    """infra/resources.yaml as data; CloudFormation's own tags (!Sub, !If, …) read as None. A fresh copy each time:
    the text is parsed once per version of the file (the tests make the resources afresh for every test)."""
    import copy

    return copy.deepcopy(_parsed_template(TEMPLATE.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=4)
def _parsed_template(text: str) -> dict[str, Any]:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it: the same data

    class Loader(base):  # type: ignore[valid-type, misc]
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load(text, Loader=Loader)


@dataclass(frozen=True)
class SeededAccount:
    account_id: str
    platform: str
    target_id: str
    secret: str       # what the account's secret holds: a token, or X's OAuth 1.0a credentials as JSON


def seed_account_secrets(ssm: Any, secretsmanager: Any, accounts: list[Account],
                         stage: str) -> list[SeededAccount]:
    """Store a sandbox secret for every account: X accounts get OAuth 1.0a credentials, the others a token;
    in SSM, or in Secrets Manager when the account's secret is named `secretsmanager:<name>`."""
    seeded = []
    for account in accounts:
        if account.platform == "x":
            value = json.dumps({**SANDBOX_CONSUMER, "access_token": f"sandbox-{account.id}",
                                "access_token_secret": f"sandbox-secret-{account.id}"})
        else:
            value = f"sandbox-{account.id}"
        name = account.secret.replace("{stage}", stage)
        if name.startswith("secretsmanager:"):
            secret_id = name.removeprefix("secretsmanager:")
            try:
                secretsmanager.create_secret(Name=secret_id, SecretString=value)
            except secretsmanager.exceptions.ResourceExistsException:
                secretsmanager.put_secret_value(SecretId=secret_id, SecretString=value)
        else:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        seeded.append(SeededAccount(account.id, account.platform, account.target_id, value))
    return seeded


def register_in_sandbox(sandbox: Any, seeded: list[SeededAccount]) -> None:
    for account in seeded:
        if account.secret.startswith("{"):
            sandbox.register_oauth1(json.loads(account.secret), account.account_id, account.target_id)
        else:
            sandbox.register(account.secret, account.account_id, account.platform, account.target_id)
