"""`prachar upload`'s parts that need no stack: who may upload where, the order and manner of the S3 calls, waiting
for the system's answers (on a fake clock), and how each answer reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prachar_cli import i18n, uploading
from prachar_cli.api import ApiError, Unreachable
from prachar_cli.files import LocalFile

LEAD = {"member": {"id": "sahada-01", "role": "lead"}, "team": {"id": "t", "scope": "constituency/sahada"}}
COORDINATOR = {"member": {"id": "state-01", "role": "coordinator"}, "team": {"id": "s", "scope": "state"}}


@pytest.fixture(autouse=True)
def english():
    i18n.choose("en")


def test_a_member_uploads_for_their_own_teams_scope_only():
    assert uploading.scope_refusal("constituency/sahada", LEAD, ["content/constituency/sahada/p.yaml"]) is None
    refusal = uploading.scope_refusal("district/bhilwara", LEAD, ["content/district/bhilwara/p.yaml"])
    assert refusal.startswith("sahada-01 uploads for constituency/sahada, not district/bhilwara")
    # A coordinator too: the system refuses content under another team's prefix whoever uploads it…
    assert uploading.scope_refusal("constituency/sahada", COORDINATOR, ["content/constituency/sahada/p.yaml"])
    # …but a coordinator may upload any constituency's contacts, and the campaign config.
    assert uploading.scope_refusal("constituency/sahada", COORDINATOR, ["audience/sahada/march.csv"]) is None
    assert uploading.scope_refusal("state", COORDINATOR, ["config/campaign.yaml"]) is None
    assert "only a coordinator" in uploading.scope_refusal("constituency/sahada", LEAD, ["config/campaign.yaml"])
    assert "no team" in uploading.scope_refusal("state", {"member": {"id": "x", "role": "member"}, "team": None},
                                                ["content/state/p.yaml"])


def test_a_coordinator_of_any_team_may_upload_the_config_and_contacts_as_the_system_allows():
    """ingest._config_uploader_refused and audience_import.uploader_refused let in any coordinator of the active
    campaign — not only the state team's: the command does not refuse for them what the system would take (where the
    bucket policy is narrower, S3 refuses the upload itself and the command says so)."""
    district = {"member": {"id": "bhilwara-c", "role": "coordinator"},
                "team": {"id": "d", "scope": "district/bhilwara"}}
    assert uploading.scope_refusal("district/bhilwara", district, ["config/campaign.yaml"]) is None
    assert uploading.scope_refusal("constituency/sahada", district, ["audience/sahada/march.csv"]) is None
    # Their content still goes under their own team's prefix only.
    assert uploading.scope_refusal("district/bhilwara", district, ["content/district/bhilwara/p.yaml"]) is None
    assert "uploads for district/bhilwara" in uploading.scope_refusal("constituency/sahada", district,
                                                                      ["content/constituency/sahada/p.yaml"])
    # A lead is no coordinator: neither the config nor another constituency's contacts.
    assert "only a coordinator" in uploading.scope_refusal("constituency/sahada", LEAD, ["config/campaign.yaml"])
    assert uploading.scope_refusal("constituency/kota", LEAD, ["audience/kota/march.csv"])


class FakeS3:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_object", kwargs["Key"]))
        return {"ETag": '"0123abcd"'}

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: Any, Config: Any, Callback: Any) -> None:
        self.calls.append(("upload_file", key))
        assert Config.multipart_threshold == uploading.MULTIPART_BYTES
        size = Path(filename).stat().st_size
        Callback(size // 2)
        Callback(size - size // 2)


def test_media_go_by_managed_transfer_and_the_rest_by_put_object_keeping_the_etag(tmp_path):
    import io

    from rich.console import Console

    (tmp_path / "poster.png").write_bytes(b"\x89PNG" + b"0" * 5000)
    (tmp_path / "post.yaml").write_text("title: t\ntext: x\n")
    plan = [LocalFile(tmp_path / "poster.png", "media", "content/state/poster.png"),
            LocalFile(tmp_path / "post.yaml", "manifest", "content/state/post.yaml")]
    s3, seen = FakeS3(), []
    sent = uploading.send(plan, "bucket", s3, Console(file=io.StringIO()), seen.append)
    assert s3.calls == [("upload_file", "content/state/poster.png"), ("put_object", "content/state/post.yaml")]
    assert [(s.key, s.etag, s.waits) for s in sent] == [("content/state/poster.png", None, False),
                                                         ("content/state/post.yaml", "0123abcd", True)]
    assert seen == sent


class FakeClient:
    """GET /api/uploads: each key answers after `after` looks (or never, or with an error)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.looks: dict[str, int] = {}

    def get(self, path: str, params: dict[str, Any]) -> Any:
        assert path == "api/uploads" and params["etag"] == "e"
        key = params["key"]
        self.looks[key] = self.looks.get(key, 0) + 1
        after, answer = self.answers[key]
        if isinstance(answer, Exception):
            raise answer
        return answer if after is not None and self.looks[key] >= after else {"answered": False}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sent(key: str) -> uploading.Sent:
    return uploading.Sent(key, "manifest", Path(key), "e")


def test_waiting_asks_once_a_second_until_each_upload_is_answered_or_the_time_is_up():
    accepted = {"answered": True, "outcome": "accepted", "content_ids": ["abc"]}
    client = FakeClient({"a.yaml": (3, accepted), "b.yaml": (None, None),
                         "c.yaml": (1, ApiError(403, "x cannot see uploads under content/state/")),
                         "d.yaml": (1, Unreachable("http://api/", "connection refused"))})
    uploads = [sent(k) for k in ("a.yaml", "b.yaml", "c.yaml", "d.yaml")]
    clock, answered = FakeClock(), []
    uploading.wait_for_answers(client, uploads, 10, answered.append, clock=clock, sleep=clock.sleep)
    assert answered == [uploads[0]] and uploads[0].answer == accepted
    assert client.looks == {"a.yaml": 3, "b.yaml": 11, "c.yaml": 1, "d.yaml": 11}
    assert clock.now == 10
    assert uploads[2].trouble == "x cannot see uploads under content/state/"
    assert "does not answer" in uploads[3].trouble
    assert [uploading.good(u) for u in uploads] == [True, False, False, False]
    assert "no answer within 10 s" in uploading.unanswered(uploads[1], 10)
    assert "x cannot see uploads" in uploading.unanswered(uploads[2], 10)


def describe(key: str, answer: dict[str, Any]) -> str:
    upload = sent(key)
    upload.answer = answer
    return "\n".join(uploading.describe(upload, "prachar-local-content"))


def test_an_accepted_answer_names_the_posts_accounts_warnings_and_what_was_kept_or_withdrawn():
    text = describe("content/constituency/sahada/p.yaml", {
        "answered": True, "outcome": "accepted", "content_ids": ["1a2b"], "accounts": ["fb-sahada", "x-sahada"],
        "kept": ["fb-sahada"], "withdrawn": ["wa-sahada"], "warnings": ["for x-sahada at …: it will be held"]})
    assert "content/constituency/sahada/p.yaml: accepted" in text
    assert "post id(s): 1a2b" in text and "scheduled for: fb-sahada, x-sahada" in text
    assert "kept (already out, not sent again): fb-sahada" in text and "withdrawn: wa-sahada" in text
    assert "it will be held" in text


def test_a_rejected_answer_lists_each_problem_with_its_fix_and_where_the_report_is():
    answer = {"answered": True, "outcome": "rejected", "more_problems": 3, "problems": [
        {"field": "platforms[0]", "problem": "Input should be 'facebook', 'x' or 'whatsapp'", "fix": "use one"},
        {"field": "title", "problem": "[bold]markup[/bold] is shown as typed", "fix": "", "row": 4}]}
    text = describe("content/state/p.yaml", answer)
    assert "p.yaml: rejected" in text
    assert "platforms[0]: Input should be 'facebook', 'x' or 'whatsapp'" in text and "fix: use one" in text
    assert "row 4, title: \\[bold]markup\\[/bold] is shown as typed" in text  # escaped for rich
    assert "… and 3 more" in text
    assert "the whole report: s3://prachar-local-content/errors/content/state/p.yaml.json" in text


def test_a_calendar_with_refused_rows_is_accepted_in_part_and_not_good():
    upload = sent("calendar/state/week.csv")
    upload.answer = {"answered": True, "outcome": "accepted", "content_ids": ["a", "b"],
                     "problems": [{"field": "publish_at", "problem": "not a time", "fix": "…", "row": 3}]}
    text = "\n".join(uploading.describe(upload, "b"))
    assert "accepted — 2 post(s) scheduled" in text and "row(s) refused (the other rows went ahead)" in text
    assert not uploading.good(upload)


@pytest.mark.parametrize(("outcome", "good", "words"), [
    ("unchanged", True, "unchanged — the same bytes were uploaded before"),
    ("superseded", True, "the later upload's answer is the one that counts"),
    ("gone", False, "deleted before the system read it"),
    ("imported", True, "imported"),
    ("incomplete", False, "imported in part"),
])
def test_every_outcome_is_explained(outcome, good, words):
    upload = sent("audience/sahada/m.csv" if outcome in ("imported", "incomplete") else "content/state/p.yaml")
    upload.answer = {"answered": True, "outcome": outcome, "counts": {"added": 3}}
    assert words in "\n".join(uploading.describe(upload, "b"))
    assert uploading.good(upload) is good


def test_an_earlier_uploads_answer_under_the_same_etag_is_said_to_be_that_uploads_on_a_bucket_without_versions():
    """The same bytes uploaded again to a bucket without versions have the same ETag, and the system keeps the first
    answer to them (services/upload_answers.py: "The first answer stays"): no answer of this upload's own ever comes.
    Waiting for one only ran out the time; the earlier answer is taken at once and said to be that upload's.
    (This replaces a test that waited for a later answer under the same ETag, which the system never gives.)"""
    from datetime import UTC, datetime

    earlier = {"answered": True, "outcome": "accepted", "answered_at": "2021-03-03T03:00:00Z", "content_ids": ["1a"]}
    client = FakeClient({"content/state/a.yaml": (1, earlier)})
    upload, clock, answered = sent("content/state/a.yaml"), FakeClock(), []
    uploading.wait_for_answers(client, [upload], 10, answered.append, clock=clock, sleep=clock.sleep,
                               since=datetime(2021, 3, 3, 3, 30, tzinfo=UTC))
    assert answered == [upload] and upload.answer == earlier and upload.earlier and clock.now == 0
    text = " ".join("\n".join(uploading.describe(upload, "b")).split())
    assert "content/state/a.yaml: accepted" in text
    assert "same bytes as an upload already answered (2021-03-03T03:00:00Z): accepted" in text
    assert "the bucket keeps no versions" in text
    assert uploading.good(upload)
    # An earlier refusal of the same bytes is said as such, and is not good.
    refused = sent("content/state/b.yaml")
    client = FakeClient({"content/state/b.yaml": (1, {**earlier, "outcome": "rejected", "problems": []})})
    uploading.wait_for_answers(client, [refused], 10, lambda _: None, clock=clock, sleep=clock.sleep,
                               since=datetime(2021, 3, 3, 3, 30, tzinfo=UTC))
    assert refused.earlier and not uploading.good(refused)
    assert "already answered (2021-03-03T03:00:00Z): rejected" in "\n".join(uploading.describe(refused, "b"))


def test_an_answer_given_after_the_upload_or_by_version_is_this_uploads_own():
    from datetime import UTC, datetime

    since = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
    fresh = {"answered": True, "outcome": "accepted", "answered_at": "2021-03-03T03:30:05Z"}
    old = {"answered": True, "outcome": "accepted", "answered_at": "2021-03-03T03:00:00Z"}
    clock = FakeClock()
    after = sent("content/state/a.yaml")
    uploading.wait_for_answers(FakeClient({after.key: (1, fresh)}), [after], 10, lambda _: None, since=since,
                               clock=clock, sleep=clock.sleep)
    versioned = uploading.Sent("content/state/b.yaml", "manifest", Path("b.yaml"), "e", version="v7")
    uploading.wait_for_answers(FakeClient({versioned.key: (1, old)}), [versioned], 10, lambda _: None, since=since,
                               clock=clock, sleep=clock.sleep)
    contacts = sent("audience/sahada/m.csv")  # an import's answer is the answer to those bytes, whenever given
    uploading.wait_for_answers(FakeClient({contacts.key: (1, old)}), [contacts], 10, lambda _: None, since=since,
                               clock=clock, sleep=clock.sleep)
    assert [u.earlier for u in (after, versioned, contacts)] == [False, False, False]
    assert not any("already answered" in line for line in uploading.describe(after, "b"))


def test_an_audience_imports_refused_rows_are_listed_and_counted_past_the_first_twenty():
    upload = sent("audience/sahada/march.csv")
    upload.answer = {"answered": True, "outcome": "imported", "counts": {"added": 5, "no_consent": 25},
                     "problems": [{"field": "consent_source", "message": f"row {n} has no consent source",
                                   "fix": "fill it in", "row": n} for n in range(2, 27)]}
    text = "\n".join(uploading.describe(upload, "b"))
    assert "march.csv: imported (added 5, no_consent 25)" in text
    assert "row 2, consent_source: row 2 has no consent source" in text and "row 22," not in text
    assert "… and 5 more" in text and "s3://b/errors/audience/sahada/march.csv.json" in text
    assert not uploading.good(upload)


def test_s3_refusing_the_upload_is_said_plainly_for_media_and_manifests_alike(tmp_path):
    import io

    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError
    from rich.console import Console

    from prachar_cli.api import CliError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")

    class Refusing(FakeS3):
        def put_object(self, **kwargs: Any) -> dict[str, Any]:
            raise denied

        def upload_file(self, *args: Any, **kwargs: Any) -> None:
            try:
                raise denied
            except ClientError as e:
                raise S3UploadFailedError(f"Failed to upload: {e}")  # noqa: B904 — as boto3 does

    (tmp_path / "clip.mp4").write_bytes(b"0" * 10)
    (tmp_path / "post.yaml").write_text("title: t\n")
    for item in (LocalFile(tmp_path / "clip.mp4", "media", "content/state/clip.mp4"),
                 LocalFile(tmp_path / "post.yaml", "manifest", "content/state/post.yaml")):
        with pytest.raises(CliError, match="AccessDenied"):
            uploading.send([item], "bucket", Refusing(), Console(file=io.StringIO()), lambda _: None)


def test_a_file_name_s3_cannot_store_is_said_not_raised(tmp_path):
    """botocore raises UnicodeEncodeError for a key with a name that is not UTF-8 (a lone surrogate from the file
    system): a message to rename the file, not a traceback."""
    import io

    from rich.console import Console

    from prachar_cli.api import CliError

    class Encoding(FakeS3):
        def put_object(self, **kwargs: Any) -> dict[str, Any]:
            kwargs["Key"].encode("utf-8")
            return super().put_object(**kwargs)

    (tmp_path / "post.yaml").write_text("title: t\n")
    item = LocalFile(tmp_path / "post.yaml", "manifest", "content/state/poster-caf\udce9.yaml")
    with pytest.raises(CliError, match="rename the file"):
        uploading.send([item], "bucket", Encoding(), Console(file=io.StringIO()), lambda _: None)
