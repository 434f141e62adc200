"""Upload-to-publish on the local stack at 1× clock, as `make run` runs it (the event pump's loop, real time):

- "publish now" — a manifest with no time, for a scope that needs no sign-off: from the S3 PUT to the post's
  published record (S3 notification → on_content_upload → the publish queue → on_publish_message → the sandbox);
- timed — a post due at a minute: from its due time to its published record (the publishing clock's minute tick).

The goal (issue 10): p95 ≤ 5 s at 1× clock.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCOPE = "constituency/sahada"
UPLOADS = 20
TIMED = 6


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _published_at(stack: Any, content_id: str, account_id: str) -> bool:
    post = stack.container.store.post(content_id, account_id)
    return post is not None and str(post.status) == "published"


def measure() -> tuple[list[float], list[float]]:
    from chalicelib.adapters.clock import ScaledClock
    from chalicelib.domain.post import content_id_for
    from local.__main__ import clock_start
    from local.emulator import free_port
    from local.stack import LocalStack, StackOptions

    clock = ScaledClock(clock_start(), 1, time.time())
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=free_port(),
                                    report=lambda _line: None)).start()
    running = threading.Event()
    running.set()

    def pump() -> None:  # `make run`'s loop
        while running.is_set():
            if not stack.step():
                time.sleep(0.2)

    try:
        config = yaml.safe_load((EXAMPLES / "config" / "campaign.yaml").read_text())
        config["approval"] = {"constituency": "none", "district": "lead", "state": "coordinator"}
        stack.upload("config/campaign.yaml", yaml.safe_dump(config, allow_unicode=True).encode())
        stack.settle()
        worker = threading.Thread(target=pump, name="pump", daemon=True)
        worker.start()
        now_latencies = []
        for n in range(UPLOADS):
            key = f"content/{SCOPE}/latency/now-{n}.yaml"
            started = time.monotonic()
            stack.upload(key, f"title: अभी {n}\ntext: 'सहाड़ा में अभी {n}'\nplatforms: [facebook]\n".encode())
            while not _published_at(stack, content_id_for(key), "fb-sahada"):
                time.sleep(0.05)
            now_latencies.append(time.monotonic() - started)
        # Timed posts, due at the next whole minute but one (uploaded well before it): the clock run of that minute
        # queues them together.
        due = (clock.now() + timedelta(minutes=2)).replace(second=0, microsecond=0)
        waiting = {}
        for n in range(TIMED):
            key = f"content/{SCOPE}/latency/timed-{n}.yaml"
            stack.upload(key, f"title: समय {n}\ntext: 'सहाड़ा में समय {n}'\nplatforms: [facebook]\n"
                              f"publish_at: {due.isoformat()}\n".encode())
            waiting[content_id_for(key)] = key
        timed_latencies = []
        while waiting:
            for content_id in [c for c in waiting if _published_at(stack, c, "fb-sahada")]:
                timed_latencies.append((clock.now() - due).total_seconds())
                del waiting[content_id]
            time.sleep(0.05)
    finally:
        running.clear()
        stack.stop()
    return now_latencies, timed_latencies


def bench_latency() -> None:
    now, timed = measure()
    print(f"\nupload to publish on the local stack at 1× clock (goal p95 ≤ 5 s), Facebook, {SCOPE}:")
    print(f"  publish now: S3 PUT → published, {len(now)} uploads   p50 {statistics.median(now):5.2f} s   "
          f"p95 {_percentile(now, 0.95):5.2f} s   max {max(now):5.2f} s")
    print(f"  timed: due → published, {len(timed)} posts             p50 {statistics.median(timed):5.2f} s   "
          f"p95 {_percentile(timed, 0.95):5.2f} s   max {max(timed):5.2f} s")


if __name__ == "__main__":
    bench_latency()
