"""moto 5 bugs that stop a `chalice deploy` rehearsal or make the emulator slow, fixed in the emulator (never in our
code).

1. S3 notification filter rules named `Prefix`/`Suffix` (AWS accepts either case) → moto asserts lower case.
2. ImportRestApi without `info.description` → KeyError.
3. Swagger 2.0 API documents (what Chalice generates) → "Only OpenAPI 3.x.x are currently supported".
4. A DynamoDB Query on the table's own key sorts *every* item of the table to keep one partition (O(n log n) per
   query): with a campaign's activity log in the table, the replay spent most of its time there. The query is
   given that partition's items only — the same items, in the same order; a query of an index gets them unsorted
   (it sorts what it keeps), and only those with the hash key values queried (it checks them again). And every
   request lists moto's own package directory to find its service: listed once.
7. moto checks a bucket policy's statement's condition before its resource, and takes a condition that does not hold
   (or that it cannot evaluate, as it knows no request context) for a Deny — whatever the statement's effect — and
   a NotResource statement for an Allow. So the deployed bucket policy (a TLS-only Deny on s3:*) refused every
   request. IAM's rule is used instead: a statement applies when its action, resource and conditions all match,
   and then its effect decides; moto still cannot evaluate context keys, so such statements do not apply here.
6. moto's CloudFormation silently skips `AWS::CloudWatch::Alarm` (it knows no such resource): the stack's alarms
   are made with moto's own PutMetricAlarm, as CloudFormation would, so a deploy rehearsal shows them.
5. moto's DynamoDB is not thread-safe: an UpdateItem deep-copies the item while another request thread changes it
   ("dictionary changed size during iteration" → 500), e.g. a WhatsApp status webhook racing the publisher on one
   post. DynamoDB itself serialises writes to an item; the emulator serialises its DynamoDB requests.
8. moto 5.2 writes every DynamoDB answer member by member through the service model (~7 ms for one post-sized item,
   most of a replay's emulator time): the answers of the item operations are written as JSON directly — the same
   members, minus what the model would leave out (unknown or empty ones); an answer holding bytes or times (binary
   attributes) still goes through the model.
9. Making the stage's resources cost seconds of emulator CPU, most of it work thrown away — and the tests make them
   afresh for every test: moto's CloudFormation parses the template with PyYAML's pure-Python loader on every
   CreateStack (the same text: parsed once, each stack given its own deep copy); a KMS key gets a 2048-bit RSA key
   pair generated even when it is a symmetric key that never signs (generated when first used instead); and every
   Cognito user pool re-imports the same private JWK from moto's resource file, recovering its RSA primes (imported
   once, the key shared, as the file is).
10. moto's server (werkzeug's development server) answers every request with `Connection: close`, then waits 10 ms
   for request bytes to throw away: each AWS call paid a TCP connection, a server thread and a selector (a fifth of a
   replay's CPU). The emulator keeps connections open instead, as AWS does: a request's body is read whole before
   moto sees it (nothing is left on the connection for the next request to trip over), and a connection closes when
   the client asks, or when an answer went wrong half-way.
11. moto's S3 event notifications leave out the object's `versionId`, which S3 puts in every event of a versioned
   bucket (the stage's bucket is): each upload's answer is kept by it (two uploads of the same bytes share an ETag).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from typing import Any

_applied = False
UNSORTED = object()
_queried_partition: contextvars.ContextVar[tuple[Any, Any] | None] = contextvars.ContextVar("partition", default=None)


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.apigateway.models import APIGatewayBackend
    from moto.s3.responses import S3Response

    read_notifications = S3Response._notification_config_from_body

    def lower_case_filter_names(self: Any) -> dict[str, Any]:
        pattern = r"<Name>(Prefix|Suffix)</Name>"
        if isinstance(self.body, bytes):
            self.body = re.sub(pattern.encode(), lambda m: b"<Name>" + m.group(1).lower() + b"</Name>", self.body)
        elif isinstance(self.body, str):
            self.body = re.sub(pattern, lambda m: f"<Name>{m.group(1).lower()}</Name>", self.body)
        return read_notifications(self)

    import_rest_api = APIGatewayBackend.import_rest_api

    def import_without_description(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        api_doc.setdefault("info", {}).setdefault("description", "")
        return import_rest_api(self, api_doc, fail_on_warnings)

    put_rest_api = APIGatewayBackend.put_rest_api

    def accept_swagger_2(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                         mode: str = "merge") -> Any:
        if api_doc.get("swagger"):
            api_doc = {**api_doc, "openapi": "3.0.1"}
            api_doc.pop("swagger")
        return put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)

    _query_one_partition()
    _list_services_once()
    _alarms_from_cloudformation()
    _statements_as_iam_applies_them()
    _one_dynamodb_request_at_a_time()
    _dynamodb_items_as_json()
    _template_parsed_once()
    _kms_key_pair_when_used()
    _cognito_key_imported_once()
    _s3_events_carry_the_version()
    S3Response._notification_config_from_body = lower_case_filter_names
    APIGatewayBackend.import_rest_api = import_without_description
    APIGatewayBackend.put_rest_api = accept_swagger_2
    _applied = True


def _statements_as_iam_applies_them() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        statement = self._statement
        if "NotAction" in statement:
            concerned = not self._check_element_matches("NotAction", action)
        else:
            concerned = self._check_element_matches("Action", action)
        if not concerned or self.is_unknown_principal(statement.get("Principal")):
            return PermissionResult.NEUTRAL
        if principal and not self._check_principal(principal):
            return PermissionResult.NEUTRAL
        if "NotResource" in statement:
            on = not self._check_element_matches("NotResource", resource)
        else:
            on = not statement.get("Resource") or self._check_element_matches("Resource", resource)
        if not on or (statement.get("Condition") and not incoming_condition_values):
            return PermissionResult.NEUTRAL  # conditions on a context moto does not give: not decided here
        if not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return PermissionResult.PERMITTED if statement["Effect"] == "Allow" else PermissionResult.DENIED

    IAMPolicyStatement.is_action_permitted = is_action_permitted


def _alarms_from_cloudformation() -> None:
    from moto.cloudwatch.models import (
        Dimension,
        Metric,
        MetricDataQuery,
        MetricStat,
        cloudwatch_backends,
    )
    from moto.core.common_models import CloudFormationModel

    class CloudFormationAlarm(CloudFormationModel):
        """AWS::CloudWatch::Alarm for moto's CloudFormation (found by CloudFormationModel.__subclasses__)."""

        def __init__(self, name: str) -> None:
            self.name = name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                            region_name: str, **kwargs: Any) -> Any:
            p = cloudformation_json["Properties"]

            def dimensions(items: list[dict[str, str]] | None) -> list[Any]:
                return [Dimension(d["Name"], d["Value"]) for d in items or []]

            queries = [MetricDataQuery(
                query_id=q["Id"], label=q.get("Label", ""), period=str(q["Period"]) if "Period" in q else None,
                return_data=str(q.get("ReturnData", True)).lower(), expression=q.get("Expression"),
                metric_stat=MetricStat(Metric(q["MetricStat"]["Metric"]["MetricName"],
                                              q["MetricStat"]["Metric"]["Namespace"],
                                              dimensions(q["MetricStat"]["Metric"].get("Dimensions"))),
                                       str(q["MetricStat"]["Period"]), q["MetricStat"]["Stat"],
                                       q["MetricStat"].get("Unit")) if "MetricStat" in q else None)
                for q in p.get("Metrics", [])]
            name = p.get("AlarmName") or resource_name
            cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p["Period"]) if "Period" in p else None, threshold=float(p["Threshold"]),
                statistic=p.get("Statistic"), description=p.get("AlarmDescription", ""),
                dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
                alarm_actions=list(p.get("AlarmActions", [])), metric_data_queries=queries or None,
                treat_missing_data=p.get("TreatMissingData"))
            return cls(name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                            region_name: str) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    _alarms_from_cloudformation.model = CloudFormationAlarm  # type: ignore[attr-defined]


def _query_one_partition() -> None:
    from moto.dynamodb.models.table import Table

    query, all_items = Table.query, Table.all_items

    def query_in_partition(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if hash_key is None and index_name is None:
            return query(self, hash_key, *args, **kwargs)
        # An index query filters every item and sorts what it keeps: the items need not come sorted first — and only
        # those with the index's hash key values can be kept (moto checks them again).
        wanted = tuple(kwargs.get("hash_key_conditions") or ()) if index_name is not None else ()
        token = _queried_partition.set((self, UNSORTED if index_name is not None else hash_key, wanted))
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _queried_partition.reset(token)

    def items_of_partition(self: Any) -> Any:
        partition = _queried_partition.get()
        if partition is None or partition[0] is not self or not self.range_key_attr:
            return all_items(self)
        if partition[1] is UNSORTED:
            found = [item for items in self.items.values() for item in items.values()]
            for name, wanted in partition[2]:  # one loop per hash key attribute (ours have one)
                found = [item for item in found if (value := item.attrs.get(name)) is not None
                         and value.value == wanted.value and value.type == wanted.type]
            return found
        return sorted(self.items.get(partition[1], {}).values(), key=lambda item: item.range_key)

    Table.query = query_in_partition
    Table.all_items = items_of_partition


def _list_services_once() -> None:
    from moto import backends

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services


def _one_dynamodb_request_at_a_time() -> None:
    import threading

    from moto.dynamodb.responses import DynamoHandler

    call_action, lock = DynamoHandler.call_action, threading.Lock()

    def serialised(self: Any) -> Any:
        with lock:
            return call_action(self)

    DynamoHandler.call_action = serialised


# What the item operations answer (each a JSON object of AttributeValues, counts, keys and consumed capacity).
ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                             "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})


def _dynamodb_items_as_json() -> None:
    import json

    from moto.dynamodb.responses import DynamoResult

    execute_result = DynamoResult.execute_result

    def as_json(self: Any, context: Any) -> Any:
        operation = context.operation_model
        if operation.name in ITEM_OPERATIONS and isinstance(self.result, dict):
            members = operation.output_shape.members if operation.output_shape is not None else {}
            answer = {name: value for name, value in self.result.items() if value is not None and name in members}
            try:
                body = json.dumps(answer, separators=(",", ":"))
            except TypeError:  # bytes (a binary attribute) or a time: the model knows how to write those
                return execute_result(self, context)
            json_version = operation.service_model.metadata.get("jsonVersion", "1.0")
            return 200, {"Content-Type": f"application/x-amz-json-{json_version}"}, body
        return execute_result(self, context)

    DynamoResult.execute_result = as_json


def _template_parsed_once() -> None:
    import copy
    import functools

    from moto.cloudformation.models import Stack

    parse = Stack.parse_template

    @functools.lru_cache(maxsize=16)
    def parsed(template: str) -> Any:
        return parse(template)

    def parse_template(template: str) -> Any:
        return copy.deepcopy(parsed(template))  # moto changes a stack's template_dict as it goes

    Stack.parse_template = staticmethod(parse_template)


class _KeyPairWhenUsed:
    """moto's private key of a KMS key, generated on first use (a symmetric key never uses it)."""

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate, self._key_spec, self._key = generate, key_spec, None
        self._lock = threading.Lock()  # moto's server is threaded: two first uses must not make two pairs

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # its own fields before __init__ (a copy being made), dunder look-ups
            raise AttributeError(name)
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


def _kms_key_pair_when_used() -> None:
    from moto.kms import models

    generate = models.generate_private_key
    models.generate_private_key = lambda key_spec: _KeyPairWhenUsed(generate, key_spec)


def _cognito_key_imported_once() -> None:
    import functools
    import json
    import types

    from moto.cognitoidp import models

    jwk = models.jwk

    @functools.lru_cache(maxsize=4)
    def imported(document: str) -> Any:
        return jwk.RSAKey.import_key(json.loads(document))

    def import_key(value: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(value, dict):
            return jwk.RSAKey.import_key(value, *args, **kwargs)
        return imported(json.dumps(value, sort_keys=True))

    models.jwk = types.SimpleNamespace(RSAKey=types.SimpleNamespace(import_key=import_key))  # its one use of jwk


_keep_alive = threading.local()


class _NothingToDrain:
    """werkzeug's after-answer drain, for a connection kept open: its request body was read whole (read now, the
    drain would take the client's next request)."""

    def register(self, *args: Any) -> None:
        pass

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class _Selectors:
    """werkzeug.serving's `selectors`, but for a kept-alive request (the drain's only use of it there)."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def DefaultSelector(self) -> Any:
        return _NothingToDrain() if getattr(_keep_alive, "request", False) else self._module.DefaultSelector()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


@contextlib.contextmanager
def connections_kept_alive() -> Any:
    """moto's ThreadedMotoServer, started inside this block, keeps its connections open (see 10)."""
    import io

    from moto.moto_server import threaded_moto_server
    from werkzeug import serving

    if not isinstance(serving.selectors, _Selectors):
        serving.selectors = _Selectors(serving.selectors)
    base = threaded_moto_server.MotoRequestHandler

    class KeptAlive(base):  # type: ignore[valid-type, misc]
        disable_nagle_algorithm = True  # an answer's headers and body go out at once, not after a delayed ACK
        _whole_body = _answered = False

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            length = environ.get("CONTENT_LENGTH")
            # A length that is not a plain count is left to werkzeug, which answers it and closes the connection.
            self._whole_body = not environ.get("wsgi.input_terminated") and (
                (length is not None and length.isdigit()) or (length is None and self.command in
                                                              ("GET", "HEAD", "DELETE", "OPTIONS")))
            if self._whole_body:
                environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length or 0)))
            return environ

        def run_wsgi(self) -> None:
            _keep_alive.request = True
            self._whole_body = self._answered = False  # until make_environ has read the body
            try:
                super().run_wsgi()
            finally:
                _keep_alive.request = False
            if not (self._whole_body and self._answered):
                self.close_connection = True

        def send_header(self, keyword: str, value: str) -> None:
            # werkzeug's last header of an answer it frames (by its length, or in chunks); an error answered outside
            # run_wsgi (a malformed request) still closes.
            if (keyword.lower() == "connection" and value.lower() == "close" and self._whole_body
                    and getattr(_keep_alive, "request", False)):
                self._answered = True
                return
            super().send_header(keyword, value)

    threaded_moto_server.MotoRequestHandler = KeptAlive
    try:
        yield
    finally:
        threaded_moto_server.MotoRequestHandler = base


def _s3_events_carry_the_version() -> None:
    from moto.s3 import notifications

    event_of = notifications._get_s3_event

    def with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = event_of(event_name, bucket, key, notification_id)
        version = getattr(key, "version_id", None)
        if version and version != "null" and getattr(bucket, "is_versioned", False):
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = version
        return event

    notifications._get_s3_event = with_version
