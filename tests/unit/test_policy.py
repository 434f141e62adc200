import json
from pathlib import Path

import pytest

from infra.policy import lambda_policy, policy_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_committed_policies_are_what_the_generator_writes(stage):
    expected = policy_text(lambda_policy(stage, f"prachar-{stage}-content", f"prachar-{stage}",
                                         f"prachar-{stage}-publish"))
    assert (ROOT / ".chalice" / f"policy-{stage}.json").read_text() == expected


def test_the_policy_is_least_privilege_and_stage_bound():
    policy = lambda_policy("dev", "prachar-dev-content", "prachar-dev", "prachar-dev-publish")
    text = json.dumps(policy)
    assert "prod" not in text
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Sid"] not in ("Logs", "DecryptTokensThroughSsmOnly"):
            assert all("prachar-dev" in r or "prachar/dev/" in r for r in resources), statement["Sid"]
    kms = next(s for s in policy["Statement"] if s["Sid"] == "DecryptTokensThroughSsmOnly")
    assert all(s.split(".")[0] in ("ssm", "secretsmanager") for s in kms["Condition"]["StringLike"]["kms:ViaService"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "dynamodb:Scan" not in actions and "s3:DeleteBucket" not in actions
