"""The hostile-input corpus (tests/corpus/) through the pure decode + validate path the upload Lambdas run.

Every file must come out as the verdict tests/corpus/index.yaml gives it, with no exception but
InvalidContentError, and every rejection must say where, what and how to fix it — in a report that can be
written (JSON, UTF-8) to errors/<key>.json.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.domain.calendar import read_calendar
from chalicelib.domain.campaign import parse_campaign
from chalicelib.domain.manifest import MANIFEST_SUFFIXES, decode_document, parse_manifest, plan_posts
from chalicelib.domain.scope import split_scoped_key
from chalicelib.errors import InvalidContentError, Problem

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
INDEX: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
CAMPAIGN = parse_campaign(yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8")))
NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
MAX_BYTES = 256 * 1024  # the Lambdas' default (PRACHAR_MAX_UPLOAD_BYTES); a calendar may be 16 times that
CHECKED = ("manifests", "calendars", "configs")


def entries(area: str) -> list[Any]:
    return [pytest.param(name, entry, id=name) for name, entry in INDEX[area].items()]


def read(area: str, name: str) -> bytes:
    return (CORPUS / area / name).read_bytes()


def explained(problems: list[Problem]) -> None:
    """Each problem names a field, says what is wrong and how to fix it, and survives the trip to the bucket."""
    assert problems
    for problem in problems:
        assert problem.field and problem.message and problem.fix, problem
        json.dumps(problem.to_dict(), ensure_ascii=False).encode("utf-8")  # no lone surrogate may reach the report


def check_manifest(name: str, raw: bytes) -> list[Problem]:
    """What ingest.content runs before it touches storage: decode, validate, plan against the campaign."""
    key = f"content/constituency/sahada/2021-03/{name}"
    assert key.lower().endswith(MANIFEST_SUFFIXES)
    try:
        plan_posts(parse_manifest(decode_document(raw, key, MAX_BYTES)), split_scoped_key(key), CAMPAIGN, NOW)
    except InvalidContentError as exc:
        return exc.problems
    return []


def check_calendar(name: str, raw: bytes) -> tuple[int, dict[int | None, list[Problem]]]:
    """What ingest.calendar runs before it touches storage: the file, then each row as a manifest."""
    key = f"calendar/constituency/sahada/2021-03/{name}"
    sheet = read_calendar(raw, MAX_BYTES * 16)
    rejected: dict[int | None, list[Problem]] = defaultdict(list)
    for problem in sheet.problems:
        rejected[problem.row].append(problem)
    accepted = 0
    for row in sheet.rows:
        if row.problems:
            rejected[row.row] += row.problems
            continue
        try:
            plan_posts(parse_manifest(row.document), split_scoped_key(key), CAMPAIGN, NOW)
        except InvalidContentError as exc:  # as ingest does: the row's number on each of its problems
            rejected[row.row] += [Problem(p.field, p.message, p.fix, row=row.row) for p in exc.problems]
        else:
            accepted += 1
    return accepted, rejected


def test_the_corpus_is_large_and_every_file_is_indexed():
    for area in (*CHECKED, "webhooks"):
        on_disk = {path.name for path in (CORPUS / area).iterdir()}
        assert on_disk == set(INDEX[area]), f"{area}: regenerate with python tests/corpus/generate.py"
        assert all(entry.get("attacks") for entry in INDEX[area].values())
    assert sum(len(INDEX[area]) for area in (*CHECKED, "webhooks")) >= 60
    verdicts = [entry["verdict"] for area in CHECKED for entry in INDEX[area].values()]
    assert verdicts.count("accepted") >= 10, "valid-but-weird files keep the checks honest"


@pytest.mark.parametrize("name, entry", entries("manifests"))
def test_manifest(name, entry):
    problems = check_manifest(name, read("manifests", name))
    if entry["verdict"] == "accepted":
        assert problems == [], problems
        return
    explained(problems)
    assert entry["field"] in {p.field for p in problems}, problems


@pytest.mark.parametrize("name, entry", entries("calendars"))
def test_calendar(name, entry):
    raw = read("calendars", name)
    if entry["verdict"] == "rejected":
        with pytest.raises(InvalidContentError) as caught:
            read_calendar(raw, MAX_BYTES * 16)
        explained(caught.value.problems)
        assert entry["field"] in {p.field for p in caught.value.problems}, caught.value.problems
        return
    accepted, rejected = check_calendar(name, raw)
    assert accepted == entry["accepted"], dict(rejected)
    assert set(rejected) == set(entry["rejected"]), dict(rejected)
    for row, field in entry["rejected"].items():
        explained(rejected[row])
        assert all(p.row == row for p in rejected[row])
        assert field in {p.field for p in rejected[row]}, rejected[row]


@pytest.mark.parametrize("name, entry", entries("configs"))
def test_config(name, entry):
    try:
        parse_campaign(decode_document(read("configs", name), "config/campaign.yaml", MAX_BYTES))
    except InvalidContentError as exc:
        assert entry["verdict"] == "rejected", exc.problems
        explained(exc.problems)
        assert entry["field"] in {p.field for p in exc.problems}, exc.problems
    else:
        assert entry["verdict"] == "accepted"


@pytest.mark.parametrize("name, entry", entries("webhooks"))
def test_webhook_bodies_that_are_json_are_parsed_without_raising(name, entry):
    """The webhook route answers 400 to a body that is not JSON; whatever JSON it holds, parse must not raise."""
    from chalicelib.domain.whatsapp_webhook import parse

    try:
        envelope = json.loads(read("webhooks", name).decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError):
        return
    parse(envelope)


def test_a_calendar_with_a_broken_quote_withdraws_nothing():
    """The rows after an unreadable one are unknown: ingest must not take them as deleted."""
    sheet = read_calendar(read("calendars", "unterminated-quote.csv"), MAX_BYTES * 16)
    assert not sheet.complete
    assert [row.row for row in sheet.rows] == [2]
    assert read_calendar(read("calendars", "valid-excel-bom-crlf.csv"), MAX_BYTES * 16).complete


def test_many_problems_are_capped_with_a_count():
    problems = check_manifest("many.json", json.dumps({"title": "t", **{f"k{i}": 1 for i in range(500)}}).encode())
    assert len(problems) == 51
    assert problems[-1].message == "and 450 more problems like these"
