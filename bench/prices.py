"""On-demand list prices in ap-south-1 (Mumbai), in US dollars, as published on the AWS pricing pages (checked for
2026; no free tier counted). Prices change: edit them here, and `make bench` prints the table again.

DynamoDB on-demand bills request units: a write of up to 1 KB is one write unit (an update bills the larger of the
item before and after), a strongly consistent read of up to 4 KB one read unit (eventually consistent: half), a
transactional request twice as many. A post item is 1–2 KB (a team kit's, with its members' message ids, ~1.5 KB; a
long Hindi text ~1 KB alone), so every write is priced as 2 units — an upper bound for most of them — and every read
as 1 unit (4 KB); a Query is priced as one unit too, which undercounts only the daily report's and the roll-ups'.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    dollars: float
    per: str


PRICES: dict[str, Price] = {
    "dynamodb.write_unit": Price(0.7115 / 1_000_000, "write request unit"),
    "dynamodb.read_unit": Price(0.1423 / 1_000_000, "read request unit"),
    "s3.put": Price(0.005 / 1_000, "PUT, COPY, POST or LIST request"),
    "s3.get": Price(0.0004 / 1_000, "GET or other request"),
    "sqs.request": Price(0.40 / 1_000_000, "request (64 KB chunk)"),
    "lambda.request": Price(0.20 / 1_000_000, "invocation"),
    "lambda.gb_second": Price(0.0000166667, "GB-second (x86)"),
    "apigateway.request": Price(3.50 / 1_000_000, "REST API request"),
    "secretsmanager.request": Price(0.05 / 10_000, "API call"),
    "kms.request": Price(0.03 / 10_000, "request"),
    "ssm.request": Price(0.0, "standard parameter read (no charge)"),
    "sns.request": Price(0.50 / 1_000_000, "publish"),
    "cognito.request": Price(0.0, "sign-in within the free monthly users"),
}

# The units a request of each DynamoDB operation bills for the campaign's small items.
_DYNAMODB_UNITS = {
    "GetItem": ("read_unit", 1.0), "Query": ("read_unit", 1.0), "BatchGetItem": ("read_unit", 1.0),
    "Scan": ("read_unit", 1.0), "TransactGetItems": ("read_unit", 2.0),
    "PutItem": ("write_unit", 2.0), "UpdateItem": ("write_unit", 2.0), "DeleteItem": ("write_unit", 2.0),
    "BatchWriteItem": ("write_unit", 2.0), "TransactWriteItems": ("write_unit", 4.0),
}
_S3_GETS = {"GetObject", "HeadObject", "GetObjectTagging", "GetObjectAttributes"}


def request_price(service: str, operation: str, items: int = 1) -> float:
    """What one request of this operation costs (a DynamoDB request priced as the units of its small items)."""
    if service == "dynamodb":
        unit, count = _DYNAMODB_UNITS.get(operation, ("read_unit", 0.0))
        return PRICES[f"dynamodb.{unit}"].dollars * count * items
    if service == "s3":
        return PRICES["s3.get" if operation in _S3_GETS else "s3.put"].dollars
    key = f"{service}.request"
    return PRICES[key].dollars if key in PRICES else 0.0
