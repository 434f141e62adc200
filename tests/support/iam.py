"""What IAM asks of a recorded AWS call, and whether a policy allows it.

`requests_for` turns one call (local/aws_calls.AwsCall) into the (action, resource, context) requests IAM evaluates
for it — including where the action is not the operation's name (HeadObject is s3:GetObject, SendMessageBatch is
sqs:SendMessage) and where one call is several requests (BatchWriteItem per table). `decide` evaluates an identity
policy as IAM does for Allow/Deny statements: an explicit Deny wins, else an Allow must match action, resource and
every condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlparse

from local.aws_calls import AwsCall

# IAM authorizes these operations under another action's name.
AUTHORIZED_AS = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket",
                 "s3:ListObjectVersions": "s3:ListBucketVersions",
                 "sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
                 "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: tuple[tuple[str, Any], ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}" + (f" with {dict(self.context)}" if self.context else "")


def requests_for(call: AwsCall, region: str, account: str) -> list[Request]:
    where = f"{region}:{account}"
    service, operation = call.service, call.operation
    action = AUTHORIZED_AS.get(f"{service}:{operation}", f"{service}:{operation}")
    if service == "s3":
        key = call.param("Key")
        if call.param("VersionId") and action in ("s3:GetObject", "s3:DeleteObject"):
            action += "Version"
        return [Request(action, f"arn:aws:s3:::{call.param('Bucket')}" + (f"/{key}" if key is not None else ""))]
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{where}:table/"
        if call.param("TransactItems"):
            return [Request(f"dynamodb:{TRANSACT_ACTIONS[kind]}", table + name)
                    for kind, name in call.param("TransactItems")]
        if call.param("TableNames"):
            return [Request(action, table + name) for name in call.param("TableNames")]
        index = call.param("IndexName")
        return [Request(action, table + call.param("TableName") + (f"/index/{index}" if index else ""))]
    if service == "sqs":
        name = call.param("QueueName") or urlparse(call.param("QueueUrl")).path.rsplit("/", 1)[-1]
        return [Request(action, f"arn:aws:sqs:{where}:{name}")]
    if service == "ssm":
        names = call.param("Names") or [call.param("Name") or call.param("Path")]
        return [Request(action, f"arn:aws:ssm:{where}:parameter/{name.lstrip('/')}") for name in names]
    if service == "secretsmanager":
        secret = call.param("SecretId")
        # A secret's ARN ends in six random characters after its name.
        return [Request(action, secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{where}:secret:"
                                                                        f"{secret}-AbCdEf")]
    if service == "kms":
        key = call.param("KeyId") or ""
        if key.startswith("alias/"):  # the key behind the alias is made by CloudFormation; IAM sees its ARN
            return [Request(action, f"arn:aws:kms:{where}:key/0000-key-of-{key.removeprefix('alias/')}",
                            (("kms:ResourceAliases", (key,)),))]
        return [Request(action, key if key.startswith("arn:") else f"arn:aws:kms:{where}:key/{key}")]
    return [Request(action, call.param("TopicArn") or "*")]


def decide(policy: dict[str, Any], request: Request) -> str:
    """"allowed", "denied" (an explicit Deny) or "not allowed" (no statement allows it)."""
    verdict = "not allowed"
    for statement in _statements(policy):
        if not _applies(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return "denied"
        verdict = "allowed"
    return verdict


def matching(policy: dict[str, Any], request: Request, effect: str) -> list[str]:
    """The Sids of the `effect` ("Allow" or "Deny") statements that apply to the request."""
    return sorted(s.get("Sid", "") for s in _statements(policy) if s["Effect"] == effect and _applies(s, request))


def allowing(policy: dict[str, Any], request: Request) -> list[tuple[str, str, str]]:
    """The (Sid, action pattern, resource pattern) of each Allow statement part that lets the request through."""
    found = []
    for statement in _statements(policy):
        if statement["Effect"] != "Allow" or not _applies(statement, request):
            continue
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                if _matches(action, request.action, case=False) and _matches(resource, request.resource):
                    found.append((statement.get("Sid", ""), action, resource))
    return found


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(policy["Statement"])


def _applies(statement: dict[str, Any], request: Request) -> bool:
    if "Action" in statement:
        acts = any(_matches(p, request.action, case=False) for p in _as_list(statement["Action"]))
    else:
        acts = not any(_matches(p, request.action, case=False) for p in _as_list(statement["NotAction"]))
    if "Resource" in statement:
        on = any(_matches(p, request.resource) for p in _as_list(statement["Resource"]))
    else:
        on = not any(_matches(p, request.resource) for p in _as_list(statement["NotResource"]))
    return acts and on and _conditions_hold(statement.get("Condition", {}), dict(request.context))


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, Any]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if not _condition(operator, _as_list(expected), context.get(key)):
                return False
    return True


def _condition(operator: str, expected: list[Any], actual: Any) -> bool:
    qualifier, _, test = operator.rpartition(":")
    if_exists = test.endswith("IfExists")
    test = test.removesuffix("IfExists")
    if actual is None:
        return if_exists or test.startswith("StringNot") or qualifier == "ForAllValues"
    values = list(actual) if isinstance(actual, (list, tuple)) else [actual]
    compare = {"StringEquals": lambda v, e: str(v) == str(e),
               "StringLike": lambda v, e: _matches(str(e), str(v)),
               "StringNotEquals": lambda v, e: str(v) != str(e),
               "StringNotLike": lambda v, e: not _matches(str(e), str(v)),
               "Bool": lambda v, e: str(v).lower() == str(e).lower()}[test]
    negated = test.startswith("StringNot")
    one = (lambda v: all(compare(v, e) for e in expected)) if negated else (lambda v: any(compare(v, e)
                                                                                         for e in expected))
    return all(one(v) for v in values) if qualifier == "ForAllValues" else any(one(v) for v in values)


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    return _compiled(pattern, case).fullmatch(value) is not None


@cache
def _compiled(pattern: str, case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case else re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
