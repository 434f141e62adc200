"""The Lambdas' IAM policy, least privilege, generated from the stage's resource names.

Chalice's policy autogeneration scans only app.py and misses most calls, so it is off
(`autogen_policy: false`) and `make deploy` writes `.chalice/policy-<stage>.json` from this, with the
region and account it deploys to. The committed files are written without them (`*`): a checkout knows
neither.
"""

from __future__ import annotations

import json
from typing import Any


def lambda_policy(stage: str, bucket: str, table: str, queue: str, failure_queue: str, *,
                  region: str = "*", account: str = "*") -> dict[str, Any]:
    where = f"{region}:{account}"
    # Chalice names the functions prachar-<stage> (the API) and prachar-<stage>-<handler>.
    log_groups = f"arn:aws:logs:{where}:log-group:/aws/lambda/prachar-{stage}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [log_groups, f"{log_groups}:*", f"{log_groups}-*"]},
        {"Sid": "ReadUploadsWriteErrorReports", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        # Without ListBucket, S3 answers a GET or HEAD of a missing key with 403 AccessDenied instead of
        # 404 NoSuchKey (so as not to tell the caller whether the key exists): a missing media file would
        # look like a permission failure rather than an answer to the uploader. Bucket ARNs have no region
        # or account.
        {"Sid": "TellMissingKeysApart", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Sid": "TableAndIndexes", "Effect": "Allow",
         "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                    "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
         "Resource": [f"arn:aws:dynamodb:{where}:table/{table}", f"arn:aws:dynamodb:{where}:table/{table}/index/*"]},
        {"Sid": "PublishQueue", "Effect": "Allow",
         "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
         "Resource": f"arn:aws:sqs:{where}:{queue}"},
        # An audience import that runs short of time continues from a message of its own queue.
        {"Sid": "ImportContinuations", "Effect": "Allow",
         "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
         "Resource": f"arn:aws:sqs:{where}:prachar-{stage}-imports"},
        # A broadcast's chunks: queued by the publisher, passed on and taken back by the chunks' own Lambda.
        {"Sid": "BroadcastChunks", "Effect": "Allow",
         "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
         "Resource": f"arn:aws:sqs:{where}:prachar-{stage}-broadcasts"},
        # Lambda sends the on-failure record of an S3-triggered function with the function's own role.
        {"Sid": "UploadFailureRecords", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": f"arn:aws:sqs:{where}:{failure_queue}"},
        {"Sid": "AccountTokens", "Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": f"arn:aws:ssm:{where}:parameter/prachar/{stage}/*"},
        {"Sid": "AccountSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": f"arn:aws:secretsmanager:{where}:secret:prachar/{stage}/*"},
        # The keys are AWS-managed (aws/ssm, aws/secretsmanager) and their ids are not known here; the
        # condition is what confines this to reading tokens.
        {"Sid": "DecryptTokensThroughSsmOnly", "Effect": "Allow", "Action": ["kms:Decrypt"],
         "Resource": f"arn:aws:kms:{where}:key/*",
         "Condition": {"StringLike": {"kms:ViaService": ["ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]}}},
        # Voters' contacts are sealed under data keys of the stage's audience key, named by its alias (its id is
        # made by CloudFormation): only that key, and only for data keys.
        {"Sid": "SealVotersContacts", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": f"arn:aws:kms:{where}:key/*",
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/prachar-{stage}-audience"}}},
    ]}


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
