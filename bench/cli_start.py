"""How long `prachar` takes to answer, as a volunteer feels it: a fresh process each time, compared with a bare
Python start in the same run (the machine is small and noisy: ratios, medians of several runs)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7


def _median_seconds(arguments: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(arguments, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_cli_start() -> None:
    python = [sys.executable, "-c", "pass"]
    manifest = ROOT / "examples" / "content" / "constituency" / "sahada" / "2021-03"
    example = next(iter(sorted(manifest.glob("*.yaml"))), None)
    cases = [("python -c pass (the floor)", python),
             ("prachar --help", [sys.executable, "-m", "prachar_cli", "--help"]),
             ("prachar check --help", [sys.executable, "-m", "prachar_cli", "check", "--help"])]
    if example is not None:
        cases.append((f"prachar check {example.name} (offline, local config)",
                      [sys.executable, "-m", "prachar_cli", "check", "--config",
                       str(ROOT / "examples" / "config" / "campaign.yaml"), "--scope", "constituency/sahada",
                       str(example)]))
    floor = None
    print(f"\nthe prachar command, a fresh process each time (median of {RUNS}):")
    for name, arguments in cases:
        try:
            seconds = _median_seconds(arguments)
        except subprocess.CalledProcessError as exc:
            print(f"  {name:<58} failed with exit status {exc.returncode}")
            continue
        floor = floor or seconds
        print(f"  {name:<58} {seconds * 1000:6.0f} ms   ({seconds / floor:.1f}× the floor)")
