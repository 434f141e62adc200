"""Issue 11's acceptance test: `prachar check` gives the upload Lambdas' verdict on the whole hostile-input corpus.

Every manifest, calendar and campaign config of tests/corpus/ (webhooks are not uploads) is judged twice: offline by
`prachar check --json` (through click's CliRunner, against tests/support/campaign.yaml, at the world's clock), and by
the real S3 handlers after a real upload. The two must agree: a file the check passes is accepted with no
errors/<key>.json; for any other, the check's problems are the report's, all of them, in order (field, what is wrong,
how to fix it, row); for a calendar, as many rows go ahead.

One world for the whole corpus: every manifest and calendar has its own key, so their answers cannot mix. Configs come
last, all under config/campaign.yaml: an accepted one becomes the active campaign, so the test campaign is uploaded
again after it (the next config is then judged, as the check judges it, beside the test campaign — a config's own
verdict depends on the active one only through "the same bytes again" and who may replace it).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from chalicelib.adapters import aws
from prachar_cli.main import cli
from tests.support.world import BUCKET, CAMPAIGN_FILE

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
INDEX = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
SCOPE, FOLDER = "constituency/sahada", "2021-03"
HANDLERS = {"manifests": "on_content_upload", "calendars": "on_calendar_upload", "configs": "on_config_upload"}


def checked(area: str, names: list[str], now: str, *options: str) -> dict[str, dict[str, Any]]:
    """`prachar check --json` over the files of one area of the corpus, by file name."""
    result = CliRunner().invoke(cli, ["--lang", "en", "check", "--json", "--config", str(CAMPAIGN_FILE), "--scope",
                                      SCOPE, "--folder", FOLDER, "--at", now, *options,
                                      *[str(CORPUS / area / name) for name in names]])
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    verdicts = json.loads(result.stdout)
    assert [Path(v["path"]).name for v in verdicts] == names
    assert result.exit_code == (0 if all(v["ok"] for v in verdicts) else 1)
    return {Path(v["path"]).name: v for v in verdicts}


def uploaded(world, client, key: str, body: bytes, handler: str) -> tuple[dict | None, dict | None]:
    """The system's answer to an upload: errors/<key>.json (None: none written), and what `prachar upload` is told."""
    world.put(key, body)
    event = world.s3_event(key)
    client.lambda_.invoke(handler, event)
    uploaded = event["Records"][0]["s3"]["object"]
    return world.error_report(key), world.container.store.upload_answer(key, uploaded.get("versionId")
                                                                         or uploaded["eTag"])


def compare(name: str, key: str, verdict: dict[str, Any], report: dict | None, answer: dict | None,
            calendar: bool = False) -> list[str]:
    """How the check's verdict differs from the Lambda's (nothing, when they agree)."""
    differences = []
    if verdict["key"] != key:
        differences.append(f"{name}: checked as {verdict['key']}, uploaded as {key}")
    lambda_problems = report["problems"] if report else []
    if verdict["ok"] != (report is None):
        differences.append(f"{name}: check says ok={verdict['ok']}, the Lambda "
                           f"{'wrote no report' if report is None else 'wrote a report'} "
                           f"(outcome {answer and answer.get('outcome')})")
    if verdict["problems"] != lambda_problems:
        differences.append(f"{name}: problems differ\n  check:  {verdict['problems']}\n  lambda: {lambda_problems}")
    if calendar:
        went_ahead = len(answer["content_ids"]) if answer and answer.get("outcome") == "accepted" else 0
        if verdict["accepted_rows"] != went_ahead:
            differences.append(f"{name}: check says {verdict['accepted_rows']} row(s) go ahead, the Lambda "
                               f"scheduled {went_ahead}")
    return differences


def test_prachar_check_gives_the_lambdas_verdict_on_every_file_of_the_corpus(active, client, tmp_path, monkeypatch):
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "home"))  # nothing saved at sign-in: only --config counts
    now = active.clock.now().isoformat()
    differences: list[str] = []
    judged = {"accepted": 0, "rejected": 0}

    for area, prefix in (("manifests", "content"), ("calendars", "calendar")):
        names = sorted(INDEX[area])
        verdicts = checked(area, names, now)
        for name in names:
            key = f"{prefix}/{SCOPE}/{FOLDER}/{name}"
            report, answer = uploaded(active, client, key, (CORPUS / area / name).read_bytes(), HANDLERS[area])
            assert answer is not None, f"{name}: the Lambda gave no answer"
            differences += compare(name, key, verdicts[name], report, answer, calendar=area == "calendars")
            judged["accepted" if report is None else "rejected"] += 1

    names = sorted(INDEX["configs"])
    verdicts = checked("configs", names, now, "--as", "config")
    campaign = CAMPAIGN_FILE.read_bytes()
    for name in names:
        key = "config/campaign.yaml"
        aws.client("s3").delete_object(Bucket=BUCKET, Key=f"errors/{key}.json")  # every config's report is this one
        report, answer = uploaded(active, client, key, (CORPUS / "configs" / name).read_bytes(), HANDLERS["configs"])
        differences += compare(name, key, verdicts[name], report, answer)
        judged["accepted" if report is None else "rejected"] += 1
        if report is None:  # it became the active campaign: the test campaign again, for the next one
            _, again = uploaded(active, client, key, campaign, HANDLERS["configs"])
            assert again["outcome"] in ("accepted", "unchanged"), again
        assert active.container.campaigns.active_version() == hashlib.sha256(campaign).hexdigest(), name

    assert not differences, "\n".join(differences)
    corpus_size = sum(len(INDEX[area]) for area in HANDLERS)
    assert sum(judged.values()) == corpus_size and judged["accepted"] >= 10 and judged["rejected"] >= 100, judged


AUDIENCE_HEADER = "phone,name,consent_source,consent_at,notice_version,language,booth\n"
AUDIENCE_FILES = {
    "mixed.csv": AUDIENCE_HEADER + "".join([
        "98111 00001,सीता,missed call 2021-03,2021-03-01T10:30:00+05:30,v1,hi,112\n",
        "98111 00002,राम,,2021-03-01,v1,hi,112\n",                      # no consent source
        "98111 00003,गीता,purchased list,2021-03-01,v1,hi,\n",          # not consent
        "12345,कोई,form,2021-03-01,v1,hi,\n",                            # no such number
        "\n",                                                            # a blank line
        "+91 98111 00001,सीता देवी,rally form,2021-03-02,v1,hi,113\n",  # the same person again
        "98111 00004,मोहन,form,2021-03-09,v1,hi,\n",                     # consent in the future
        "98111 00005,सोहन,form,1900-01-01,v1,hi,\n",                     # a spreadsheet's empty date
        "98111 00006,रीना,form,2021-03-01,v1,french,\n",                 # a language the campaign does not write
        "98111 00007,मीना,form,yesterday,v1,en,\n"]),                    # not a time
    "missing-columns.csv": "phone,name\n98111 00011,सीता\n",
    "empty.csv": "",
    "latin1-midway.csv": (AUDIENCE_HEADER + "98111 00021,Sita,form,2021-03-01,v1,en,\n").encode()
    + "98111 00022,Jos\xe9,form,2021-03-01,v1,en,\n".encode("latin-1"),
}


def test_prachar_check_gives_the_audience_imports_verdict(active, client, tmp_path, monkeypatch):
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "home"))
    folder = tmp_path / "audience"
    folder.mkdir()
    for name, body in AUDIENCE_FILES.items():
        (folder / name).write_bytes(body.encode() if isinstance(body, str) else body)
    examples = CORPUS.parents[1] / "examples" / "audience" / "sahada" / "2021-03-subscribers.csv"
    paths = [*(folder / name for name in AUDIENCE_FILES), examples]
    now = active.clock.now().isoformat()
    result = CliRunner().invoke(cli, ["check", "--json", "--config", str(CAMPAIGN_FILE), "--scope", SCOPE, "--folder",
                                      FOLDER, "--at", now, "--as", "audience", *map(str, paths)])
    verdicts = json.loads(result.stdout)
    elsewhere = CliRunner().invoke(cli, ["check", "--json", "--config", str(CAMPAIGN_FILE), "--scope",
                                         "constituency/nowhere", "--at", now, str(folder / "mixed.csv")])
    verdicts += json.loads(elsewhere.stdout)
    differences = []
    for verdict in verdicts:
        key = verdict["key"]
        active.put(key, Path(verdict["path"]).read_bytes())
        client.lambda_.invoke("on_audience_upload", active.s3_event(key))
        report = active.error_report(key)
        differences += compare(Path(verdict["path"]).name, key, verdict, report, None)
        state = active.container.audience.import_state(key, active.s3_event(key)["Records"][0]["s3"]["object"]["eTag"])
        counts = (state or {}).get("counts") or {}
        imported = sum(counts.get(outcome, 0) for outcome in ("added", "updated", "unchanged"))
        if (verdict["accepted_rows"], verdict["merged"]) != (imported, counts.get("merged", 0)):
            differences.append(f"{key}: check says {verdict['accepted_rows']} imported, {verdict['merged']} merged; "
                               f"the import counted {counts}")
    assert not differences, "\n".join(differences)
    assert sum(v["ok"] for v in verdicts) == 0 and all(v["problems"] for v in verdicts)


def test_prachar_check_words_a_surprise_and_a_series_without_slots_as_ingest_does(active, client, tmp_path,
                                                                                  monkeypatch):
    """What the corpus cannot reach: an exception no check foresaw (in a file, in one calendar row), and a series item
    when the scope's campaign is over (its poll closed on 2021-04-17)."""
    from chalicelib.domain import manifest

    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "home"))
    real = manifest.parse_manifest

    def surprise(document):
        if document.get("title") == "बम":
            raise RecursionError("maximum recursion depth exceeded")
        return real(document)

    monkeypatch.setattr(manifest, "parse_manifest", surprise)
    active.at("2021-04-18T08:00:00+05:30")
    files = {"surprise.yaml": "title: बम\ntext: x\n",
             "series-over.yaml": "title: विचार\ntext: आज का विचार\nseries: vichar\n",
             "week.csv": "publish_at,platforms,title,text,link,media,series\n"
                         ",facebook,बम,पाठ,,,\n,facebook,विचार,पाठ,,,vichar\n2021-03-10T09:00,facebook,ठीक,पाठ,,,\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--json", "--config", str(CAMPAIGN_FILE), "--scope", SCOPE, "--folder",
                                      FOLDER, "--at", active.clock.now().isoformat(),
                                      *(str(tmp_path / name) for name in files)])
    differences = []
    for verdict in json.loads(result.stdout):
        key, calendar = verdict["key"], verdict["kind"] == "calendar"
        report, answer = uploaded(active, client, key, Path(verdict["path"]).read_bytes(),
                                  HANDLERS["calendars" if calendar else "manifests"])
        assert report is not None and verdict["problems"], key
        differences += compare(key, key, verdict, report, answer, calendar=calendar)
    assert not differences, "\n".join(differences)
