"""Each Lambda's cold start, as imports, as a ratio to `import boto3` alone (the goal: ≤ 1.3 for every function).

What a function imports is found by running it: bench/fresh_invocations.py runs every invocation of the recorded run
(tests/support/recorded_run.py walks all 16 functions) in a fresh interpreter of its own, and keeps the modules each
one loaded. A function whose events load different modules (an upload with X text, an API route that decrypts
contacts) has a cold start for each: each distinct set is timed, the heaviest is the function's figure.

Each set is timed in fresh interpreters: `import app` and the set, paired run by run with `import boto3` alone, so a
change in the machine's load touches both sides of a ratio. `--instructions` counts instructions under valgrind
instead (one run each; the busy machine's noise drops out).

`python -m bench.cold_start [--instructions] [--invocations FILE]`: FILE keeps the recorded invocations (it is made
when missing, and read when present).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
GOAL = 1.3
BOTO3 = "import boto3"


@dataclass
class ColdStart:
    """One set of modules a function's cold start loads, and the invocations that loaded it."""

    function: str
    modules: list[str]
    events: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        # sys.modules holds a few names no `import` finds (aliases, extension internals): those are skipped.
        return ("import app, importlib\n"
                f"for name in {self.modules!r}:\n"
                "    try:\n"
                "        importlib.import_module(name)\n"
                "    except ImportError:\n"
                "        pass\n")


def recorded_invocations(keep: Path | None = None) -> list[dict]:
    if keep is not None and keep.exists():
        return json.loads(keep.read_text())
    with tempfile.TemporaryDirectory() as folder:
        out = keep or Path(folder) / "invocations.json"
        subprocess.run([sys.executable, "-m", "bench.fresh_invocations", str(out)], cwd=ROOT, check=True,
                       capture_output=True, env=_quiet_environment())
        return json.loads(out.read_text())


def cold_starts(invocations: list[dict]) -> dict[str, list[ColdStart]]:
    """Each function's distinct sets of modules, in the order the run first met them."""
    found: dict[str, dict[frozenset[str], ColdStart]] = {}
    for invocation in invocations:
        modules = [m for m in invocation["modules"] if m != "__main__"]
        by_set = found.setdefault(invocation["function"], {})
        start = by_set.setdefault(frozenset(modules), ColdStart(invocation["function"], modules))
        start.events.append(invocation["event"])
    return {function: list(by_set.values()) for function, by_set in sorted(found.items())}


def _quiet_environment() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("PRACHAR_", "AWS_", "POWERTOOLS_"))},
            "POWERTOOLS_LOG_LEVEL": "WARNING"}


def seconds_once(code: str) -> float:
    timed = f"import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", timed], cwd=ROOT, capture_output=True, text=True, check=True,
                                env=_quiet_environment()).stdout)


def paired_ratio(code: str, runs: int = RUNS) -> tuple[float, float]:
    """(median seconds, median ratio) of `code` against `import boto3`, each run next to one of boto3's."""
    pairs = [(seconds_once(BOTO3), seconds_once(code)) for _ in range(runs)]
    return statistics.median(took for _, took in pairs), statistics.median(took / boto3 for boto3, took in pairs)


def instructions(code: str) -> int:
    """Instructions an interpreter executes to run `code`, its start included, as valgrind counts them."""
    ran = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=_quiet_environment())
    return int(re.search(r"I\s+refs:\s+([\d,]+)", ran.stderr).group(1).replace(",", ""))


def bench_cold_start(*, by_instructions: bool = False, keep: Path | None = None) -> dict[str, float]:
    starts = cold_starts(recorded_invocations(keep))
    for code in (BOTO3, "import app"):  # bytecode written before anything is timed
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=_quiet_environment())
    if by_instructions:
        bare = instructions("pass")  # the interpreter's own start, which the timings leave out too
        boto3 = instructions(BOTO3) - bare

        def measure(code: str) -> tuple[float, float]:
            counted = instructions(code) - bare
            return counted / 1e6, counted / boto3

        unit, how = "M instr", "instructions under valgrind"
    else:
        def measure(code: str) -> tuple[float, float]:
            took, ratio = paired_ratio(code)
            return took * 1000, ratio

        unit, how = "ms", f"median of {RUNS} fresh interpreters, each paired with one importing boto3 alone"
    print(f"\ncold start, as imports ({how}; goal ≤ {GOAL}× boto3):")
    amount, ratio = measure("import app")
    print(f"  import app (every function)             {amount:8.1f} {unit}   {ratio:.2f}×")
    ratios: dict[str, float] = {}
    for function, sets in starts.items():
        timed = sorted(((*measure(start.code), start) for start in sets), key=lambda t: t[1], reverse=True)
        amount, worst, start = timed[0]
        ratios[function] = worst
        mark = "" if worst <= GOAL else "   over the goal"
        print(f"  {function:38}  {amount:8.1f} {unit}   {worst:.2f}×{mark}")
        if len(timed) > 1:
            for variant_amount, ratio, start in timed:
                print(f"      {variant_amount:8.1f} {unit}   {ratio:.2f}×  {len(start.events):3} invocation(s), "
                      f"e.g. {_shown(start.events[0])}")
    return ratios


def _shown(event: str, width: int = 70) -> str:
    return event if len(event) <= width else event[:width - 1] + "…"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructions", action="store_true", help="count instructions under valgrind")
    parser.add_argument("--invocations", type=Path, help="keep the recorded invocations in this file (or reuse it)")
    arguments = parser.parse_args()
    bench_cold_start(by_instructions=arguments.instructions, keep=arguments.invocations)
