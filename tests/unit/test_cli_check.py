"""`prachar check`: files judged offline with the Lambdas' own rules, shown to a person or as JSON for a hook.

Through click's CliRunner, against tests/support/campaign.yaml (sahada: poll closes 2021-04-17 18:00 IST, 48 hours
of silence before it), at a fixed moment (--at). tests/functional/test_cli_check_matches_lambda.py holds the verdicts
to the Lambdas' over the whole hostile-input corpus.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from chalicelib.domain.x_text import MAX_WEIGHT, weighted_length
from prachar_cli.files import FileKindError, classify, key_for, missing_media, plan_files, upload_plan
from prachar_cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "tests" / "support" / "campaign.yaml"
AT = "2021-03-03T09:00:00+05:30"
SCOPE = ["--scope", "constituency/sahada", "--folder", "2021-03"]
MB = 1024 * 1024
CALENDAR_HEADER = "publish_at,platforms,title,text,link,media,series"
AUDIENCE_HEADER = "phone,name,consent_source,consent_at,notice_version,language,booth"


@pytest.fixture(autouse=True)
def nothing_saved(tmp_path, monkeypatch):
    """No sign-in and no saved campaign, whatever the machine running the tests has."""
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "prachar-home"))
    monkeypatch.delenv("PRACHAR_LANG", raising=False)


def run(*args: str, lang: str = "en") -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", lang, "check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def check(*paths: Path, options: tuple[str, ...] = (), lang: str = "en") -> tuple[int, str]:
    """The human output, its white space folded (rich wraps lines at the terminal's width)."""
    code, output = run("--config", str(CAMPAIGN), *SCOPE, "--at", AT, *options, *map(str, paths), lang=lang)
    return code, " ".join(output.split())


def check_json(*paths: Path, options: tuple[str, ...] = ()) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, ["check", "--json", "--config", str(CAMPAIGN), *SCOPE, "--at", AT, *options,
                                      *map(str, paths)])
    assert result.exit_code in (0, 1), (result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sized(path: Path, size: int) -> Path:
    with path.open("wb") as handle:  # sparse: only its size is read
        handle.truncate(size)
    return path


def test_a_good_manifest_passes_with_one_post_per_account(tmp_path):
    post = write(tmp_path / "post.yaml", "title: बजट घोषणा\ntext: सहाड़ा में नया महाविद्यालय।\n"
                                         "publish_at: 2021-03-05T09:00:00+05:30\n")
    code, out = check(post)
    assert code == 0
    assert "✓ manifest" in out and "content/constituency/sahada/2021-03/post.yaml" in out
    for platform, account in (("facebook", "fb-sahada"), ("x", "x-sahada"), ("whatsapp", "wa-sahada")):
        assert f"{platform} {account} 2021-03-05 09:00 IST" in out
    assert "1 file(s): 1 pass, 0 with problems" in out


def test_a_long_text_is_previewed_as_the_x_thread_with_each_parts_weight(tmp_path):
    sentence = "सहाड़ा विधानसभा क्षेत्र के लिए राज्य बजट में नया महाविद्यालय घोषित हुआ है। "
    post = write(tmp_path / "thread.yaml", yaml.safe_dump({"title": "थ्रेड", "text": sentence * 12,
                                                           "platforms": ["x"], "link": "https://example.org/b"},
                                                          allow_unicode=True))
    code, [verdict] = check_json(post)
    assert code == 0 and verdict["ok"]
    [x_post] = verdict["posts"]
    thread = x_post["thread"]
    assert len(thread) > 1
    for index, part in enumerate(thread, start=1):
        assert part["text"].endswith(f"({index}/{len(thread)})")
        assert part["weight"] == weighted_length(part["text"]) <= MAX_WEIGHT == part["limit"]
    assert thread[-1]["text"].count("https://example.org/b") == 1, "the link goes at the end of the text"
    code, out = check(post)
    assert f"a thread of {len(thread)} posts" in out
    assert f"1/{len(thread)} {thread[0]['weight']}/280" in out


def test_media_over_a_platforms_limit_is_refused_for_that_platform(tmp_path):
    sized(tmp_path / "poster.png", 6 * MB)  # Facebook takes 10 MB; X and WhatsApp 5 MB
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया पोस्टर\nmedia: [poster.png]\n")
    code, [verdict] = check_json(post)
    assert code == 1
    assert verdict["problems"] == [
        {"field": "media[0]", "problem": "poster.png is 6.0 MB; whatsapp takes at most 5 MB",
         "fix": "compress it or send a smaller file"},
        {"field": "media[0]", "problem": "poster.png is 6.0 MB; x takes at most 5 MB",
         "fix": "compress it or send a smaller file"}]
    code, out = check(post)
    assert code == 1 and "✗ manifest" in out and "whatsapp takes at most 5 MB" in out


def test_media_within_the_limits_are_shown_per_platform(tmp_path):
    (tmp_path / "images").mkdir()
    sized(tmp_path / "images" / "poster.png", 2 * MB)
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया पोस्टर\nmedia: [images/poster.png]\n")
    code, [verdict] = check_json(post)
    assert code == 0
    assert verdict["media"] == [{"key": "content/constituency/sahada/2021-03/images/poster.png",
                                 "content_type": "image/png", "bytes": 2 * MB,
                                 "limits": {"facebook": 10 * MB, "whatsapp": 5 * MB, "x": 5 * MB}}]
    _, out = check(post)
    assert "facebook 2.0 MB / 10.0 MB ✓" in out and "whatsapp 2.0 MB / 5.0 MB ✓" in out


def test_missing_media_is_the_systems_problem_and_the_file_was_looked_for_here_too(tmp_path):
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया पोस्टर\nmedia: [poster.jpg]\n")
    code, [verdict] = check_json(post)
    assert code == 1
    key = "content/constituency/sahada/2021-03/poster.jpg"
    assert verdict["problems"] == [{"field": "media[0]", "problem": f"{key} is not in the bucket",
                                    "fix": "upload the media file first, then upload the manifest again"}]
    assert verdict["missing_media"] == [{"key": key, "looked_for": str(tmp_path / "poster.jpg")}]
    _, out = check(post)
    assert "not next to the file here either" in out


def test_a_post_due_in_the_election_silence_is_accepted_with_a_warning(tmp_path):
    post = write(tmp_path / "rally.yaml", "title: रैली\ntext: कल की रैली\nplatforms: [facebook]\n"
                                          "publish_at: 2021-04-16T10:00:00+05:30\n")
    code, [verdict] = check_json(post)
    assert code == 0 and verdict["ok"], "a warning does not fail the check"
    [warning] = verdict["warnings"]
    assert warning.startswith("for fb-sahada at 2021-04-16 10:00 IST: it will be held — election silence in सहाड़ा")
    _, out = check(post)
    assert "⚠ for fb-sahada at 2021-04-16 10:00 IST: it will be held" in out


def test_a_calendar_with_one_bad_row_fails_naming_the_row_and_the_good_rows_go_ahead(tmp_path):
    calendar = write(tmp_path / "week.csv", "\n".join([
        CALENDAR_HEADER,
        "2021-03-10T09:00,facebook;x,सोमवार,पहला दिन,,,",
        "2021-02-30T09:00,facebook,मंगलवार,दूसरा दिन,,,",
        "2021-03-12T09:00,facebook,बुधवार,तीसरा दिन,,,"]) + "\n")
    code, [verdict] = check_json(calendar)
    assert code == 1 and not verdict["ok"]
    assert verdict["key"] == "calendar/constituency/sahada/2021-03/week.csv"
    assert verdict["accepted_rows"] == 2
    assert [(p["row"], p["field"]) for p in verdict["problems"]] == [(3, "publish_at")]
    assert {(p["row"], p["account"]) for p in verdict["posts"]} == {(2, "fb-sahada"), (2, "x-sahada"),
                                                                      (4, "fb-sahada")}
    _, out = check(calendar)
    assert "2 row(s) go ahead, 1 refused" in out and "row 3 · publish_at:" in out


def test_an_audience_file_imports_the_rows_with_consent_and_refuses_the_others_with_masked_numbers(tmp_path):
    contacts = write(tmp_path / "march.csv", "\n".join([
        AUDIENCE_HEADER,
        "98111 22201,सीता देवी,missed call 2021-03,2021-03-01T10:30:00+05:30,v1,hi,112",
        "98111 22202,राम,,2021-03-01,v1,hi,112",
        "98111 22203,खरीदी सूची,purchased list,2021-03-01,v1,hi,",
        "12345,कोई,form,2021-03-01,v1,hi,",
        "+91 98111 22201,सीता देवी,missed call,2021-03-02,v1,hi,112"]) + "\n")
    code, [verdict] = check_json(contacts)
    assert code == 1
    assert verdict["kind"] == "audience" and verdict["key"] == "audience/sahada/2021-03/march.csv"
    assert verdict["accepted_rows"] == 1 and verdict["merged"] == 1, "the same number twice is one person"
    assert verdict["refused"] == [{"row": 3, "reason": "no_consent"}, {"row": 4, "reason": "not_consent"},
                                  {"row": 5, "reason": "invalid_number"}]
    assert [(p["row"], p["field"]) for p in verdict["problems"]] == [(3, "consent_source"), (4, "consent_source"),
                                                                     (5, "phone")]
    assert verdict["problems"][0]["problem"].startswith("+91XXXXXX2202: consent_source is empty")
    _, out = check(contacts)
    assert "1 contact(s) would be imported, 3 row(s) refused" in out
    assert "+91XXXXXX2201" in out
    assert not any(digits in out for digits in ("22201", "22202", "22203")), "no number in the clear"


def test_an_audience_file_needs_a_constituency_scope(tmp_path):
    contacts = write(tmp_path / "march.csv", AUDIENCE_HEADER + "\n")
    code, output = run("--config", str(CAMPAIGN), "--scope", "district/bhilwara", "--at", AT, str(contacts))
    assert code == 2 and "--scope constituency/<id>" in output


def test_the_json_document_is_one_list_of_verdicts(tmp_path):
    good = write(tmp_path / "good.yaml", "title: ठीक\ntext: ठीक है\npublish_at: 2021-03-05T09:00:00+05:30\n")
    bad = write(tmp_path / "bad.json", '{"title": "t", "text": "x", "colour": "red"}')
    code, verdicts = check_json(good, bad)
    assert code == 1
    assert [set(v) >= {"path", "kind", "key", "ok", "problems", "accepted_rows", "posts", "warnings"}
            for v in verdicts] == [True, True]
    first, second = verdicts
    assert (first["path"], first["kind"], first["ok"], first["problems"], first["accepted_rows"]) == (
        str(good), "manifest", True, [], None)
    assert {p["account"] for p in first["posts"]} == {"fb-sahada", "x-sahada", "wa-sahada"}
    assert first["posts"][0]["due_at"] == "2021-03-05T03:30:00Z"
    assert first["posts"][0]["due_at_ist"] == "2021-03-05 09:00 IST"
    assert second["problems"] == [{"field": "colour", "problem": "Extra inputs are not permitted",
                                   "fix": "remove it, or check its spelling against the documented fields"}]


def test_a_series_item_without_a_time_takes_the_next_daily_slot_from_now(tmp_path):
    first = write(tmp_path / "one.yaml", "title: विचार एक\ntext: एक\nseries: vichar\nplatforms: [facebook]\n")
    second = write(tmp_path / "two.yaml", "title: विचार दो\ntext: दो\nseries: vichar\nplatforms: [facebook]\n")
    code, verdicts = check_json(first, second)
    assert code == 0
    assert [(v["posts"][0]["due_at_ist"], v["posts"][0]["slot_estimated"]) for v in verdicts] == [
        ("2021-03-03 09:00 IST", True), ("2021-03-04 09:00 IST", True)], "one a day, in the order given"
    _, out = check(first)
    assert "the system gives the next free one, which may be later" in out


def test_no_campaign_to_check_against_is_a_usage_error(tmp_path):
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\n")
    code, output = run(*SCOPE, str(post))
    assert code == 2
    assert "no campaign to check against: sign in (prachar login) or give --config config/campaign.yaml" in " ".join(
        output.split())
    code, output = run(*SCOPE, str(post), lang="hi")
    assert code == 2 and "जाँचने के लिए कोई कैंपेन नहीं" in output


def test_a_campaign_config_alone_needs_no_campaign(tmp_path):
    code, output = run("--as", "config", str(ROOT / "tests" / "corpus" / "configs" / "poll-closes-feb-30.yaml"))
    output = " ".join(output.split())
    assert code == 1 and "✗ campaign config" in output and "→ config/campaign.yaml" in output


def test_a_bad_config_to_check_against_is_reported_as_such(tmp_path):
    config = write(tmp_path / "campaign.yaml", "campaign: x\ndistricts: [1, 2\n")
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\n")
    code, output = run("--config", str(config), *SCOPE, str(post))
    assert code == 1
    assert "The campaign config given with --config has problems" in " ".join(output.split())
    assert "not valid YAML" in output


def test_usage_errors_exit_2(tmp_path):
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\n")
    notes = write(tmp_path / "notes.txt", "hello")
    assert run("--config", str(CAMPAIGN), *SCOPE, "--at", "next tuesday", str(post))[0] == 2
    assert run("--config", str(CAMPAIGN), *SCOPE, str(notes))[0] == 2
    assert run("--config", str(CAMPAIGN), str(post))[0] == 2, "no scope: neither --scope nor a sign-in"
    assert run("--config", str(CAMPAIGN), *SCOPE, str(tmp_path / "absent.yaml"))[0] == 2


def test_hindi_chrome_with_the_systems_own_words_for_problems(tmp_path):
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\nmedia: [poster.jpg]\n")
    code, out = check(post, lang="hi")
    assert code == 1
    assert "मैनिफ़ेस्ट" in out and "1 समस्याएँ:" in out and "सुधार:" in out
    assert "is not in the bucket" in out, "problems are the system's words, as errors/<key>.json holds them"
    assert "1 फ़ाइलें: 0 ठीक, 1 में समस्याएँ" in out


def test_an_exception_no_check_foresaw_is_the_files_problem_as_ingest_words_it(tmp_path, monkeypatch):
    def surprise(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("chalicelib.domain.manifest.parse_manifest", surprise)
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\n")
    calendar = write(tmp_path / "week.csv", CALENDAR_HEADER + "\n2021-03-10T09:00,facebook,एक,पाठ,,,\n")
    code, verdicts = check_json(post, calendar)
    assert code == 1
    assert verdicts[0]["problems"] == [{
        "field": "(file)", "problem": "the file could not be read: KeyError: 'surprise'",
        "fix": "check it against the documented format (README: Uploading content) and upload it again; if it looks "
               "right, tell the campaign's ops team, with this report"}]
    assert [(p["field"], p["row"]) for p in verdicts[1]["problems"]] == [("(row)", 2)]
    assert verdicts[1]["problems"][0]["problem"] == "this row could not be read: KeyError: 'surprise'"


def test_a_saved_campaign_gives_the_scope_the_clock_and_the_upload_limit(tmp_path, monkeypatch):
    from chalicelib.domain.campaign import parse_campaign
    from prachar_cli import campaign_cache

    document = parse_campaign(yaml.safe_load(CAMPAIGN.read_text("utf-8"))).model_dump(mode="json")
    for team in document["teams"]:
        team["members"] = [{k: v for k, v in m.items() if k not in ("phone", "email", "principal")}
                           for m in team["members"]]
    from datetime import UTC, datetime

    saved = campaign_cache.CachedCampaign(
        document=document, version="v1", fetched_at=datetime.now(UTC),
        clock_offset=datetime(2021, 4, 16, 4, 30, tzinfo=UTC) - datetime.now(UTC) + timedelta(seconds=30),
        max_upload_bytes=100, team_scope="constituency/sahada")
    monkeypatch.setattr(campaign_cache, "refresh_quietly", lambda *a, **k: saved)
    monkeypatch.setattr(campaign_cache, "cached", lambda: saved)
    post = write(tmp_path / "post.yaml", "title: अभी\ntext: अभी की पोस्ट\nplatforms: [facebook]\n")
    result = CliRunner().invoke(cli, ["check", "--json", str(post)])
    [verdict] = json.loads(result.stdout)
    assert verdict["key"] == "content/constituency/sahada/post.yaml", "the team's scope"
    assert verdict["posts"][0]["due_at_ist"].startswith("2021-04-16 10:0"), "the system's clock"
    assert verdict["warnings"] and "it will be held" in verdict["warnings"][0]
    shown = " ".join(CliRunner().invoke(cli, ["--lang", "en", "check", str(post)]).output.split())
    assert "Checked against: the campaign as fetched at" in shown and "(the system's clock)" in shown
    big = write(tmp_path / "big.yaml", "title: बड़ी\ntext: " + "क" * 200 + "\n")
    result = CliRunner().invoke(cli, ["check", "--json", str(big)])
    assert json.loads(result.stdout)[0]["problems"][0]["problem"].endswith("over the 100-byte limit")


# ---- files.py: what `prachar upload` shares -------------------------------------------------------------------------
def test_files_are_classified_by_name_and_a_csv_by_its_header(tmp_path):
    assert classify(tmp_path / "post.YAML") == "manifest"
    assert classify(tmp_path / "x.json") == "manifest"
    assert classify(tmp_path / "campaign.yaml") == "config"
    assert classify(tmp_path / "poster.JPG") == "media"
    assert classify(write(tmp_path / "week.csv", CALENDAR_HEADER + "\n")) == "calendar"
    assert classify(write(tmp_path / "people.csv", "\ufeffPhone, Name ,consent_source\n")) == "audience"
    assert classify(tmp_path / "week.xlsx") == "calendar", "the calendar check says: save it as CSV"
    assert classify(tmp_path / "anything.txt", "manifest") == "manifest"
    assert classify(tmp_path / "poster.png", "calendar") == "media", "--as is how to read what is not media"
    with pytest.raises(FileKindError):
        classify(tmp_path / "notes.txt")


def test_keys_are_made_under_the_scope_and_folder():
    assert key_for("a/post.yaml", "manifest", "constituency/sahada", "2021-03/") == \
        "content/constituency/sahada/2021-03/post.yaml"
    assert key_for("week.csv", "calendar", "state") == "calendar/state/week.csv"
    assert key_for("p.csv", "audience", "constituency/sahada", "march") == "audience/sahada/march/p.csv"
    assert key_for("anything.yaml", "config", "") == "config/campaign.yaml"
    with pytest.raises(FileKindError):
        key_for("p.csv", "audience", "district/bhilwara")
    with pytest.raises(FileKindError):
        key_for("post.yaml", "manifest", "")


def test_the_upload_plan_puts_media_first_and_names_the_missing_ones(tmp_path):
    sized(tmp_path / "poster.png", 10)
    (tmp_path / "week").mkdir()
    sized(tmp_path / "week" / "day1.jpg", 10)
    post = write(tmp_path / "post.yaml", "title: t\ntext: x\nmedia: [poster.png, video.mp4]\n")
    calendar = write(tmp_path / "week" / "week.csv", CALENDAR_HEADER + "\n2021-03-10T09:00,facebook,एक,पाठ,,"
                                                    "day1.jpg;../poster.png,\n")
    plan = plan_files([post, calendar], "constituency/sahada", "2021-03")
    assert [(f.kind, f.key) for f in plan.files] == [
        ("media", "content/constituency/sahada/2021-03/poster.png"),
        ("media", "calendar/constituency/sahada/2021-03/day1.jpg"),
        ("media", "calendar/constituency/sahada/poster.png"),
        ("manifest", "content/constituency/sahada/2021-03/post.yaml"),
        ("calendar", "calendar/constituency/sahada/2021-03/week.csv")]
    assert plan.files[2].path == tmp_path / "poster.png", "a calendar's media resolve under calendar/<scope>/"
    assert [(m.reference, m.key, m.expected_at) for m in plan.missing] == [
        ("video.mp4", "content/constituency/sahada/2021-03/video.mp4", tmp_path / "video.mp4")]
    assert upload_plan([post, calendar], "constituency/sahada", "2021-03") == plan.files
    assert missing_media([post, calendar], "constituency/sahada", "2021-03") == plan.missing


# ---- review 16: what the check and the upload must agree on ----------------------------------------------------------
CONTACT = "+91 98111 00001,सीता,missed call 2021-03,2021-03-01T10:30:00+05:30,v1,hi\n"


@pytest.mark.parametrize("body", [
    "title," + AUDIENCE_HEADER.replace(",booth", "") + "\nश्रीमती," + CONTACT,  # a title column: still contacts
    CONTACT,                                                                   # saved without its header row
    "name;consent_source;consent_at\nसीता;form;2021-03-01\n",                  # audience columns, semicolons
    "\ufeffसीता,98111 00001\n",                                                # a number in the first row
], ids=["title-column", "no-header", "audience-columns", "number-first-row"])
def test_a_csv_of_contacts_is_an_audience_file_by_its_content(tmp_path, body):
    assert classify(write(tmp_path / "people.csv", body)) == "audience"


def test_a_utf16_contacts_file_is_an_audience_file_too(tmp_path):
    people = tmp_path / "people.csv"
    people.write_bytes(("phone\tname\n" + "98111 00001\tसीता\n").encode("utf-16"))
    assert classify(people) == "audience"


@pytest.mark.parametrize("body", ["", "\ufeff", "publish_at;platforms;title;text\n", "PK\x03\x04junk"],
                         ids=["empty", "bom-only", "semicolons", "xlsx-saved-as-csv"])
def test_a_csv_that_is_no_table_of_contacts_is_left_to_the_calendar_check(tmp_path, body):
    assert classify(write(tmp_path / "week.csv", body)) == "calendar"


def test_a_csv_that_is_neither_a_calendar_nor_contacts_is_refused_and_asks_for_as(tmp_path):
    odd = write(tmp_path / "odd.csv", "naam,mobile\nसीता,x\n")
    with pytest.raises(FileKindError, match="--as calendar or --as audience"):
        classify(odd)
    assert classify(odd, "calendar") == "calendar"
    code, output = run("--config", str(CAMPAIGN), *SCOPE, "--at", AT, str(odd))
    assert code == 2 and "--as calendar or --as audience" in " ".join(output.split())


def test_contacts_are_never_read_as_another_kind_even_with_as(tmp_path):
    contacts = write(tmp_path / "contacts.csv", CONTACT)
    with pytest.raises(FileKindError, match="--as audience"):
        classify(contacts, "calendar")
    assert classify(contacts, "audience") == "audience"
    with pytest.raises(FileKindError):
        plan_files([contacts], "constituency/sahada", as_kind="calendar")


def test_as_a_kind_the_name_contradicts_is_refused_by_the_upload_plan(tmp_path):
    post = write(tmp_path / "post.txt", "title: t\ntext: x\n")
    week = write(tmp_path / "week.txt", CALENDAR_HEADER + "\n")
    with pytest.raises(FileKindError, match="rename it to post.yaml"):
        plan_files([post], "constituency/sahada", as_kind="manifest")
    with pytest.raises(FileKindError, match="name it week.csv"):
        plan_files([week], "constituency/sahada", as_kind="calendar")
    with pytest.raises(FileKindError, match="campaign.yaml"):
        plan_files([post], "state", as_kind="config")
    code, verdicts = check_json(week, options=("--as", "calendar"))
    assert code == 1 and verdicts[0]["problems"][0]["problem"] == "week.txt is not a CSV calendar"
    contacts = write(tmp_path / "people.txt", AUDIENCE_HEADER + "\n")
    code, verdicts = check_json(contacts, options=("--as", "audience"))
    assert code == 1 and "does not end in .csv" in verdicts[0]["problems"][0]["problem"]


def test_a_name_s3_cannot_hold_is_the_files_problem_to_rename(tmp_path):
    from prachar_cli.files import BadNameError

    name = os.fsdecode(b"caf\xe9.yaml")
    with pytest.raises(BadNameError, match="rename the file"):
        key_for(name, "manifest", "constituency/sahada")
    with pytest.raises(BadNameError, match="--folder"):
        key_for("post.yaml", "manifest", "constituency/sahada", os.fsdecode(b"m\xe4rz"))
    with pytest.raises(BadNameError, match="1024"):
        key_for("p" * 1100 + ".yaml", "manifest", "state")
    assert key_for(name, "config", "") == "config/campaign.yaml", "the config's key is not its name"


def test_two_files_for_one_key_are_refused_naming_both_and_the_key(tmp_path):
    from prachar_cli.files import KeyClashError

    for day in ("mon", "tue"):
        write(tmp_path / day / "post.yaml", f"title: {day}\ntext: x\nmedia: [poster.png]\n")
        write(tmp_path / day / "poster.png", day)
    with pytest.raises(KeyClashError) as refused:
        plan_files([tmp_path / "mon" / "post.yaml", tmp_path / "tue" / "post.yaml"], "constituency/sahada")
    assert [clash.key for clash in refused.value.clashes] == ["content/constituency/sahada/post.yaml",
                                                              "content/constituency/sahada/poster.png"]
    assert str(tmp_path / "mon" / "post.yaml") in str(refused.value)
    assert str(tmp_path / "tue" / "post.yaml") in str(refused.value)
    # A poster named on the command line besides the one the manifest points at: refused too …
    write(tmp_path / "shared" / "poster.png", "other")
    with pytest.raises(KeyClashError):
        plan_files([tmp_path / "shared" / "poster.png", tmp_path / "mon" / "post.yaml"], "constituency/sahada")
    # … unless it is the same bytes: then the file the reference points at is the one uploaded.
    write(tmp_path / "shared" / "poster.png", "mon")
    plan = plan_files([tmp_path / "shared" / "poster.png", tmp_path / "mon" / "post.yaml"], "constituency/sahada")
    assert [(f.key, f.path) for f in plan.files] == [
        ("content/constituency/sahada/poster.png", tmp_path / "mon" / "poster.png"),
        ("content/constituency/sahada/post.yaml", tmp_path / "mon" / "post.yaml")]
    # The same file given twice is one upload.
    post = tmp_path / "mon" / "post.yaml"
    assert len(plan_files([post, post], "constituency/sahada").files) == 2


def test_configs_may_be_checked_side_by_side_but_not_uploaded_together(tmp_path):
    from prachar_cli.files import KeyClashError

    configs = ROOT / "tests" / "corpus" / "configs"
    first, second = configs / "empty.yaml", configs / "list-at-top.yaml"
    code, verdicts = check_json(first, second, options=("--as", "config"))
    assert all("would both be uploaded" not in json.dumps(v["problems"]) for v in verdicts)
    with pytest.raises(KeyClashError):
        plan_files([first, second], "state", as_kind="config")


def test_series_items_without_a_time_are_planned_in_turn(tmp_path):
    from prachar_cli.commands.upload import in_turn

    one = write(tmp_path / "one.yaml", "title: एक\ntext: x\nseries: vichar\n")
    two = write(tmp_path / "two.yaml", "title: दो\ntext: x\nseries: vichar\n")
    timed = write(tmp_path / "timed.yaml", "title: तय\ntext: x\nseries: vichar\npublish_at: 2021-03-09T09:00:00\n")
    week = write(tmp_path / "week.csv", CALENDAR_HEADER + "\n,facebook,तीन,पाठ,,,vichar\n,facebook,और,पाठ,,,other\n")
    plan = plan_files([one, two, timed, week], "constituency/sahada")
    assert [f.series for f in plan.files] == [("vichar",), ("vichar",), (), ("vichar", "other")]
    assert [[f.path.name for f in round_] for round_ in in_turn(plan.files)] == [
        ["one.yaml", "timed.yaml"], ["two.yaml"], ["week.csv"]]


def test_names_and_keys_reach_the_terminal_with_control_characters_escaped(tmp_path):
    from prachar_cli.output import plain, printable, visible

    assert visible("a\x1b[2Jb\u202ec\x9b") == "a\\u001b[2Jb\\u202ec\\u009b"
    assert visible("क्\u200dष") == "क्\u200dष", "Devanagari's joiners stay"
    assert plain("one\ntwo\x07") == "one\ntwo\\u0007" and printable("one\ntwo") == "one\\u000atwo"
    assert printable("[red]x") == "\\[red]x"
    assert visible(os.fsdecode(b"caf\xe9")) == "caf\\udce9"


def signed_in(tmp_path, bucket: str | None = "prachar-test-content") -> None:
    """What `prachar login` leaves behind: a sign-in, and the campaign cache naming GET /api/me's bucket."""
    import time
    from datetime import UTC, datetime

    from prachar_cli import campaign_cache, session

    session.save(session.Session(api="http://127.0.0.1:9/", member="sahada-02", endpoint="http://127.0.0.1:9/",
                                 client_id="c", id_token="t", refresh_token=None, signed_in_at=time.time()))
    campaign_cache._save(campaign_cache.CachedCampaign(
        document={}, version="v1", fetched_at=datetime.now(UTC), clock_offset=timedelta(0),
        max_upload_bytes=256 * 1024, team_scope="constituency/sahada", bucket=bucket))


def test_media_not_on_disk_is_measured_in_the_bucket_when_signed_in(tmp_path, monkeypatch):
    from prachar_cli import checking

    asked: list[tuple[str, str]] = []

    def sizes(bucket: str, region: str | None = None):
        def size(key: str) -> int | None:
            asked.append((bucket, key))
            return 2 * MB if key.endswith("poster.png") else None
        return size

    monkeypatch.setattr(checking, "bucket_sizes", sizes)
    signed_in(tmp_path)
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया\nmedia: [poster.png]\n")
    code, [verdict] = check_json(post)
    key = "content/constituency/sahada/2021-03/poster.png"
    assert code == 0 and asked == [("prachar-test-content", key)]
    assert verdict["in_bucket"] == [{"key": key, "bytes": 2 * MB}] and verdict["missing_media"] == []
    _, out = check(post)
    assert "poster.png (in the bucket)" in out and "facebook 2.0 MB / 10.0 MB ✓" in out
    absent = write(tmp_path / "absent.yaml", "title: पोस्टर\ntext: नया\nmedia: [video.mp4]\n")
    code, out = check(absent)
    assert code == 1 and "is not in the bucket" in out and "nor in the bucket: asked, it has no such file" in out


def test_media_the_bucket_cannot_be_asked_about_keep_the_lambdas_problem_and_say_so(tmp_path, monkeypatch):
    from prachar_cli import checking

    def sizes(bucket: str, region: str | None = None):
        def size(key: str) -> int | None:
            raise RuntimeError("AccessDenied")
        return size

    monkeypatch.setattr(checking, "bucket_sizes", sizes)
    signed_in(tmp_path)
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया\nmedia: [poster.png]\n")
    code, [verdict] = check_json(post)
    assert code == 1 and verdict["problems"][0]["problem"].endswith("poster.png is not in the bucket")
    assert verdict["not_verified_in_bucket"][0]["why"] == "RuntimeError: AccessDenied"
    _, out = check(post)
    assert "not next to the file here either" in out and "could not be verified — RuntimeError: AccessDenied" in out


def test_not_signed_in_the_bucket_is_not_asked(tmp_path, monkeypatch):
    from prachar_cli import checking

    monkeypatch.setattr(checking, "bucket_sizes", lambda *a, **k: pytest.fail("asked the bucket"))
    post = write(tmp_path / "post.yaml", "title: पोस्टर\ntext: नया\nmedia: [poster.png]\n")
    code, out = check(post)
    assert code == 1 and "could not be verified — not signed in (prachar login)" in out


def test_a_config_checked_against_a_cache_the_api_could_not_refresh_says_how_old_it_is(tmp_path, monkeypatch):
    import hashlib
    from datetime import UTC, datetime

    from prachar_cli import campaign_cache

    raw = CAMPAIGN.read_bytes()
    stale = campaign_cache.CachedCampaign(document={}, version=hashlib.sha256(raw).hexdigest(),
                                          fetched_at=datetime.now(UTC) - timedelta(days=3),
                                          clock_offset=timedelta(0), max_upload_bytes=256 * 1024, team_scope="state")
    asked: list[bool] = []
    monkeypatch.setattr(campaign_cache, "refresh_quietly", lambda timeout=3.0: asked.append(True) or stale)
    config = write(tmp_path / "campaign.yaml", raw.decode("utf-8"))
    code, out = run(str(config))
    said = " ".join(out.split())
    assert code == 0 and asked == [True], "the API is asked first"
    assert "3 days ago" in said and "the API could not be asked now" in said
    assert "changes nothing" not in said and "uploading this one brings it back" in said
    monkeypatch.setattr(campaign_cache, "refresh_quietly",
                        lambda timeout=3.0: campaign_cache.CachedCampaign(**{**stale.__dict__,
                                                                             "fetched_at": datetime.now(UTC)}))
    said = " ".join(run(str(config))[1].split())
    assert "as the API said just now), byte for byte: uploading it changes nothing" in said
    result = CliRunner().invoke(cli, ["check", "--json", str(config)])
    assert json.loads(result.stdout)[0]["compared_with"]["version"] == stale.version


def test_the_template_of_a_whatsapp_post_is_named_in_hindi(tmp_path):
    post = write(tmp_path / "post.yaml", "title: बजट\ntext: बजट घोषणा\nplatforms: [whatsapp]\n"
                                         "publish_at: 2021-03-05T09:00:00+05:30\n"
                                         "overrides:\n  whatsapp: {template: budget_update, params: [सहाड़ा]}\n")
    assert "(team, टेम्पलेट budget_update)" in check(post, lang="hi")[1]
    assert "(team, template budget_update)" in check(post)[1]


def test_the_check_commands_help_is_in_the_chosen_language():
    english = " ".join(CliRunner().invoke(cli, ["--lang", "en", "check", "--help"]).output.split())
    hindi = " ".join(CliRunner().invoke(cli, ["--lang", "hi", "check", "--help"]).output.split())
    assert "Print one JSON document (for scripts and hooks)." in english and "Usage:" in english
    assert "एक JSON दस्तावेज़ छापें" in hindi and "उपयोग:" in hindi and "विकल्प:" in hindi
    assert "Print one JSON document" not in hindi and "Show this message and exit." not in hindi


def test_an_upload_stops_a_series_at_its_first_item_the_system_refused(tmp_path, monkeypatch):
    """The later items would take the daily slots before the refused one, once it is fixed and uploaded again."""
    from prachar_cli import api, uploading

    sent: list[str] = []

    class S3:
        def put_object(self, Bucket, Key, Body, ContentType):
            sent.append(Key.rsplit("/", 1)[-1])
            return {"ETag": '"e"', "VersionId": f"v{len(sent)}"}

    class Client:
        session = type("S", (), {"region": "ap-south-1"})()

        def get(self, path, params=None):
            if path == "api/me":
                return {"member": {"id": "sahada-02", "role": "member"}, "team": {"scope": "constituency/sahada"},
                        "bucket": "b", "max_upload_bytes": 256 * 1024, "now": "2021-03-03T03:30:00Z"}
            refused = params["key"].endswith("ep1.yaml")
            return {"answered": True, "key": params["key"], "outcome": "rejected" if refused else "accepted",
                    "problems": [{"field": "text", "problem": "bad"}] if refused else [],
                    "answered_at": "2021-03-03T03:30:01Z"}

    monkeypatch.setattr(api, "signed_in", lambda timeout=api.TIMEOUT: Client())
    monkeypatch.setattr(uploading, "s3_client", lambda region: S3())
    files = [write(tmp_path / f"ep{n}.yaml", f"title: कड़ी {n}\ntext: x\nseries: vichar\n") for n in (1, 2, 3)]
    other = write(tmp_path / "other.yaml", "title: अलग\ntext: x\n")
    result = CliRunner().invoke(cli, ["--lang", "en", "upload", "--timeout", "5", *map(str, [*files, other])])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and sent == ["ep1.yaml", "other.yaml"], sent
    assert "ep2.yaml: not uploaded — an item of series vichar, after content/constituency/sahada/ep1.yaml" in said
    assert "ep3.yaml: not uploaded" in said


def test_an_upload_of_two_files_for_one_key_is_refused_before_anything_is_sent(tmp_path, monkeypatch):
    from prachar_cli import api, uploading

    class Client:
        session = type("S", (), {"region": "ap-south-1"})()

        def get(self, path, params=None):
            return {"member": {"id": "sahada-02", "role": "member"}, "team": {"scope": "constituency/sahada"},
                    "bucket": "b", "max_upload_bytes": 256 * 1024}

    monkeypatch.setattr(api, "signed_in", lambda timeout=api.TIMEOUT: Client())
    monkeypatch.setattr(uploading, "s3_client", lambda region: pytest.fail("nothing may be sent"))
    monday = write(tmp_path / "mon" / "post.yaml", "title: सोम\ntext: x\n")
    tuesday = write(tmp_path / "tue" / "post.yaml", "title: मंगल\ntext: x\n")
    result = CliRunner().invoke(cli, ["--lang", "hi", "upload", str(monday), str(tuesday)])
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert f"{monday} और {tuesday} दोनों content/constituency/sahada/post.yaml के रूप में अपलोड होंगी" in said
