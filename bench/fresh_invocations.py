"""The recorded run (tests/support/recorded_run.py: every function through a campaign's days on the local stack) with
each invocation in a fresh interpreter of its own, as a cold start: what each function imports for each event.

In one process a module loaded by one function is never loaded again by the next, and some libraries import more
when another is already loaded (Powertools' batch module brings its pydantic models when pydantic is there). Here the
event pump's and the API gateway's invocations each run bench/cold_invocation.py instead, against the same emulator,
platform sandbox and clock; the run goes on with their answers.

`python -m bench.fresh_invocations OUT.json` writes [{"function", "event" (what it was about), "modules" (in load
order), "error"}], one an invocation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from bench.cold_invocation import dumps, loads

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "bench" / "cold_invocation.py"
API_FUNCTION = "api_handler"
# The run shortens the audience import's batches, so that a file outlives its Lambda's time and continues.
TUNED = {"chalicelib.services.audience_import": ("BATCH",)}


class FreshInvocations:
    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._defaults = {module: {name: getattr(_module(module), name) for name in names}
                          for module, names in TUNED.items()}

    def invoke(self, function: str, event: dict[str, Any], context: Any) -> Any:
        from chalicelib import bootstrap
        from chalicelib.domain.times import to_iso

        request = {"function": function, "event": event, "now": to_iso(bootstrap.container().clock.now()),
                   "module_values": self._tuned_values(),
                   "context": {"function_name": context.function_name, "aws_request_id": context.aws_request_id,
                               "millis_left": context.get_remaining_time_in_millis()}}
        with tempfile.TemporaryDirectory() as folder:
            answer_file = Path(folder) / "answer.json"
            ran = subprocess.run([sys.executable, str(CHILD), str(answer_file)], input=dumps(request),
                                 capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
            if not answer_file.exists():
                raise RuntimeError(f"{function} died in its own process ({ran.returncode}):\n{ran.stderr[-3000:]}")
            answer = loads(answer_file.read_text())
        with self._lock:
            self.invocations.append({"function": function, "event": described(event), "modules": answer["modules"],
                                     "error": answer.get("error")})
        if "error" in answer:
            raise RuntimeError(f"{answer['error']} (in its own process)\n{answer['traceback']}")
        return answer["result"]

    def _tuned_values(self) -> dict[str, dict[str, Any]]:
        changed = {}
        for module, defaults in self._defaults.items():
            now = {name: getattr(_module(module), name) for name in defaults}
            if now != defaults:
                changed[module] = now
        return changed

    def install(self) -> None:
        from local.gateway import ApiFunctionGateway
        from local.pump import EventPump

        fresh = self
        invoke_in_process = EventPump._invoke

        def invoke_in_own_process(pump: Any, name: str, handler: Any, event: dict[str, Any], **kwargs: Any) -> Any:
            return invoke_in_process(pump, name, lambda e, context: fresh.invoke(name, e, context), event, **kwargs)

        EventPump._invoke = invoke_in_own_process
        gateway_init = ApiFunctionGateway.__init__

        def gateway_with_api_in_own_process(gateway: Any, app_object: Any, config: Any) -> None:
            gateway_init(gateway, app_object, config)
            gateway._app_object = ApiInOwnProcess(app_object, fresh)

        ApiFunctionGateway.__init__ = gateway_with_api_in_own_process


class ApiInOwnProcess:
    """The Chalice app as the local gateway sees it (its routes), its requests handled in processes of their own."""

    def __init__(self, app_object: Any, fresh: FreshInvocations) -> None:
        self._app_object = app_object
        self._fresh = fresh

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        return self._fresh.invoke(API_FUNCTION, event, context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app_object, name)


def described(event: dict[str, Any]) -> str:
    """What an invocation was about: the route, the uploaded keys, the messages' accounts or keys."""
    if "requestContext" in event:
        return f"{event['requestContext']['httpMethod']} {event['requestContext']['resourcePath']}"
    if "Records" not in event:
        return "on its schedule"
    about = []
    for record in event["Records"]:
        if "s3" in record:
            about.append(unquote_plus(record["s3"]["object"]["key"]))
            continue
        body = json.loads(record.get("body") or "{}")
        about.append(str(body.get("account_id") or body.get("key") or body.get("broadcast") or "a message"))
    return ", ".join(about)


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(name)


def record(out: Path) -> None:
    from tests.support import recorded_run

    fresh = FreshInvocations()
    fresh.install()
    with tempfile.TemporaryDirectory() as folder:
        recorded_run.record(Path(folder) / "calls.json")
    out.write_text(json.dumps(fresh.invocations))


if __name__ == "__main__":
    record(Path(sys.argv[1]))
