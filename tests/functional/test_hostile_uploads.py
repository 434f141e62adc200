"""Hostile uploads through the real S3 handlers: each one is answered in errors/<key>.json and the activity log.

A representative subset of tests/corpus/ (tests/unit/test_hostile_corpus.py runs all of it on the pure path):
what crashed ingest before — dates that do not exist, lists inside platforms, deep nesting, alias bombs, huge
numbers, bytes that are not UTF-8 — is now a problem in the report, the handler returns normally (so S3 has
nothing to retry), and a storage failure still raises (so S3 and Lambda do retry).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chalicelib.domain.post import PostStatus, content_id_for
from chalicelib.errors import PersistenceError

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
INDEX = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
FOLDER = "content/constituency/sahada/2021-03"
CALENDAR = "calendar/constituency/sahada/2021-03"

REJECTED_MANIFESTS = [
    "date-feb-30.yaml", "date-year-9999.yaml", "date-unix-seconds.yaml", "platforms-nested-list.yaml",
    "platforms-mapping-item.yaml", "deep-nesting-flow.yaml", "deep-nesting.json", "billion-laughs.yaml",
    "alias-self-reference.yaml", "huge-int.json", "huge-hex-int.yaml", "nan.json", "utf16-le-bom.yaml",
    "latin1.yaml", "binary-png.yaml", "nul-byte.yaml", "bidi-override-title.yaml", "control-escape-text.yaml",
    "python-object-apply.yaml", "duplicate-keys.yaml", "title-list.yaml", "media-traversal.yaml",
    "media-windows-backslash.yaml", "json-surrogate-key.json", "link-broken-ipv6.yaml",
]
ACCEPTED_MANIFESTS = ["valid-devanagari.yaml", "valid-bom-utf8.json", "valid-crlf.yaml",
                      "valid-formula-like-text.yaml", "valid-emoji-zwj-conjunct.yaml"]


def corpus(area: str, name: str) -> bytes:
    return (CORPUS / area / name).read_bytes()


def upload(world, client, key, body, handler="on_content_upload"):
    world.put(key, body)
    client.lambda_.invoke(handler, world.s3_event(key))


def activity(world, key=None):
    """The day's entries, newest first; of one key when given (entries of one moment have no order between them)."""
    return [e for e in world.container.store.activity_on(world.clock.now().date(), limit=1000)
            if key is None or e.key == key]


def statuses(world, key):
    _, posts = world.container.store.content_with_posts(content_id_for(key))
    return {p.account_id: p.status for p in posts}


# One world for many uploads: each file has its own key, so their answers cannot mix.
def test_hostile_manifests_are_answered_in_the_report_and_the_activity_log(active, client):
    for name in REJECTED_MANIFESTS:
        key = f"{FOLDER}/{name}"
        body = corpus("manifests", name)
        upload(active, client, key, body)
        report = active.error_report(key)
        assert report is not None and report["key"] == key, name
        assert INDEX["manifests"][name]["field"] in {p["field"] for p in report["problems"]}, (name, report)
        assert all(p["field"] and p["problem"] and p["fix"] for p in report["problems"]), name
        [entry] = activity(active, key)
        assert (entry.kind, entry.level) == ("upload.rejected", "error"), name
        assert entry.details["problems"] == report["problems"][:50], name
        assert active.read(key) == body, "the upload itself is never changed"
        assert statuses(active, key) == {}, name


def test_valid_but_weird_manifests_are_accepted(active, client):
    for name in ACCEPTED_MANIFESTS:
        key = f"{FOLDER}/{name}"
        upload(active, client, key, corpus("manifests", name))
        assert active.error_report(key) is None, name
        assert [e.kind for e in activity(active, key)] == ["upload.accepted"], name
        placed = active.container.store.content_with_posts(content_id_for(key))[1]
        assert placed, name
        for post in placed:  # due already (no time given): queued by the upload itself; else waiting for its time
            due_now = post.due_at <= active.clock.now()
            assert post.status is (PostStatus.QUEUED if due_now else PostStatus.SCHEDULED), name


def test_a_bad_manifest_after_a_good_one_keeps_the_good_one(active, client):
    key = f"{FOLDER}/budget.yaml"
    upload(active, client, key, corpus("manifests", "valid-devanagari.yaml"))
    upload(active, client, key, corpus("manifests", "platforms-nested-list.yaml"))
    assert active.error_report(key)["problems"][0]["field"] == "platforms[0]"
    assert set(statuses(active, key).values()) == {PostStatus.SCHEDULED}, "nothing valid already accepted is lost"


def test_a_calendar_row_that_crashed_ingest_is_that_rows_problem(active, client):
    for name, bad_row, field in [("huge-cell.csv", 2, "text"), ("nul-byte-in-title.csv", 2, "title"),
                                 ("date-feb-30.csv", 2, "publish_at"), ("bidi-title.csv", 2, "title"),
                                 ("formula-in-publish-at.csv", 2, "publish_at")]:
        key = f"{CALENDAR}/{name}"
        upload(active, client, key, corpus("calendars", name), handler="on_calendar_upload")
        report = active.error_report(key)
        assert {(p["row"], p["field"]) for p in report["problems"]} >= {(bad_row, field)}, name
        assert "the other rows went ahead" in report["summary"], name
        assert set(statuses(active, f"{key}#अच्छी पंक्ति").values()) == {PostStatus.SCHEDULED}, name
        [summary] = [e for e in activity(active, key) if e.kind == "calendar.processed"]
        assert summary.level == "warning" and f"rows {bad_row}" in summary.message, name


def test_formula_like_cells_are_posted_as_text(active, client):
    key = f"{CALENDAR}/valid-formula-cells.csv"
    upload(active, client, key, corpus("calendars", "valid-formula-cells.csv"), handler="on_calendar_upload")
    assert active.error_report(key) is None
    post = active.container.store.post(content_id_for(f"{key}#+91 98000 00000"), "fb-sahada")
    assert post.payload["text"] == "+cmd|' /C calc'!A0"


def test_an_unreadable_calendar_is_rejected_as_a_whole(active, client):
    for name in ["utf16-excel-unicode-text.csv", "semicolon-separated.csv", "binary-junk.csv", "too-many-rows.csv"]:
        key = f"{CALENDAR}/{name}"
        upload(active, client, key, corpus("calendars", name), handler="on_calendar_upload")
        assert active.error_report(key)["problems"][0]["field"] == "(file)", name
        assert [e.kind for e in activity(active, key)] == ["upload.rejected"], name


def test_a_broken_quote_withdraws_none_of_the_rows_it_hides(active, client):
    key = f"{CALENDAR}/week.csv"
    header = "publish_at,platforms,title,text,link,media,series"
    good = [header, "2021-03-10T09:00,facebook,एक,पाठ,,,", "2021-03-11T09:00,facebook,दो,पाठ,,,",
            "2021-03-12T09:00,facebook,तीन,पाठ,,,"]
    upload(active, client, key, "\n".join(good) + "\n", handler="on_calendar_upload")
    broken = [*good[:2], '2021-03-11T09:00,facebook,दो,"खुला उद्धरण,,,', good[3]]
    upload(active, client, key, "\n".join(broken) + "\n", handler="on_calendar_upload")
    report = active.error_report(key)
    assert [(p["row"], p["field"]) for p in report["problems"]] == [(3, "(row)")]
    for title in ("एक", "दो", "तीन"):
        assert statuses(active, f"{key}#{title}") == {"fb-sahada": PostStatus.SCHEDULED}, title
    upload(active, client, key, "\n".join(good[:2]) + "\n", handler="on_calendar_upload")
    assert statuses(active, f"{key}#तीन") == {"fb-sahada": PostStatus.WITHDRAWN}, "a complete file still withdraws"


def test_a_hostile_config_never_replaces_the_active_one(active, client):
    for name in ["poll-closes-feb-30.yaml", "billion-laughs.yaml", "deep-nesting.yaml", "python-tag.yaml",
                 "phone-list.yaml", "utf16.yaml"]:
        upload(active, client, "config/campaign.yaml", corpus("configs", name), handler="on_config_upload")
        assert active.container.campaigns.active().campaign == "test-bypolls", name
        report = active.error_report("config/campaign.yaml")
        assert INDEX["configs"][name]["field"] in {p["field"] for p in report["problems"]}, (name, report)
    kinds = [e.kind for e in activity(active, "config/campaign.yaml")]
    assert kinds.count("config.rejected") == 6 and kinds.count("config.activated") == 1


def test_an_exception_no_check_foresaw_is_still_answered(active, client, monkeypatch):
    def surprise(document):
        raise KeyError("surprise")

    monkeypatch.setattr("chalicelib.domain.manifest.parse_manifest", surprise)
    key = f"{FOLDER}/surprise.yaml"
    upload(active, client, key, corpus("manifests", "valid-devanagari.yaml"))
    [problem] = active.error_report(key)["problems"]
    assert problem["field"] == "(file)" and problem["problem"] == "the file could not be read: KeyError: 'surprise'"
    assert "ops team" in problem["fix"]
    assert [e.kind for e in activity(active, key)] == ["upload.rejected"]


def test_an_exception_in_one_calendar_row_leaves_the_others_going_ahead(active, client, monkeypatch):
    from chalicelib.domain import manifest

    real = manifest.parse_manifest

    def fails_on_row_two(document):
        if document["title"] == "एक":
            raise RecursionError("maximum recursion depth exceeded")
        return real(document)

    monkeypatch.setattr(manifest, "parse_manifest", fails_on_row_two)
    key = f"{CALENDAR}/surprise.csv"
    rows = ["publish_at,platforms,title,text,link,media,series", "2021-03-10T09:00,facebook,एक,पाठ,,,",
            "2021-03-11T09:00,facebook,दो,पाठ,,,"]
    upload(active, client, key, "\n".join(rows) + "\n", handler="on_calendar_upload")
    [problem] = active.error_report(key)["problems"]
    assert (problem["row"], problem["field"]) == (2, "(row)")
    assert problem["problem"].startswith("this row could not be read: RecursionError")
    assert statuses(active, f"{key}#दो") == {"fb-sahada": PostStatus.SCHEDULED}


def test_a_storage_failure_still_raises_so_s3_retries(active, client, monkeypatch):
    def unavailable(key):
        raise PersistenceError("S3 head_object failed")

    monkeypatch.setattr(active.container.bucket, "size_of", unavailable)
    key = f"{FOLDER}/with-media.yaml"
    active.put(key, b"title: t\ntext: x\nplatforms: [facebook]\nmedia: [poster.png]\n")
    with pytest.raises(PersistenceError):
        client.lambda_.invoke("on_content_upload", active.s3_event(key))
    assert active.error_report(key) is None, "not the upload's fault: no report, the retry will answer"
