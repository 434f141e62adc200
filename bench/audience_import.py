"""The audience import's throughput (the issue's goal: ≥ 5,000 rows/s): a million rows through the domain and the
real vault (in memory, no network), then a smaller file end to end on the local stack."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = b"phone,name,consent_source,consent_at,notice_version,language,booth\n"
ROWS_PER_CHUNK = 2000
FORMATS = ("{a} {b}", "+91 {a} {b}", "0{a}-{b}", "91{a}{b}")


def csv_chunks(rows: int) -> Iterator[bytes]:
    """The file, a chunk at a time. About 2 % each: no consent time, an invalid number, the previous row's number."""
    yield HEADER
    lines = []
    for n in range(1, rows + 1):
        source = n - 1 if n % 50 == 4 else n
        digits = f"98{source * 7919 % 10**8:08d}"  # 7919 is coprime to 10^8: distinct numbers
        phone = "12345" if n % 50 == 2 else FORMATS[n % 4].format(a=digits[:5], b=digits[5:])
        consent = "" if n % 50 == 1 else "2021-03-01T10:00:00+05:30"
        lines.append(f"{phone},मतदाता {n},missed call,{consent},v1,hi,{n % 300}\n")
        if len(lines) == ROWS_PER_CHUNK:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


class GeneratedBucket:
    """The bucket side of the import over csv_chunks: the file is made again as it is read, never held."""

    def __init__(self, rows: int) -> None:
        self.rows, self.reports = rows, {}

    def stream(self, key: str, etag: str, start: int) -> Iterator[bytes]:
        offset = 0
        for chunk in csv_chunks(self.rows):
            if offset + len(chunk) > start:
                yield chunk[max(start - offset, 0):]
            offset += len(chunk)

    def write_error_report(self, key: str, report: dict) -> None:
        self.reports[f"errors/{key}.json"] = report

    def clear_error_report(self, key: str) -> None:
        self.reports.pop(f"errors/{key}.json", None)

    def write_report(self, key: str, body: bytes, content_type: str) -> None:
        self.reports[key] = json.loads(body)


class StubKms:
    def generate_data_key(self, **_: str) -> dict:
        return {"Plaintext": b"d" * 32, "CiphertextBlob": b"wrapped-data-key"}

    def decrypt(self, **_: object) -> dict:
        return {"Plaintext": b"d" * 32}


class StubSecrets:
    def get_secret_value(self, **_: str) -> dict:
        return {"SecretString": "h" * 32}


def campaign():
    import yaml

    from chalicelib.domain.campaign import Campaign

    return Campaign.model_validate(yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8")))


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def bench_domain(rows: int) -> None:
    from chalicelib.adapters.clock import SteppedClock
    from chalicelib.adapters.contact_vault import ContactVault
    from chalicelib.adapters.memory import InMemoryStore
    from chalicelib.adapters.memory_audience import InMemoryAudience
    from chalicelib.domain.audience import check_header, check_row
    from chalicelib.domain.audience_file import rows as read_rows
    from chalicelib.services.activity import ActivityLog
    from chalicelib.services.audience_import import AudienceImport

    clock = SteppedClock(datetime.fromisoformat("2021-03-03T09:00:00+05:30"))
    plan = campaign()

    started = time.perf_counter()
    size = sum(len(chunk) for chunk in csv_chunks(rows))
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    names, now = None, clock.now()
    for row in read_rows(csv_chunks(rows)):
        if names is None:
            names, _ = check_header(row.cells)
        else:
            check_row(row.number, names, row.cells, now)
    check_s = time.perf_counter() - started

    rss_before = max_rss_mb()
    vault = ContactVault(StubKms(), StubSecrets(), "alias/bench", "bench/hash-key")
    audience = InMemoryAudience()
    service = AudienceImport(audience, vault, GeneratedBucket(rows), ActivityLog(InMemoryStore(), clock), clock,
                             lambda key, etag: None)
    started = time.perf_counter()
    outcome = service.run(plan, "audience/sahada/bench.csv", "e1", lambda: 900.0)
    import_s = time.perf_counter() - started
    rss_growth = max_rss_mb() - rss_before

    print(f"\naudience import, {rows:,} rows ({size / 1e6:.0f} MB CSV, generated in chunks), in-memory store, "
          "real vault (HMAC-SHA256 + AES-256-GCM, stub KMS):")
    print(f"  outcome {outcome.outcome}: " + ", ".join(f"{n:,} {k}" for k, n in sorted(outcome.counts.items())))
    print(f"  whole import            {import_s:7.1f} s   {rows / import_s:8,.0f} rows/s   (goal ≥ 5,000)")
    print(f"  read + check_row alone  {check_s:7.1f} s   {rows / check_s:8,.0f} rows/s   "
          f"({check_s / import_s:.0%} of the import)")
    print(f"  generating the CSV      {generate_s:7.1f} s   (inside both figures above)")
    print(f"  peak RSS growth         {rss_growth:7.0f} MB  (ru_maxrss delta over the import; "
          f"{len(audience._contacts):,} contacts kept in the dict)")


def bench_end_to_end(rows: int) -> None:
    from chalicelib.adapters import aws
    from chalicelib.adapters.clock import SteppedClock
    from chalicelib.domain.audience import SHARDS
    from local.emulator import free_port
    from local.stack import BUCKET, LocalStack, StackOptions

    clock = SteppedClock(datetime.fromisoformat("2021-03-03T09:00:00+05:30"))
    stack = LocalStack(StackOptions(clock=clock, emulator_port=free_port(), api_port=None, report=print))
    stack.start()
    try:
        stack.load_examples(ROOT / "examples", content=False)
        body = b"".join(csv_chunks(rows))
        started = time.perf_counter()
        stack.upload("audience/sahada/bench.csv", body)
        stack.settle(timeout=3600)  # the default 300 s is a failing handler's limit, not a big import's
        wall_s = time.perf_counter() - started
        report = json.loads(aws.client("s3").get_object(
            Bucket=BUCKET, Key="reports/2021-03-03/audience/sahada--bench.csv.json")["Body"].read())
        stored = sum(1 for shard in SHARDS for _ in stack.container.audience.contacts("sahada", shard))
    finally:
        stack.stop()
    print(f"\naudience import end to end on the local stack (moto server), {rows:,} rows:")
    print(f"  upload → imported       {wall_s:7.1f} s   {rows / wall_s:8,.0f} rows/s   "
          f"({report['status']}; {stored:,} contacts in the table)")


def bench_audience_import() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the import logs each activity entry at INFO
    bench_domain(int(os.environ.get("BENCH_IMPORT_ROWS", 1_000_000)))
    bench_end_to_end(int(os.environ.get("BENCH_IMPORT_E2E_ROWS", 50_000)))
