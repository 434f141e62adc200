"""The calls the audience and broadcast stores make on the campaign's table: reads, batches with DynamoDB's advice
on unprocessed keys, and a failed condition told apart from every other error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_codec import from_item, to_item, to_values
from chalicelib.errors import PersistenceError

BATCH_GET = 100    # DynamoDB's limit per BatchGetItem
BATCH_WRITE = 25   # and per BatchWriteItem
UNPROCESSED_RETRIES = 8


class ConditionFailed(Exception):
    pass


class TableCalls:
    def __init__(self, client: Any, table: str, sleep: Any = time.sleep) -> None:
        self._db, self._table, self._sleep = client, table, sleep

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._call("get_item", Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _batch_get(self, keys: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(keys), BATCH_GET):
            pending = {self._table: {"Keys": [to_item(k) for k in keys[start:start + BATCH_GET]],
                                     "ConsistentRead": True}}
            for attempt in range(UNPROCESSED_RETRIES):
                response = self._call("batch_get_item", table=False, RequestItems=pending)
                for item in response.get("Responses", {}).get(self._table, []):
                    yield from_item(item)
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                self._sleep(min(0.05 * 2 ** attempt, 2.0))  # DynamoDB's advice: back off before asking again
            else:
                raise PersistenceError("DynamoDB kept some keys of a batch read unprocessed")

    def _batch_write(self, requests: list[dict[str, Any]]) -> int:
        for start in range(0, len(requests), BATCH_WRITE):
            pending = {self._table: requests[start:start + BATCH_WRITE]}
            for attempt in range(UNPROCESSED_RETRIES):
                pending = self._call("batch_write_item", table=False, RequestItems=pending).get(
                    "UnprocessedItems") or {}
                if not pending:
                    break
                self._sleep(min(0.05 * 2 ** attempt, 2.0))
            else:
                raise PersistenceError("DynamoDB kept some items of a batch write unprocessed")
        return len(requests)

    def _query(self, pk: str, until: str | None = None, *, since: str | None = None,
               **extra: Any) -> Iterator[dict[str, Any]]:
        """Every item of one partition (with a sort key from `since`, up to `until`), page by page."""
        condition, values = "pk = :p", {":p": pk}
        if since is not None and until is not None:
            condition, values = condition + " AND sk BETWEEN :s AND :u", {**values, ":s": since, ":u": until}
        elif since is not None:
            condition, values = condition + " AND sk >= :s", {**values, ":s": since}
        elif until is not None:
            condition, values = condition + " AND sk <= :u", {**values, ":u": until}
        request: dict[str, Any] = {"TableName": self._table, "ExpressionAttributeValues": to_values(values), **extra,
                                   "KeyConditionExpression": condition}
        while True:
            response = self._call("query", table=False, **request)
            for item in response.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _call(self, operation: str, table: bool = True, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self._db, operation)(**({"TableName": self._table} if table else {}), **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed() from None
            raise PersistenceError(f"DynamoDB {operation} failed: {code}") from exc
