"""Each Lambda's cold start, as imports: `import app` plus every module that function's code asks for on its
invocations (recorded by tests/support/recorded_run.py, which walks all 16 functions), timed in fresh interpreters,
as a ratio to `import boto3` alone (the issue's goal: ≤ 1.3 for every function)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
GOAL = 1.3


def recorded_imports() -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "calls.json"
        subprocess.run([sys.executable, "-m", "tests.support.recorded_run", str(out)], cwd=ROOT, check=True,
                       capture_output=True, env=_quiet_environment())
        return json.loads(out.with_suffix(".imports.json").read_text())


def _quiet_environment() -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith(("PRACHAR_", "AWS_", "POWERTOOLS_"))},
            "POWERTOOLS_LOG_LEVEL": "WARNING"}


def seconds(code: str, runs: int = RUNS) -> float:
    """The median, over fresh interpreters, of the time `code` takes."""
    timed = f"import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", timed], cwd=ROOT, capture_output=True,
                                                  text=True, check=True).stdout) for _ in range(runs))


def first_invocation_imports(modules: list[str]) -> str:
    # Some recorded names are attributes, not modules (`from x import y`): only modules are imported.
    return ("import app, importlib.util\n"
            f"for name in {sorted(modules)!r}:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ImportError:\n"
            "        pass\n")


def bench_cold_start() -> dict[str, float]:
    modules = recorded_imports()
    boto3_alone = seconds("import boto3", runs=11)
    app_alone = seconds("import app", runs=11)
    print(f"\ncold start, as imports: median of {RUNS} fresh interpreters per function (goal ≤ {GOAL}× boto3):")
    print(f"  import boto3 alone                {boto3_alone * 1000:7.1f} ms   1.00×")
    print(f"  import app (every function)       {app_alone * 1000:7.1f} ms   {app_alone / boto3_alone:.2f}×")
    ratios = {}
    for function in sorted(modules):
        took = seconds(first_invocation_imports(modules[function]))
        ratios[function] = took / boto3_alone
        mark = "" if ratios[function] <= GOAL else "   over the goal"
        print(f"  {function:32}  {took * 1000:7.1f} ms   {ratios[function]:.2f}×{mark}")
    return ratios


if __name__ == "__main__":
    bench_cold_start()
