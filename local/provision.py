"""Create the stage's resources from infra/resources.yaml — the cloud's template — on the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.yaml"


def create_resources(cloudformation: Any, stage: str, parameters: dict[str, str] | None = None) -> dict[str, str]:
    stack = f"prachar-{stage}-resources"
    cloudformation.create_stack(
        StackName=stack, TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}]
        + [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()])
    cloudformation.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def seed_account_tokens(ssm: Any, accounts: list[dict[str, Any]], stage: str) -> dict[str, str]:
    """Store a sandbox token for every account, as ops would store the real ones. Returns token → account."""
    tokens = {}
    for account in accounts:
        token = f"sandbox-{account['id']}"
        ssm.put_parameter(Name=account["secret"].replace("{stage}", stage), Value=token, Type="SecureString",
                          Overwrite=True)
        tokens[token] = account["id"]
    return tokens
