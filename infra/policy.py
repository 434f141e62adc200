"""Each Lambda function's own IAM policy, least privilege, generated from the stage's resource names.

Chalice's policy autogeneration scans only app.py and misses most calls, so it is off (`autogen_policy: false`).
With it off, Chalice makes a role per function, and `make deploy` gives each the policy written here
(`.chalice/policy-<stage>-<function>.json`, named in `.chalice/config.json`), bound to the region and account it
deploys to.

What each function may do is what it calls — tests/e2e/test_iam.py records every AWS call of every function on the
local stack and proves both ways: each call is allowed, and each grant (action × resource) is used — except the
statements in NOT_CALLED_BY_THE_CODE, which Lambda, S3 or KMS need on the function's behalf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

API_FUNCTION = "api_handler"  # Chalice's name for the function behind the REST API
S3_TRIGGERED = ("on_config_upload", "on_content_upload", "on_calendar_upload", "on_audience_upload")

# Statements no call of the code uses, and why the function still needs them.
NOT_CALLED_BY_THE_CODE = {
    "LambdaWritesLogs": "the Lambda runtime writes the function's logs to its own log group",
    "LambdaPollsTheQueue": "the SQS event-source mapping receives, deletes and reads the attributes of the "
                           "function's queue with the function's role",
    "LambdaRecordsFailures": "Lambda sends an S3-triggered function's on-failure record to the upload-failures "
                             "queue with the function's role",
    "MissingKeysAnswer404": "without s3:ListBucket, S3 answers a read of a missing key with 403 AccessDenied instead "
                            "of 404, and a missing media file would look like a permission failure",
    "SsmDecryptsTokens": "SSM and Secrets Manager decrypt a SecureString parameter or a secret with the caller's "
                         "kms:Decrypt, through the service only",
    "TracingSendsSegments": "with tracing on (`make deploy TRACING=1`), Lambda and the X-Ray SDK send the "
                            "function's trace segments; X-Ray's PutTraceSegments and PutTelemetryRecords take no "
                            "resource ARN, so the resource is *",
    "TokensInSecretsManager": "an account's token is read from Secrets Manager instead of SSM when the campaign "
                              "config names it there (secret: secretsmanager:prachar/<stage>/accounts/<id>); the "
                              "recorded run's accounts keep theirs in SSM",
}

# Grants the code uses on paths the recorded run cannot reach on purpose (a race), each with where: proven by
# tests/unit/test_review_findings_10.py, which drives each path and checks its calls against the policy.
CALLED_ON_RARE_PATHS = {
    ("on_audience_upload", "dynamodb:BatchWriteItem"): "a STOP that lands while its number's batch is being "
        "written: the contacts just written are taken back (services/audience_import.py)",
    ("on_import_continuation", "dynamodb:BatchWriteItem"): "the same, in a continued import",
    ("api_handler", "sqs:GetQueueUrl"): "a `failed` status webhook for a broadcast message that Meta marks "
        "retryable: the retry is queued for that contact alone (services/broadcasts.py, on_status)",
    ("api_handler", "sqs:SendMessage"): "the same",
    **{(function, action): "a post due already whose scope needs no sign-off is queued at once "
       "(services/dispatch.py, queue_now); the example campaign needs sign-off everywhere "
       "(tests/functional/test_publish_now.py drives it)"
       for function in ("on_content_upload", "on_calendar_upload")
       for action in ("sqs:GetQueueUrl", "sqs:SendMessage")},
}


def function_name(stage: str, function: str) -> str:
    """As Chalice names a stage's functions: prachar-<stage> for the API, prachar-<stage>-<handler> for the rest."""
    return f"prachar-{stage}" if function == API_FUNCTION else f"prachar-{stage}-{function}"


@dataclass(frozen=True)
class StageResources:
    stage: str
    bucket: str
    table: str
    publish_queue: str
    failure_queue: str
    region: str = "*"
    account: str = "*"
    tracing: bool = False  # X-Ray on for the stage: each function may send its trace segments

    @property
    def where(self) -> str:
        return f"{self.region}:{self.account}"

    def queue(self, name: str) -> str:
        return f"arn:aws:sqs:{self.where}:{name}"

    def objects(self, *prefixes: str) -> list[str]:
        return [f"arn:aws:s3:::{self.bucket}/{prefix}" for prefix in prefixes]



def _statement(sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions,
                                 "Resource": resources if len(resources) > 1 else resources[0]}
    if condition:
        statement["Condition"] = condition
    return statement


def _table(r: StageResources, *actions: str, indexes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    table = f"arn:aws:dynamodb:{r.where}:table/{r.table}"
    found = [_statement("Table", [f"dynamodb:{a}" for a in actions], [table])]
    if indexes:
        found.append(_statement("Indexes", ["dynamodb:Query"], [f"{table}/index/{name}" for name in indexes]))
    return found


def _reads(r: StageResources, *prefixes: str) -> list[dict[str, Any]]:
    return [_statement("ReadUploads", ["s3:GetObject"], r.objects(*prefixes)),
            _statement("MissingKeysAnswer404", ["s3:ListBucket"], [f"arn:aws:s3:::{r.bucket}"])]


def _error_reports(r: StageResources, area: str) -> dict[str, Any]:
    # A bad upload gets errors/<key>.json; a good one clears it.
    return _statement("ErrorReports", ["s3:PutObject", "s3:DeleteObject"], r.objects(f"errors/{area}/*"))


def _tokens(r: StageResources, *names: str) -> list[dict[str, Any]]:
    return [_statement("Tokens", ["ssm:GetParameter"],
                       [f"arn:aws:ssm:{r.where}:parameter/prachar/{r.stage}/{name}" for name in names]),
            _statement("TokensInSecretsManager", ["secretsmanager:GetSecretValue"],
                       [f"arn:aws:secretsmanager:{r.where}:secret:prachar/{r.stage}/accounts/*"]),
            _statement("SsmDecryptsTokens", ["kms:Decrypt"], [f"arn:aws:kms:{r.where}:key/*"],
                       {"StringLike": {"kms:ViaService": [f"ssm.{r.region}.amazonaws.com"]}})]


def _audience_key(r: StageResources, *actions: str) -> dict[str, Any]:
    # Voters' contacts are sealed under data keys of the stage's audience key, named by its alias (CloudFormation
    # makes its id): only that key.
    return _statement("AudienceKey", [f"kms:{a}" for a in actions], [f"arn:aws:kms:{r.where}:key/*"],
                      {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/prachar-{r.stage}-audience"}})


def _digest_key(r: StageResources) -> dict[str, Any]:
    # A secret's ARN is its name and six random characters.
    return _statement("DigestKey", ["secretsmanager:GetSecretValue"],
                      [f"arn:aws:secretsmanager:{r.where}:secret:prachar/{r.stage}/audience-hash-key-??????"])


def _sends_to(r: StageResources, sid: str, queue: str) -> dict[str, Any]:
    return _statement(sid, ["sqs:GetQueueUrl", "sqs:SendMessage"], [r.queue(queue)])


def _polls(r: StageResources, queue: str) -> dict[str, Any]:
    return _statement("LambdaPollsTheQueue", ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                      [r.queue(queue)])


def _code_statements(function: str, r: StageResources) -> list[dict[str, Any]]:
    imports, broadcasts = f"prachar-{r.stage}-imports", f"prachar-{r.stage}-broadcasts"
    audience_reports = _statement("Reports", ["s3:PutObject"], r.objects("reports/*/audience/*"))
    ingest = ["GetItem", "PutItem", "Query", "UpdateItem"]  # Query: a re-upload reads the posts it replaces
    importing = [*_table(r, "BatchGetItem", "BatchWriteItem", "GetItem", "PutItem", "UpdateItem"),
                 *_reads(r, "audience/*"),
                 _error_reports(r, "audience"), audience_reports, _audience_key(r, "GenerateDataKey"), _digest_key(r),
                 _sends_to(r, "ImportContinuations", imports)]
    return {
        API_FUNCTION: [
            # BatchWriteItem: an erasure deletes the person's contacts and broadcast records.
            *_table(r, "BatchGetItem", "BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem",
                    indexes=("by_done", "by_scope")),
            # A retryable `failed` status of a broadcast message queues that contact's retry.
            _sends_to(r, "BroadcastChunks", broadcasts),
            # A post approved after its time (or "as soon as approved") is queued at once.
            _sends_to(r, "PublishNow", r.publish_queue),
            # An export's CSV, and the link to it (fetched with this function's credentials).
            _statement("Exports", ["s3:PutObject", "s3:GetObject"], r.objects("exports/*")),
            _audience_key(r, "Decrypt"), _digest_key(r),
            # The webhook's app secret and verify token; the WhatsApp number's token for a reply to a STOP.
            *_tokens(r, "whatsapp/*", "accounts/*")],
        "on_config_upload": [*_table(r, "GetItem", "PutItem"), *_reads(r, "config/*"), _error_reports(r, "config")],
        # A post due already (no time given, or a time past) that needs no sign-off is queued at once.
        "on_content_upload": [*_table(r, *ingest), *_reads(r, "content/*"), _error_reports(r, "content"),
                              _sends_to(r, "PublishNow", r.publish_queue)],
        # BatchGetItem: the calendar's rows' content records in batch reads.
        "on_calendar_upload": [*_table(r, "BatchGetItem", *ingest), *_reads(r, "calendar/*"),
                               _error_reports(r, "calendar"),
                               _sends_to(r, "PublishNow", r.publish_queue)],
        "on_audience_upload": importing,
        "on_import_continuation": importing,
        "on_broadcast_chunk": [
            *_table(r, "BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"),
            _audience_key(r, "Decrypt"), *_tokens(r, "accounts/*"), _sends_to(r, "BroadcastChunks", broadcasts)],
        # GetItem, PutItem: an expired or abandoned post is read and written to the activity log.
        "publishing_clock": [*_table(r, "GetItem", "PutItem", "UpdateItem", indexes=("wake", "on_its_way")),
                             _sends_to(r, "PublishQueue", r.publish_queue)],
        "broadcast_counts": _table(r, "PutItem", "Query", "UpdateItem"),
        "token_health_check": [*_table(r, "GetItem", "PutItem", "UpdateItem"), *_tokens(r, "accounts/*")],
        "coverage_alert": _table(r, "GetItem", "PutItem", "Query", "UpdateItem", indexes=("by_scope",)),
        "daily_report": [*_table(r, "GetItem", "PutItem", "Query", "UpdateItem", indexes=("by_done", "by_scope")),
                         _statement("Reports", ["s3:PutObject"], r.objects("reports/*"))],
        "audience_purge": [*_table(r, "BatchWriteItem", "GetItem", "PutItem", "Query"), audience_reports],
        # BatchGetItem: the WhatsApp posts' reach and the accounts' states in batch reads.
        "engagement_collector": [*_table(r, "BatchGetItem", "GetItem", "PutItem", "UpdateItem",
                                         indexes=("by_done",)),
                                 *_tokens(r, "accounts/*")],
        "campaign_closer": _table(r, "GetItem", "PutItem", "UpdateItem", indexes=("by_scope",)),
        "on_publish_message": [
            # DeleteItem: a WhatsApp pair-rate slot nothing was sent in is given back.
            # BatchGetItem: a post and its account's state in one read.
            *_table(r, "BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"),
            # The media's link for the platform to fetch: a manifest's, or a calendar row's.
            _statement("MediaLinks", ["s3:GetObject"], r.objects("content/*", "calendar/*")),
            *_tokens(r, "accounts/*"),
            # A message that must wait (a platform's limit, a retry) is made visible again later.
            _statement("PublishQueue", ["sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"], [r.queue(r.publish_queue)]),
            _sends_to(r, "BroadcastChunks", broadcasts)],
    }[function]


FUNCTIONS = (API_FUNCTION, *S3_TRIGGERED, "on_import_continuation", "on_broadcast_chunk", "publishing_clock",
             "broadcast_counts", "token_health_check", "coverage_alert", "daily_report", "audience_purge",
             "engagement_collector", "campaign_closer", "on_publish_message")


def function_policy(function: str, r: StageResources) -> dict[str, Any]:
    log_group = f"arn:aws:logs:{r.where}:log-group:/aws/lambda/{function_name(r.stage, function)}"
    statements = [_statement("LambdaWritesLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                             [log_group, f"{log_group}:*"])]
    queue = {"on_publish_message": r.publish_queue, "on_import_continuation": f"prachar-{r.stage}-imports",
             "on_broadcast_chunk": f"prachar-{r.stage}-broadcasts"}.get(function)
    if queue:
        statements.append(_polls(r, queue))
    if function in S3_TRIGGERED:
        statements.append(_statement("LambdaRecordsFailures", ["sqs:SendMessage"], [r.queue(r.failure_queue)]))
    if r.tracing:
        statements.append(_statement("TracingSendsSegments", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                                     ["*"]))
    return {"Version": "2012-10-17", "Statement": statements + _code_statements(function, r)}


def function_policies(r: StageResources) -> dict[str, dict[str, Any]]:
    return {function: function_policy(function, r) for function in FUNCTIONS}


def policy_file(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
