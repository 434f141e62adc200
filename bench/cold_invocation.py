"""One Lambda invocation in a fresh interpreter, as a cold start runs it: `import app`, then the handler on the event.

Run as a script (`python bench/cold_invocation.py ANSWER.json`, not `-m`: runpy would load modules the Lambda does
not), with the request as JSON on stdin: {"function", "event", "context", "now", "module_values"}. It writes
ANSWER.json (stdout is the function's log): the handler's result (or its error) and every module the interpreter
loaded after starting, in the order they loaded — what the function's cold start imported for that event.
bench/fresh_invocations.py runs each invocation of the recorded run this way; bench/cold_start.py times the lists.

The handler's clock stands at the run's `now` (the local stack's stepped clock does not move during an invocation
either), and `module_values` are the module constants the run tuned (set as the module loads, so it is not loaded
for a function that does not use it).
"""

import sys

AT_START = frozenset(sys.modules)

import base64  # noqa: E402 — after AT_START: the request's own imports count (botocore loads these anyway)
import json  # noqa: E402
import os  # noqa: E402


def dumps(value: object) -> str:
    """JSON, with bytes (an API request's or answer's body) as {"base64": …}."""
    return json.dumps(value, default=lambda v: {"base64": base64.b64encode(v).decode()} if isinstance(v, bytes)
                      else str(v))


def loads(text: str) -> object:
    return json.loads(text, object_hook=lambda o: base64.b64decode(o["base64"]) if o.keys() == {"base64"} else o)


class Context:
    """What the handlers and Powertools read of Lambda's context object."""

    def __init__(self, function_name: str, aws_request_id: str, millis_left: int, memory_limit_in_mb: int = 256):
        self.function_name = function_name
        self.aws_request_id = aws_request_id
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = f"arn:aws:lambda:ap-south-1:000000000000:function:{function_name}"
        self._deadline_millis = millis_left

    def get_remaining_time_in_millis(self) -> int:
        return self._deadline_millis


class SetOnLoad:
    """A finder that sets constants of a module right after it loads, and loads nothing itself."""

    def __init__(self, values: dict[str, dict[str, object]]) -> None:
        self.values = values

    def find_spec(self, name, path, target=None):
        if name not in self.values:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            vars(module).update(self.values[name])

        spec.loader.exec_module = exec_module
        return spec


def invoke(request: dict) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.update({"PRACHAR_CLOCK_START": request["now"], "PRACHAR_CLOCK_SPEED": "0"})
    if request.get("module_values"):
        sys.meta_path.insert(0, SetOnLoad(request["module_values"]))
    import app

    handler = app.app if request["function"] == "api_handler" else getattr(app, request["function"])
    try:
        return {"result": handler(request["event"], Context(**request["context"])), "modules": loaded()}
    except Exception as exc:  # the pump reports it and lets the trigger retry, as for a function in-process
        modules = loaded()
        import traceback

        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(), "modules": modules}


def loaded() -> list[str]:
    return [name for name in sys.modules if name not in AT_START]


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as answer_file:
        answer_file.write(dumps(invoke(loads(sys.stdin.read()))))
