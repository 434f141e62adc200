"""Fuzzing every upload parser: whatever comes in, only a result or InvalidContentError comes out.

The parsers — decode_document (YAML and JSON), parse_manifest + plan_posts, read_calendar, parse_campaign —
are fed raw bytes, arbitrary text, text built from the tokens their formats are made of, mutations of valid
files, and structured documents with values of every type. Anything but InvalidContentError is a bug: in the
Lambda it would escape the handler, S3 would retry twice and drop the event, and the uploader would never hear.

Examples per test: 200 (`make test`), or PRACHAR_FUZZ_EXAMPLES=10000 for a chaos run; inputs are the same on
every run unless PRACHAR_FUZZ_SEED picks another seed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import COLUMNS, read_calendar
from chalicelib.domain.campaign import parse_campaign
from chalicelib.domain.manifest import decode_document, parse_manifest, plan_posts
from chalicelib.domain.scope import split_scoped_key
from chalicelib.errors import InvalidContentError, Problem

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN_TEXT = (ROOT / "tests/support/campaign.yaml").read_text("utf-8")
CAMPAIGN_DOCUMENT = yaml.safe_load(CAMPAIGN_TEXT)
CAMPAIGN = parse_campaign(CAMPAIGN_DOCUMENT)
MANIFEST_TEXT = (ROOT / "examples/content/constituency/sahada/2021-03/2021-03-03-budget.yaml").read_text("utf-8")
NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
MAX_BYTES = 256 * 1024
YAML_KEY = "content/constituency/sahada/2021-03/fuzz.yaml"
JSON_KEY = "content/constituency/sahada/2021-03/fuzz.json"
CALENDAR_KEY = "calendar/constituency/sahada/2021-03/fuzz.csv"

EXAMPLES = int(os.environ.get("PRACHAR_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("PRACHAR_FUZZ_SEED")
settings.register_profile(
    "prachar-fuzz", max_examples=EXAMPLES, deadline=None, derandomize=SEED is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def fuzz(test: Callable[..., None]) -> Callable[..., None]:
    """The profile, applied per test (loading it would change every other hypothesis test in the process)."""
    test = settings(settings.get_profile("prachar-fuzz"))(test)
    return seed(int(SEED))(test) if SEED is not None else test


def answered(call: Callable[[], Any]) -> Any:
    """Run a parser; a refusal must explain itself in words that survive the trip to errors/<key>.json."""
    try:
        return call()
    except InvalidContentError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem, Problem) and problem.field and problem.message and problem.fix
            json.dumps(problem.to_dict(), ensure_ascii=False).encode("utf-8")
        return None


def manifest_path(raw: bytes, key: str) -> None:
    """What ingest.content runs before storage: decode, validate, plan against the campaign."""
    plan_posts(parse_manifest(decode_document(raw, key, MAX_BYTES)), split_scoped_key(key), CAMPAIGN, NOW)


def calendar_path(raw: bytes) -> None:
    """What ingest.calendar runs before storage: the file, then every row (a row's refusal is that row's)."""
    sheet = read_calendar(raw, MAX_BYTES * 16)
    for row in sheet.rows:
        answered(lambda row=row: plan_posts(parse_manifest(row.document), split_scoped_key(CALENDAR_KEY), CAMPAIGN,
                                            NOW))


def config_path(raw: bytes) -> None:
    parse_campaign(decode_document(raw, "config/campaign.yaml", MAX_BYTES))


# ---- strategies -------------------------------------------------------------------------------------------------
# Pieces the formats are built from, and the values that broke them before.
YAML_TOKENS = [
    "title", "text", "platforms", "media", "publish_at", "overrides", "series", "link", "paid", "x", "whatsapp",
    "facebook", "twitter", "params", "template", ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "\n", "\r\n", "  ",
    "\t", "'", '"', "#", "|", ">", "? ", "&a ", "*a", "&b ", "*b", "<<: ", "<<", "!!python/object:os.system ",
    "!!binary ", "!!set ", "!!int ", "!!bool ", "!!timestamp ", "!!str ", "!!float ", "!Ref ", "!", "---", "...",
    "%YAML 1.1\n", "2021-02-30", "2021-03-05T09:00:00+05:30", "0000-01-01", "9999-12-31T23:59:59-05:00", "25:00",
    "+25:00", "0x", "0o", "0b", "1_000", "1:30:59", "9" * 45, ".nan", ".inf", "-.inf", "yes", "no", "~", "null",
    "\\", "\\e", "\\x00", "\\ud800", "\ufeff", "\u202e", "\x00", "\x85", "\u2028", "=", "=HYPERLINK(", "../",
    "C:\\", "https://", "सहाड़ा", "👨‍👩‍👧",
]
JSON_TOKENS = [
    "{", "}", "[", "]", ",", ":", '"', '"title"', '"text"', '"platforms"', '"publish_at"', '"media"', '"overrides"',
    '"x"', '"2021-02-30T09:00:00"', "NaN", "Infinity", "-Infinity", "1e400", "9" * 45, "-0", "0.5e-", "true",
    "null", "\\u0000", "\\ud800", "\\udfff", "\\u202e", "\\", " ", "\n", "\ufeff", "[" * 40, "{\"a\":" * 40,
]
CSV_CELLS = [
    "", " ", "2021-03-10T09:00", "2021-02-30T09:00", "9999-12-31T23:59:59-05:00", "44260.375", "1614916800",
    "facebook", "x;facebook", "twitter", "myspace", "=HYPERLINK(\"http://e\")", "+cmd|' /C calc'!A0", "@SUM(A1)",
    "-1", "सहाड़ा", "\"", "\"\"", "\"a,b\"", "a\"b", "\x00", "\x1b[31m", "\u202e", "\r\n", "\n", "\r", ",", ";",
    "\t", "../x.png", "poster.png", "C:\\x.png", "https://example.org", "x" * 300, "\ufeff",
]
TOKENS = st.sampled_from(YAML_TOKENS)
HEADERS = [",".join(COLUMNS), "publish_at,title", "title,text", "publish_at;platforms;title", "", "\ufeff" +
           ",".join(COLUMNS), ",".join(COLUMNS) + ",title", "PUBLISH_AT, Title ,text"]


def joined(tokens: list[str], most: int = 60) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(tokens), st.text(max_size=5)), max_size=most).map("".join)


def mutated(text: str) -> st.SearchStrategy[str]:
    """A valid file with tokens spliced in, or cut short, at random places."""
    @st.composite
    def build(draw: st.DrawFn) -> str:
        result = text
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(result)))
            if draw(st.booleans()):
                result = result[:at] + draw(TOKENS) + result[at:]
            else:
                result = result[:at] + result[at + draw(st.integers(0, 20)):]
        return result
    return build()


def scalars() -> st.SearchStrategy[Any]:
    zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-12)),
                             timezone(timedelta(hours=14))])
    return st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30, max_value=10**60),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(YAML_TOKENS),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones),
        st.dates(), st.binary(max_size=10),
    )


def values() -> st.SearchStrategy[Any]:
    return st.recursive(scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(YAML_TOKENS)),
                                                     inner, max_size=4)), max_leaves=12)


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                       st.sampled_from(YAML_TOKENS))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)


SCALARS = scalars()
VALUES = values()  # built once: building a recursive strategy per draw costs more than the parsers under test
JSON_VALUES = json_values()
FIELDS = ["title", "text", "link", "media", "platforms", "publish_at", "series", "overrides", "paid",
          "mcmc_certificate"]
manifests = st.one_of(
    st.dictionaries(st.sampled_from([*FIELDS, "colour", "twitter"]), VALUES, max_size=8),
    st.fixed_dictionaries({"title": st.one_of(st.just("t"), VALUES)}, optional={
        name: VALUES for name in FIELDS if name != "title"}),
    st.fixed_dictionaries({"title": st.just("t"), "text": st.just("x")}, optional={
        "platforms": st.lists(st.one_of(st.sampled_from(["facebook", "x", "whatsapp", "twitter"]), VALUES),
                              max_size=4),
        "overrides": st.dictionaries(st.one_of(st.sampled_from(["facebook", "x", "whatsapp", "twitter"]), SCALARS),
                                     st.one_of(VALUES, st.fixed_dictionaries({}, optional={
                                         "text": VALUES, "link": VALUES, "template": VALUES,
                                         "language": VALUES, "params": VALUES, "audience": VALUES})),
                                     max_size=3),
        "media": st.lists(st.one_of(st.sampled_from(["poster.png", "../x.png", "/x.png", "a\\b.png", "\u202e.png",
                                                     "https://e/x.png", "C:/x.png", "x.mp4"]), VALUES),
                          max_size=4),
        "publish_at": SCALARS, "link": SCALARS}),
)


def mutated_campaign() -> st.SearchStrategy[dict[str, Any]]:
    """The test campaign with one value anywhere in it replaced by anything."""
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        document = json.loads(json.dumps(CAMPAIGN_DOCUMENT, default=str))
        for _ in range(draw(st.integers(1, 3))):
            node: Any = document
            while True:
                keys = list(node) if isinstance(node, dict) else list(range(len(node)))
                if not keys:
                    break
                key = draw(st.sampled_from(keys))
                child = node[key]
                if isinstance(child, dict | list) and child and draw(st.booleans()):
                    node = child
                    continue
                node[key] = draw(VALUES)
                break
        return document
    return build()


# ---- YAML and JSON decoding --------------------------------------------------------------------------------------
@fuzz
@given(st.binary(max_size=400), st.sampled_from([YAML_KEY, JSON_KEY, "config/campaign.yaml"]))
def test_decode_document_takes_any_bytes(raw, key):
    answered(lambda: decode_document(raw, key, MAX_BYTES))


@fuzz
@given(st.text(max_size=300), st.sampled_from([YAML_KEY, JSON_KEY]))
def test_decode_document_takes_any_text(text, key):
    answered(lambda: decode_document(text.encode("utf-8", "surrogatepass"), key, MAX_BYTES))


@fuzz
@given(st.one_of(joined(YAML_TOKENS), mutated(MANIFEST_TEXT)))
def test_yaml_built_from_its_own_tokens_reaches_the_manifest_checks(text):
    answered(lambda: manifest_path(text.encode("utf-8", "surrogatepass"), YAML_KEY))


@fuzz
@given(st.one_of(joined(JSON_TOKENS), JSON_VALUES.map(json.dumps)))
def test_json_built_from_its_own_tokens_reaches_the_manifest_checks(text):
    answered(lambda: manifest_path(text.encode("utf-8", "surrogatepass"), JSON_KEY))


def test_every_tag_on_every_kind_of_node_is_answered():
    """Exhaustive where it is cheap: each YAML tag on each shape of value (fuzzing found !!int on a mapping)."""
    tags = ["", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!set", "!!omap",
            "!!pairs", "!!seq", "!!map", "!!merge", "!!value", "!!python/none", "!Ref", "!"]
    shapes = ["", "x", "_", "-", "1", "0x", "1:2", ".nan", "yes", "=", "<<", "2021-02-30", "2021-03-05T09:00:00",
              "[1]", "{a: 1}", "[[1]]", "{a: {b: 1}}", "[{a: 1}]", "'quoted'", '"\\x00"']
    for tag in tags:
        for shape in shapes:
            for text in (f"title: t\ntext: {tag} {shape}\n", f"{tag} {shape}\n", f"title: t\n{tag} {shape}: 1\n"):
                answered(lambda text=text: manifest_path(text.encode(), YAML_KEY))


# ---- the manifest model and its plan -----------------------------------------------------------------------------
@fuzz
@given(manifests)
def test_parse_manifest_and_plan_take_any_document(document):
    answered(lambda: plan_posts(parse_manifest(document), split_scoped_key(YAML_KEY), CAMPAIGN, NOW))


@fuzz
@given(st.dictionaries(st.sampled_from([*FIELDS, "colour"]), JSON_VALUES, max_size=8))
def test_a_json_manifest_round_trips_through_the_whole_path(document):
    answered(lambda: manifest_path(json.dumps(document).encode(), JSON_KEY))
    answered(lambda: manifest_path(yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogatepass"),
                                   YAML_KEY))


# ---- calendars ---------------------------------------------------------------------------------------------------
csv_rows = st.lists(st.lists(st.one_of(st.sampled_from(CSV_CELLS), st.text(max_size=8)), max_size=9), max_size=8)


@fuzz
@given(st.sampled_from(HEADERS), csv_rows, st.sampled_from(["\r\n", "\n", "\r"]), st.booleans())
def test_read_calendar_takes_any_rows(header, rows, newline, quote):
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if quote else value

    text = newline.join([header, *(",".join(cell(value) for value in row) for row in rows)])
    answered(lambda: calendar_path(text.encode("utf-8", "surrogatepass")))


@fuzz
@given(st.one_of(st.binary(max_size=400), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_read_calendar_takes_any_bytes(raw):
    answered(lambda: calendar_path(raw))


# ---- the campaign config -----------------------------------------------------------------------------------------
@fuzz
@given(mutated_campaign())
def test_campaign_validation_takes_any_value_anywhere(document):
    answered(lambda: parse_campaign(document))


@fuzz
@given(mutated(CAMPAIGN_TEXT))
def test_a_mangled_campaign_file_is_answered(text):
    answered(lambda: config_path(text.encode("utf-8", "surrogatepass")))


@fuzz
@given(st.dictionaries(st.sampled_from(["campaign", "timezone", "districts", "constituencies", "teams", "approval",
                                        "accounts", "whatsapp_templates", "daily_slots", "x"]), VALUES, max_size=8))
def test_campaign_validation_takes_any_document(document):
    answered(lambda: parse_campaign(document))


def test_the_fuzz_profile_is_as_configured():
    profile = settings.get_profile("prachar-fuzz")
    assert profile.max_examples == EXAMPLES and profile.deadline is None
