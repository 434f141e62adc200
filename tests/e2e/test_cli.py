"""Every `prachar` command against the local stack as a volunteer runs it: the installed command in a process of its
own, signed in through the stack's Cognito pool with the local password on stdin, uploading with S3 credentials of its
own to the emulator (AWS_ENDPOINT_URL), and reading the system's answers through the HTTP API.

The stack runs the example campaign's config alone (examples/config/campaign.yaml): sahada-02 is a member of the
Sahada constituency team, sahada-01 its lead, bhilwara-d-01 the lead of its district (Bhilwara) and state-03 a state
lead. Constituency content needs a lead's sign-off — its district's lead or a state lead, never its own team's. The
files are uploaded under content/constituency/sahada/cli-e2e/, away from the other e2e modules' keys."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.post import content_id_for
from local.stack import BUCKET, LOCAL_PASSWORD
from tests.e2e.conftest import RunningStack, clean_environment

pytestmark = pytest.mark.e2e
FOLDER = "cli-e2e"
PREFIX = f"content/constituency/sahada/{FOLDER}"
CALENDAR_KEY = f"calendar/constituency/sahada/{FOLDER}/week.csv"
# Due later today on the stack's clock (it starts at 09:00 IST on 3 March and runs at 60×): waiting for sign-off, it
# is listed for --today, and nothing is sent to the sandbox while this module runs.
MANIFEST = """title: सहाड़ा — नई बस सेवा (cli-e2e)
text: सहाड़ा से भीलवाड़ा के लिए नई बस सेवा शुरू (cli-e2e-4d1a)
media: [clip.mp4]
platforms: [facebook, x]
publish_at: 2021-03-03T23:30:00+05:30
"""
CALENDAR = ("publish_at,platforms,title,text,link,media,series\r\n"
            "2021-03-06T09:00:00+05:30,facebook,कैलेंडर एक (cli-e2e),पहली पोस्ट,,,\r\n"
            "2021-03-07T09:00:00+05:30,x,कैलेंडर दो (cli-e2e),दूसरी पोस्ट,,,\r\n")


class Volunteers:
    """`prachar` as each member runs it, each with a PRACHAR_HOME of their own."""

    def __init__(self, stack: RunningStack, root: Path) -> None:
        self.stack = stack
        self.root = root

    def home(self, member: str) -> Path:
        return self.root / member

    def run(self, member: str, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        env = clean_environment(PRACHAR_HOME=str(self.home(member)), AWS_ENDPOINT_URL=self.stack.emulator,
                                AWS_ACCESS_KEY_ID="volunteer", AWS_SECRET_ACCESS_KEY="volunteer",
                                AWS_DEFAULT_REGION="ap-south-1", COLUMNS="200")
        return subprocess.run([sys.executable, "-m", "prachar_cli", "--lang", "en", *arguments], input=stdin,
                              capture_output=True, text=True, env=env, cwd=self.root, timeout=300)

    def login(self, member: str) -> subprocess.CompletedProcess:
        return self.run(member, "login", "--api", self.stack.api, "--member", member, "--password-stdin",
                        stdin=LOCAL_PASSWORD + "\n")

    def signed_in(self, member: str) -> None:
        if not (self.home(member) / "session.json").exists():
            done = self.login(member)
            assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def volunteers(running_stack, tmp_path_factory) -> Volunteers:
    return Volunteers(running_stack, tmp_path_factory.mktemp("volunteers"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    (folder / "post.yaml").write_text(MANIFEST, encoding="utf-8")
    # Over the 8 MB at which an upload goes in parts (the sandbox never fetches it: the post waits for sign-off).
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(9 * 1024 * 1024))
    (folder / "bad.yaml").write_text("title: टूटी पोस्ट\nplatforms: [myspace]\ncolour: red\n", encoding="utf-8")
    (folder / "week.csv").write_text(CALENDAR, encoding="utf-8", newline="")
    return folder


def words(text: str) -> str:
    return " ".join(text.split())


def test_login_with_the_password_on_stdin_says_who_and_keeps_the_tokens_to_itself(volunteers):
    done = volunteers.login("sahada-02")
    assert done.returncode == 0, done.stderr
    assert "Signed in as sahada-02 (विक्रम राठौड़), member of constituency/sahada, campaign rajasthan-bypolls-2021." \
        in words(done.stdout)
    # Where the password went, said before it was read: the stack's Cognito emulator, on this machine.
    assert f"Your password goes to the local stack's sign-in at {volunteers.stack.emulator}" in words(done.stdout)
    home = volunteers.home("sahada-02")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    saved = json.loads((home / "session.json").read_text())
    assert saved["id_token"] not in done.stdout + done.stderr and saved["refresh_token"] not in done.stdout
    assert {stat.S_IMODE((home / name).stat().st_mode) for name in ("session.json", "campaign.json")} == {0o600}
    cache = json.loads((home / "campaign.json").read_text())
    assert cache["team_scope"] == "constituency/sahada" and cache["document"]["campaign"] == "rajasthan-bypolls-2021"
    assert all("phone" not in m for t in cache["document"]["teams"] for m in t["members"])


def test_a_manifest_and_its_media_go_up_media_first_and_the_answer_names_the_post(volunteers, files, running_stack):
    volunteers.signed_in("sahada-02")
    done = volunteers.run("sahada-02", "upload", str(files / "post.yaml"), str(files / "clip.mp4"),
                          "--folder", FOLDER, "--timeout", "90")
    assert done.returncode == 0, done.stdout + done.stderr
    out = words(done.stdout)
    assert out.index(f"uploaded {PREFIX}/clip.mp4") < out.index(f"uploaded {PREFIX}/post.yaml")
    assert "9.4/9.4 MB" in out, "the media's progress bar"
    assert f"{PREFIX}/post.yaml: accepted" in out
    assert f"post id(s): {content_id_for(f'{PREFIX}/post.yaml')}" in out
    assert "scheduled for: fb-sahada, x-sahada" in out
    # Over 8 MB, the media went up in parts (S3 gives a multipart upload's ETag its number of parts).
    head = running_stack.s3().head_object(Bucket=BUCKET, Key=f"{PREFIX}/clip.mp4")
    assert head["ETag"].strip('"').endswith("-2") and head["ContentType"] == "video/mp4"
    # The same bytes again (the same ETag): this upload's own answer, not the first one's.
    again = volunteers.run("sahada-02", "upload", str(files / "post.yaml"), "--folder", FOLDER, "--timeout", "90")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{PREFIX}/post.yaml: unchanged" in words(again.stdout)


def test_a_bad_manifest_gets_each_problem_and_exit_status_1(volunteers, files):
    volunteers.signed_in("sahada-02")
    done = volunteers.run("sahada-02", "upload", str(files / "bad.yaml"), "--folder", FOLDER, "--timeout", "90")
    assert done.returncode == 1, done.stdout + done.stderr
    out = words(done.stdout)
    assert f"{PREFIX}/bad.yaml: rejected" in out
    assert "colour: Extra inputs are not permitted" in out
    assert "platforms[0]:" in out and "fix:" in out
    assert f"the whole report: s3://{BUCKET}/errors/{PREFIX}/bad.yaml.json" in out


def test_a_calendar_upload_schedules_each_row(volunteers, files):
    volunteers.signed_in("sahada-02")
    done = volunteers.run("sahada-02", "upload", str(files / "week.csv"), "--folder", FOLDER, "--timeout", "90")
    assert done.returncode == 0, done.stdout + done.stderr
    out = words(done.stdout)
    assert f"{CALENDAR_KEY}: accepted — 2 post(s) scheduled" in out
    for title in ("कैलेंडर एक (cli-e2e)", "कैलेंडर दो (cli-e2e)"):
        assert content_id_for(f"{CALENDAR_KEY}#{title}") in out


def test_an_audience_file_is_imported_and_its_refused_row_named_with_the_number_masked(volunteers, files):
    volunteers.signed_in("sahada-02")
    (files / "march.csv").write_text(
        "phone,name,consent_source,consent_at,notice_version,language\n"
        "98765 43210,सीता देवी,missed call 2021-03,2021-03-01T10:30:00+05:30,v1,hi\n"
        "98765 43211,गीता,,2021-03-01T10:30:00+05:30,v1,hi\n", encoding="utf-8")
    done = volunteers.run("sahada-02", "upload", str(files / "march.csv"), "--folder", FOLDER, "--timeout", "90")
    assert done.returncode == 1, done.stdout + done.stderr
    out = words(done.stdout)
    assert f"audience/sahada/{FOLDER}/march.csv: imported (added 1, no_consent 1)" in out
    assert "row 3, consent_source: +91XXXXXX3211: consent_source is empty" in out and "98765" not in out


def test_an_upload_for_another_teams_scope_is_refused_before_anything_is_sent(volunteers, files, running_stack):
    volunteers.signed_in("sahada-02")
    done = volunteers.run("sahada-02", "upload", str(files / "post.yaml"), "--scope", "district/bhilwara",
                          "--folder", "cli-e2e-refused")
    assert done.returncode == 2
    assert "sahada-02 uploads for constituency/sahada, not district/bhilwara" in words(done.stderr)
    listed = running_stack.s3().list_objects_v2(Bucket=BUCKET, Prefix="content/district/bhilwara/cli-e2e-refused/")
    assert listed.get("KeyCount", 0) == 0


def test_status_today_lists_what_is_due_today_by_the_systems_clock(volunteers):
    volunteers.signed_in("sahada-02")
    manifest_id = content_id_for(f"{PREFIX}/post.yaml")
    calendar_ids = [content_id_for(f"{CALENDAR_KEY}#{t}") for t in ("कैलेंडर एक (cli-e2e)", "कैलेंडर दो (cli-e2e)")]
    table = volunteers.run("sahada-02", "status", "--today")
    assert table.returncode == 0, table.stderr
    assert "constituency/sahada: due today, 2021-03-03 (IST)" in table.stdout
    assert manifest_id in table.stdout and "2021-03-03 23:30" in table.stdout and "pending approval" in table.stdout
    assert not any(i in table.stdout for i in calendar_ids)
    listing = json.loads(volunteers.run("sahada-02", "status", "--today", "--json").stdout)
    assert listing["today"] == "2021-03-03"
    assert [p["id"] for p in listing["posts"]] == [manifest_id]
    assert listing["posts"][0]["accounts"] == {"fb-sahada": "pending_approval", "x-sahada": "pending_approval"}
    everything = json.loads(volunteers.run("sahada-02", "status", "--json").stdout)
    assert {manifest_id, *calendar_ids} <= {p["id"] for p in everything["posts"]}


def test_the_right_leads_approve_and_reject_and_the_constituencys_own_lead_may_not(volunteers, running_stack):
    manifest_id = content_id_for(f"{PREFIX}/post.yaml")
    first, second = (content_id_for(f"{CALENDAR_KEY}#{t}") for t in ("कैलेंडर एक (cli-e2e)", "कैलेंडर दो (cli-e2e)"))
    for lead in ("sahada-01", "bhilwara-d-01", "state-03"):
        volunteers.signed_in(lead)

    waiting = volunteers.run("bhilwara-d-01", "pending")
    assert waiting.returncode == 0, waiting.stderr
    assert "district/bhilwara:" in waiting.stdout and "post(s) waiting for approval" in waiting.stdout
    assert all(i in waiting.stdout for i in (manifest_id, first, second))

    refused = volunteers.run("sahada-01", "approve", manifest_id)
    assert refused.returncode == 1
    assert "sahada-01 is a lead of constituency/sahada" in words(refused.stderr), refused.stderr

    approved = volunteers.run("bhilwara-d-01", "approve", manifest_id, "--note", "facts checked")
    assert approved.returncode == 0, approved.stderr
    assert "Approved by bhilwara-d-01 for fb-sahada, x-sahada." in words(approved.stdout)
    assert "revision 1" in approved.stdout and "cli-e2e-4d1a" in approved.stdout

    rejected = volunteers.run("state-03", "reject", first, "--reason", "wrong date")
    assert rejected.returncode == 0, rejected.stderr
    assert "Rejected by state-03 for fb-sahada: wrong date" in words(rejected.stdout)

    again = volunteers.run("bhilwara-d-01", "approve", manifest_id)
    assert again.returncode == 1 and "is waiting for approval" in words(again.stderr)
    assert volunteers.run("bhilwara-d-01", "reject", "0000000000000000", "--reason", "x").returncode == 1

    post = running_stack.get(f"{running_stack.api}/api/posts/{manifest_id}")
    assert {a["status"] for a in post["accounts"]} == {"scheduled"}
    post = running_stack.get(f"{running_stack.api}/api/posts/{first}")
    assert {a["status"] for a in post["accounts"]} == {"rejected"}
    still = volunteers.run("bhilwara-d-01", "pending")
    assert second in still.stdout and manifest_id not in still.stdout and first not in still.stdout


def test_a_lead_pauses_their_scope_and_resumes_it_and_a_member_may_not(volunteers, running_stack):
    volunteers.signed_in("bhilwara-d-01")
    volunteers.signed_in("sahada-02")
    paused = volunteers.run("bhilwara-d-01", "pause", "--reason", "video under review")
    assert paused.returncode == 0, paused.stderr
    assert "Publishing paused for district/bhilwara by bhilwara-d-01: video under review" in words(paused.stdout)
    pauses = running_stack.get(f"{running_stack.api}/api/pauses", "bhilwara-d-01")["paused"]
    assert any(p.get("scope") == "district/bhilwara" for p in pauses), pauses

    member = volunteers.run("sahada-02", "pause", "constituency/sahada", "--reason", "no")
    assert member.returncode == 1
    assert "only a coordinator or a lead may pause or resume publishing; sahada-02 is a member" in words(member.stderr)

    resumed = volunteers.run("bhilwara-d-01", "resume", "district/bhilwara")
    assert resumed.returncode == 0, resumed.stderr
    assert "Publishing resumed for district/bhilwara" in resumed.stdout
    assert "was not paused" in volunteers.run("bhilwara-d-01", "resume", "district/bhilwara").stdout


def test_an_id_token_the_api_refuses_is_renewed_with_the_refresh_token(volunteers):
    volunteers.signed_in("sahada-02")
    path = volunteers.home("sahada-02") / "session.json"
    saved = json.loads(path.read_text())
    header, _, signature = saved["id_token"].split(".")
    saved["id_token"] = f"{header}.e30.{signature}"  # claims {}: the gateway answers 401
    path.write_text(json.dumps(saved))
    done = volunteers.run("sahada-02", "pending")
    assert done.returncode == 0, done.stderr
    renewed = json.loads(path.read_text())
    assert renewed["id_token"] != saved["id_token"] and renewed["refresh_token"] == saved["refresh_token"]


def test_after_logout_a_command_asks_to_sign_in_again(volunteers):
    volunteers.signed_in("sahada-02")
    done = volunteers.run("sahada-02", "logout")
    assert done.returncode == 0 and "Signed out (sahada-02)." in done.stdout
    assert not (volunteers.home("sahada-02") / "session.json").exists()
    after = volunteers.run("sahada-02", "status")
    assert after.returncode == 1
    assert "You are not signed in. Sign in again: prachar login" in words(after.stderr)
