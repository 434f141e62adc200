"""`make bench`: figures, printed; compare within one run (the machine is small and noisy)."""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_pipeline() -> None:
    from datetime import datetime

    from chalicelib.adapters import aws
    from chalicelib.adapters.clock import SteppedClock
    from local.emulator import free_port
    from local.stack import BUCKET, LocalStack, StackOptions

    clock = SteppedClock(datetime.fromisoformat("2021-03-03T09:00:00+05:30"))
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=None, report=lambda _: None))
    stack.start()
    try:
        stack.load_examples(ROOT / "examples")
        dynamodb = aws.client("dynamodb")
        started = time.perf_counter()
        for n in range(200):
            dynamodb.put_item(TableName="prachar-local", Item={"pk": {"S": f"BENCH#{n}"}, "sk": {"S": "x"}})
        put_ms = (time.perf_counter() - started) / 200 * 1000

        count = 100
        started = time.perf_counter()
        for n in range(count):
            stack.upload(f"content/constituency/sahada/bench/{n}.yaml",
                         f"title: bench {n}\ntext: सहाड़ा {n}\nplatforms: [facebook, x]\n"
                         f"publish_at: 2021-03-03T09:30:00+05:30\n".encode())
        stack.settle()
        ingest_ms = (time.perf_counter() - started) / count * 1000

        clock.advance_to(datetime.fromisoformat("2021-03-03T09:31:00+05:30"))
        started = time.perf_counter()
        stack.settle()
        posts = count * 2
        publish_ms = (time.perf_counter() - started) / posts * 1000
    finally:
        stack.stop()
    print(f"\npipeline on the local stack (moto server), per item, {BUCKET}:")
    print(f"  bare DynamoDB PutItem round trip         {put_ms:6.1f} ms   (1.00×)")
    print(f"  upload → validated → 2 posts scheduled   {ingest_ms:6.1f} ms   ({ingest_ms / put_ms:.1f}× a PutItem)")
    print(f"  due → queued → published → recorded      {publish_ms:6.1f} ms   ({publish_ms / put_ms:.1f}× a PutItem)")


def bench_threads() -> None:
    from chalicelib.domain.x_text import _parse, split_thread, weighted_length

    sentence = "राज्य बजट 2021-22 में सहाड़ा विधानसभा क्षेत्र के लिए नई घोषणाएँ की गई हैं। "
    text = sentence * 25  # ~1,900 code points: a long Hindi post for X
    started = time.perf_counter()
    for _ in range(20):
        weighted_length(text + str(_))
    weigh_ms = (time.perf_counter() - started) / 20 * 1000
    started = time.perf_counter()
    for n in range(5):
        _parse.cache_clear()  # measure a cold split, not the cache
        parts = split_thread(text + str(n))
    split_ms = (time.perf_counter() - started) / 5 * 1000
    print(f"\nX text, {len(text):,} code points (twitter-text v3 weighting):")
    print(f"  weigh once                                {weigh_ms:6.1f} ms   (1.00×)")
    label = f"split into a {len(parts)}-part thread"
    print(f"  {label:<40}{split_ms:7.1f} ms   ({split_ms / weigh_ms:.0f}× one weighing)")


# Each benchmark in a process of its own: moto keeps one AWS world per process and the stacks' clients and
# wiring are module state, so one stack's leftovers must not meet the next's.
BENCHMARKS = (("bench.cold_start", "bench_cold_start"), ("bench.__main__", "bench_threads"),
              ("bench.__main__", "bench_pipeline"), ("bench.broadcast", "bench_broadcast"),
              ("bench.audience_import", "bench_audience_import"), ("bench.latency", "bench_latency"),
              ("bench.cost", "bench_cost"), ("bench.package_size", "bench_package_size"),
              ("bench.cli_start", "bench_cli_start"))


def main() -> int:
    import subprocess
    import sys

    failed = []
    for module, function in BENCHMARKS:
        done = subprocess.run([sys.executable, "-c", f"from {module} import {function}; {function}()"], cwd=ROOT)
        if done.returncode != 0:
            failed.append(f"{module}.{function}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
