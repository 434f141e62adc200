"""`prachar template`: starter files that `prachar check` passes, explained in Hindi and English."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from chalicelib.domain.times import IST
from prachar_cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "tests" / "support" / "campaign.yaml"
DEVANAGARI = range(0x0900, 0x0980)


@pytest.fixture(autouse=True)
def nothing_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACHAR_HOME", str(tmp_path / "prachar-home"))
    monkeypatch.delenv("PRACHAR_LANG", raising=False)


def hindi(text: str) -> bool:
    return any(ord(c) in DEVANAGARI for c in text)


@pytest.mark.parametrize("kind, name", [("manifest", "manifest.yaml"), ("calendar", "calendar.csv"),
                                        ("audience", "audience.csv")])
def test_each_template_is_written_here_and_passes_the_check(kind, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["--lang", "en", "template", kind])
    assert result.exit_code == 0, result.output
    assert f"Wrote {name}." in result.output and f"prachar check {name}" in result.output
    written = tmp_path / name
    checked = runner.invoke(cli, ["check", "--json", "--config", str(CAMPAIGN), "--scope", "constituency/sahada",
                                  str(written)])
    [verdict] = json.loads(checked.stdout)
    assert checked.exit_code == 0 and verdict["ok"], verdict["problems"]
    assert verdict["kind"] == kind
    if kind != "manifest":
        assert verdict["accepted_rows"] == 2


def test_the_manifest_explains_every_field_in_hindi_and_english(tmp_path):
    out = tmp_path / "post.yaml"
    assert CliRunner().invoke(cli, ["template", "manifest", "--out", str(out)]).exit_code == 0
    text = out.read_text("utf-8")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert any(hindi(line) for line in comments) and any(not hindi(line) and "Required" in line for line in comments)
    for field in ("title", "text", "link", "media", "platforms", "publish_at", "series", "overrides", "paid",
                  "mcmc_certificate"):
        assert f"{field}:" in text, field
    document = yaml.safe_load(text)
    tomorrow = (datetime.now(IST) + timedelta(days=1)).date()
    assert document["publish_at"].date() in (tomorrow, tomorrow + timedelta(days=1)), "never out at once"


def test_a_csv_template_is_explained_on_the_terminal_in_the_chosen_language(tmp_path):
    result = CliRunner().invoke(cli, ["--lang", "hi", "template", "calendar", "--out", str(tmp_path / "week.csv")])
    assert result.exit_code == 0
    assert "week.csv लिखी गई।" in result.output
    assert "publish_at  कब जाए" in result.output and "CSV UTF-8" in result.output
    header = (tmp_path / "week.csv").read_text("utf-8").splitlines()[0]
    assert header == "publish_at,platforms,title,text,link,media,series"
    result = CliRunner().invoke(cli, ["--lang", "en", "template", "audience", "--out", str(tmp_path / "people.csv")])
    assert "delete them before you upload" in result.output and "consent_source" in result.output


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    target = tmp_path / "calendar.csv"
    target.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--lang", "en", "template", "calendar", "--out", str(target)])
    assert result.exit_code == 1 and "exists already" in result.output and "--force" in result.output
    assert target.read_text("utf-8") == "mine"
    result = CliRunner().invoke(cli, ["template", "calendar", "--out", str(target), "--force"])
    assert result.exit_code == 0 and target.read_text("utf-8").startswith("publish_at,")


def test_an_unknown_kind_is_a_usage_error():
    assert CliRunner().invoke(cli, ["template", "poster"]).exit_code == 2


def test_help_and_template_load_neither_rich_nor_pydantic(tmp_path):
    """`prachar --help` and `prachar template` stay quick: the heavy imports belong to the commands that need them."""
    script = (
        "import sys\n"
        "from prachar_cli.main import cli\n"
        "for args in (['--help'], ['check', '--help'], ['template', 'manifest', '--out', sys.argv[1]]):\n"
        "    try:\n"
        "        cli(args, standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('rich', 'pydantic', 'chalicelib.domain.manifest', 'boto3') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.yaml")], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_help_is_in_the_language_chosen_at_run_time():
    """The command is imported once, in whatever language; its help follows --lang on every run."""
    for _ in range(2):
        hindi = " ".join(CliRunner().invoke(cli, ["--lang", "hi", "template", "--help"]).output.split())
        english = " ".join(CliRunner().invoke(cli, ["--lang", "en", "template", "--help"]).output.split())
        assert "शुरुआती मैनिफ़ेस्ट" in hindi and "फ़ाइल पहले से हो तो उसे बदल दें।" in hindi and "उपयोग:" in hindi
        assert "Write a starter" not in hindi and "Replace the file if it exists." not in hindi
        assert "Write a starter manifest" in english and "Replace the file if it exists." in english


def test_bilingual_help_is_a_string_and_renders_in_a_plain_click_command_too():
    import click

    from prachar_cli import i18n
    from prachar_cli.helptext import Command, bilingual

    text = bilingual("Say hello.", "नमस्ते कहें।")
    assert isinstance(text, str) and text == "Say hello." and text.upper() == "SAY HELLO."

    @click.command(help=text)
    @click.option("--loud", is_flag=True, help=bilingual("Shout it.", "ज़ोर से कहें।"))
    def plain_command(loud: bool) -> None:
        pass

    i18n.choose("hi")  # a plain click.Command: its own help follows the language
    assert "नमस्ते कहें।" in CliRunner().invoke(plain_command, ["--help"]).output
    plain_command.__class__ = Command  # through helptext.Command, its options' help too
    output = CliRunner().invoke(plain_command, ["--help"]).output
    assert "ज़ोर से कहें।" in output and "Shout it." not in output
    i18n.choose("en")
    assert "Shout it." in CliRunner().invoke(plain_command, ["--help"]).output


def test_the_example_times_are_tomorrow_by_the_systems_clock_once_signed_in(tmp_path, monkeypatch):
    """The local stack replays 2021: a template dated by the laptop's clock would be after every poll there (and
    cancelled); once a campaign is cached, tomorrow is the system's tomorrow."""
    from datetime import UTC

    from prachar_cli import campaign_cache

    system_now = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
    campaign_cache._save(campaign_cache.CachedCampaign(
        document=json.loads(json.dumps(yaml.safe_load(CAMPAIGN.read_text("utf-8")), default=str)), version="v1",
        fetched_at=datetime.now(UTC),
        clock_offset=system_now - datetime.now(UTC), max_upload_bytes=256 * 1024, team_scope="constituency/sahada"))
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["--lang", "en", "template", "manifest"]).exit_code == 0
    assert "2021-03-04" in (tmp_path / "manifest.yaml").read_text("utf-8")
