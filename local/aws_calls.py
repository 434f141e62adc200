"""Every AWS call the handlers make, by Lambda function: botocore's `before-parameter-build` event on the one session
every client comes from (chalicelib/adapters/aws.py), which fires for each API call and for each presigned URL —
a presigned GET is made with the function's own credentials, so its action must be in the function's policy too.

The event pump and the local API gateway name the function that runs (`running`); calls made outside a function
(uploads by a member, the pump playing Lambda's event sources) are not the functions' and are not kept. The IAM
test (tests/e2e/test_iam.py) checks these calls against each function's policy; the cost figures count them.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_running: ContextVar[str | None] = ContextVar("prachar_running_function", default=None)

# What decides a call's IAM resource; the rest (bodies, items, expressions) is left out.
KEPT = ("Bucket", "Key", "VersionId", "CopySource", "TableName", "IndexName", "QueueUrl", "QueueName", "Name",
        "Names", "Path", "SecretId", "KeyId", "TopicArn")


@dataclass(frozen=True)
class AwsCall:
    function: str
    service: str        # botocore's service name: s3, dynamodb, sqs, kms, secretsmanager, ssm, …
    operation: str      # the API operation: GetObject, PutItem, …
    params: tuple[tuple[str, Any], ...]
    presigned: bool = False

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def as_json(self) -> dict[str, Any]:
        return {"function": self.function, "service": self.service, "operation": self.operation,
                "params": dict(self.params), "presigned": self.presigned}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AwsCall:
        params = tuple(sorted((k, tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list)
                               else v) for k, v in data["params"].items()))
        return cls(data["function"], data["service"], data["operation"], params, data["presigned"])


@contextlib.contextmanager
def running(function: str, *, own_container: bool = False) -> Iterator[None]:
    """The calls made in this block (and in threads started with a copy of its context) are `function`'s. With
    `own_container`, the block also runs with the function's own container (bootstrap.as_function): its own caches of
    data keys, tokens and the campaign, as in its own process in the cloud."""
    from chalicelib import bootstrap

    token = _running.set(function)
    try:
        with bootstrap.as_function(function) if own_container else contextlib.nullcontext():
            yield
    finally:
        _running.reset(token)


def running_function() -> str | None:
    return _running.get()


class ImportLog:
    """The modules each function's code asks for while it runs (every `import` statement executed, loaded before or
    not): with `import app`, what that function's Lambda loads on its first invocation. bench/cold_start.py times
    each set in a fresh interpreter."""

    def __init__(self) -> None:
        self.modules: dict[str, set[str]] = {}
        self._original: Any = None

    def install(self) -> ImportLog:
        import builtins

        self._original = original = builtins.__import__

        def recording(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
            module = original(name, globals, locals, fromlist, level)
            function = _running.get()
            if function is not None:
                found = self.modules.setdefault(function, set())
                if level == 0:
                    found.add(name)
                else:  # a relative import: its resolved name
                    found.add(module.__name__)
                for item in fromlist or ():
                    if f"{module.__name__}.{item}" in sys.modules:
                        found.add(f"{module.__name__}.{item}")
            return module

        builtins.__import__ = recording
        return self

    def uninstall(self) -> None:
        import builtins

        builtins.__import__ = self._original


class CallLog:
    def __init__(self) -> None:
        self.calls: list[AwsCall] = []
        self._lock = threading.Lock()

    def install(self, session: Any) -> CallLog:
        session.events.register("before-parameter-build", self._record, unique_id="prachar-call-log")
        return self

    def uninstall(self, session: Any) -> None:
        session.events.unregister("before-parameter-build", unique_id="prachar-call-log")

    def _record(self, params: dict[str, Any], model: Any, context: dict[str, Any] | None = None,
                **_: Any) -> None:
        function = _running.get()
        if function is None:
            return
        kept = {name: params[name] for name in KEPT if name in params}
        if "RequestItems" in params:  # BatchGetItem, BatchWriteItem: the tables named
            kept["TableNames"] = tuple(sorted(params["RequestItems"]))
            kept["ItemCount"] = sum(len(v.get("Keys", ())) if isinstance(v, dict) else len(v)
                                    for v in params["RequestItems"].values())  # each item bills its own units
        if "TransactItems" in params:  # each item is an action of its own on its table
            kept["TransactItems"] = tuple((kind, body["TableName"]) for item in params["TransactItems"]
                                          for kind, body in item.items())
        call = AwsCall(function, model.service_model.service_name, model.name, tuple(sorted(kept.items())),
                       presigned=bool((context or {}).get("is_presign_request")))
        with self._lock:
            self.calls.append(call)
