"""The Lambdas' IAM policy, least privilege, generated from the stage's resource names.

Chalice's policy autogeneration scans only app.py and misses most calls, so it is off
(`autogen_policy: false`) and `make deploy` writes `.chalice/policy-<stage>.json` from this.
"""

from __future__ import annotations

import json
from typing import Any


def lambda_policy(stage: str, bucket: str, table: str, queue: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:*"},
        {"Sid": "ReadUploadsWriteErrorReports", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "TableAndIndexes", "Effect": "Allow",
         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
         "Resource": [f"arn:aws:dynamodb:*:*:table/{table}", f"arn:aws:dynamodb:*:*:table/{table}/index/*"]},
        {"Sid": "PublishQueue", "Effect": "Allow",
         "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
         "Resource": f"arn:aws:sqs:*:*:{queue}"},
        {"Sid": "AccountTokens", "Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": f"arn:aws:ssm:*:*:parameter/prachar/{stage}/*"},
        {"Sid": "AccountSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": f"arn:aws:secretsmanager:*:*:secret:prachar/{stage}/*"},
        {"Sid": "DecryptTokensThroughSsmOnly", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*",
         "Condition": {"StringLike": {"kms:ViaService": ["ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]}}},
    ]}


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
