"""Review of the voters' contacts import (issue 9, first part), on the emulator: each finding is a test that failed
on the change. The fixed ones stand as regression tests; those still marked xfail(strict=True) are open. The
docstring says what breaks for the campaign and where (file:line). Pure-domain and in-memory findings:
tests/unit/test_review_findings_6.py. Line numbers (file:line) are those of commit 829548f, the change under review.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters import aws
from chalicelib.domain.audience import SHARDS
from tests.functional.test_audience_import import HEADER, KEY, every_item, rows


class Context:
    def __init__(self, seconds=900):
        self.seconds = seconds

    def get_remaining_time_in_millis(self):
        return self.seconds * 1000


def import_(active, key=KEY):
    from chalicelib import entry

    return entry.import_audience(active.s3_event(key), Context())


def contacts(active, constituency="sahada"):
    return [c for s in SHARDS for c in active.container.audience.contacts(constituency, s)]


def test_an_import_whose_first_invocation_fails_early_is_finished_by_the_retry(active, monkeypatch):
    """The first invocation takes the import by writing its initial state {"names": None, …}; the codec drops None
    attributes (to_item), so the item has no 'names'. If that invocation then fails before its first checkpoint
    (500 rows) — here KMS throttles GenerateDataKey once; a timeout, a DynamoDB or S3 error do the same — Lambda's
    retry reads the state back and stops at state["names"] with KeyError, and so does every later retry and every
    re-upload of the same bytes: the import is 'running' for ever, nothing of the file goes in, and the team gets no
    errors/<key>.json and no activity entry. The in-memory store keeps None, so the unit tests cannot see it.
    Root cause: chalicelib/services/audience_import.py:101-103 and :119 (state["names"]) with
    chalicelib/adapters/dynamo_codec.py:15 (None values are not stored) via
    chalicelib/adapters/audience_store.py:142-146."""
    from botocore.exceptions import ClientError

    active.put(KEY, HEADER + rows(range(1, 6)))
    vault = active.container.vault
    kms, throttled = vault._kms, []

    class Throttling:
        def __getattr__(self, name):
            return getattr(kms, name)

        def generate_data_key(self, **kwargs):
            if not throttled:
                throttled.append(True)
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                                  "GenerateDataKey")
            return kms.generate_data_key(**kwargs)

    monkeypatch.setattr(vault, "_kms", Throttling())
    with pytest.raises(ClientError):
        import_(active)  # the first try
    failures = []
    for _ in range(2):  # Lambda's two retries of the S3 event
        try:
            assert import_(active) == ["imported"]
            break
        except KeyError as exc:
            failures.append(exc)
    assert failures == [], f"every retry failed: KeyError {failures[0]}"
    assert len(contacts(active)) == 5


def test_a_duplicate_s3_event_during_the_first_batch_does_not_wedge_the_import(active, monkeypatch):
    """The same state without 'names' (see the test above) needs no crash: S3 delivers an event at least once, and a
    duplicate arriving while the first invocation is in its first batch reads the initial state, *takes* the import
    (its versioned write succeeds) and only then fails on state["names"] (KeyError). The first invocation, at its
    checkpoint, finds the version moved and stops as 'busy'. Lambda retries the duplicate: KeyError again. Nothing
    after the first batch is ever imported, and nobody is told.
    Root cause: chalicelib/services/audience_import.py:107-119 (the take happens before the state is read whole) with
    chalicelib/adapters/dynamo_codec.py:15 (names=None is not stored)."""
    from chalicelib.services import audience_import

    monkeypatch.setattr(audience_import, "BATCH", 3)
    active.put(KEY, HEADER + rows(range(1, 8)))
    audience = active.container.audience
    real_save, duplicate = audience.save_contacts, []

    def save_contacts(contacts):
        written = real_save(contacts)
        if not duplicate:  # S3's duplicate delivery of the same event arrives now
            duplicate.append(True)
            try:
                duplicate.append(import_(active))
            except KeyError as exc:
                duplicate.append(exc)
        return written

    monkeypatch.setattr(audience, "save_contacts", save_contacts)
    first = import_(active)
    retries = []
    for _ in range(2):  # Lambda retries the duplicate's failure twice
        try:
            retries.append(import_(active))
        except KeyError as exc:
            retries.append(exc)
    assert len(contacts(active)) == 7, f"first: {first}, duplicate: {duplicate[1]!r}, retries: {retries!r}"


def test_a_placeholder_consent_date_does_not_wedge_the_whole_import(active, monkeypatch):
    """CRM and SQL exports write an empty date as DateTime.MinValue, '0001-01-01T00:00:00'. check_row accepts it as a
    consent time (it is not in the future), makes it IST, and the store's to_iso(...).astimezone(UTC) overflows
    (year 0) while the batch is being written: OverflowError, outside the import's except clause. The Lambda fails;
    each retry resumes from the last checkpoint and fails on the same row. The good rows of that batch (up to 499)
    and every row after it are never imported, the import stays 'running' for ever, and the team gets no
    errors/<key>.json and no activity entry — the event only reaches the upload-failures queue.
    Root cause: chalicelib/domain/audience.py:142-148 and :169-177 (no lower bound on a consent time) →
    chalicelib/adapters/audience_store.py:43 (to_iso) ← chalicelib/services/audience_import.py:149 (only NotText and
    csv.Error are caught)."""
    from chalicelib.services import audience_import

    monkeypatch.setattr(audience_import, "BATCH", 3)  # the bad row after the first checkpoint (see the test above)
    active.put(KEY, HEADER + rows(range(1, 4)) + rows([4], consent_at="0001-01-01T00:00:00") + rows(range(5, 7)))
    outcomes, failures = [], []
    for _ in range(3):  # Lambda's first try and its two retries of an S3 event
        try:
            outcomes.append(import_(active))
            break
        except OverflowError as exc:
            failures.append(exc)
    assert outcomes == [["imported"]], f"{len(failures)} attempts failed: OverflowError {failures[:1]}"
    assert len(contacts(active)) == 5


def test_a_file_of_refused_rows_with_long_sources_still_finishes_with_its_error_report(active):
    """'listed' keeps up to 1,000 problems and every checkpoint writes it into the one IMPORT#<key> item. Each
    problem echoes up to 60 characters of the cell; a not-consent source of 4-byte characters makes a problem ~420
    bytes, so after 1,000 refused rows the item passes DynamoDB's 400 KB limit, PutItem is refused
    (ValidationException → PersistenceError) at the second checkpoint, and every retry stops at the same place: no
    errors/<key>.json, no report, the import 'running' for ever. (Ordinary Hindi text reaches ~375 KB — just under
    the limit, rewritten in full at every checkpoint of 500 rows.)
    Root cause: chalicelib/services/audience_import.py:37 and :268-272 (a count cap, not a byte cap) written at
    :143-144 through chalicelib/adapters/audience_store.py:139-146."""
    source = "bought list " + "😀" * 100
    active.put(KEY, HEADER + rows(range(1, 1001), consent_source=source) + rows([1001]))
    from chalicelib.errors import PersistenceError

    try:
        outcome = import_(active)
    except PersistenceError as exc:
        outcome = [f"raised {exc}: {exc.__cause__}"]
    assert outcome == ["imported"]
    assert active.error_report(KEY)["counts"] == {"not_consent": 1000, "added": 1}


def test_a_corrected_file_clears_the_error_report_of_the_one_it_replaced(active):
    """The team uploads march.csv, reads errors/audience/sahada/march.csv.json ("1 row(s) not imported … no
    consent"), fixes the row and uploads again. Every row goes in, but the old report stays, still saying a row was
    refused — the team cannot tell the fix worked (config, content and calendar uploads clear theirs:
    services/ingest.py:95, :248, :356).
    Root cause: chalicelib/services/audience_import.py:221-228 (the report is written when something was refused and
    otherwise left as it was; bucket.clear_error_report is never called)."""
    active.put(KEY, HEADER + rows([1, 2]) + rows([3], consent_at=""))
    assert import_(active) == ["imported"]
    assert active.error_report(KEY)["counts"]["no_consent"] == 1
    active.put(KEY, HEADER + rows([1, 2, 3]))
    assert import_(active) == ["imported"]
    assert len(contacts(active)) == 3
    assert active.error_report(KEY) is None, active.error_report(KEY)["summary"]


def test_a_changed_file_counts_a_contact_with_a_sub_second_consent_time_as_unchanged(active):
    """Form and app exports give consent times with milliseconds ('…T10:00:00.250+05:30'). The table keeps them cut
    to the second (to_iso), so the next upload of the list compares 10:00:00 with 10:00:00.250, counts every such
    contact 'updated' and re-seals and rewrites it (one KMS data key and a write per contact, every upload) — and
    the in-memory store used by the unit tests keeps the microseconds, so the contract tests cannot see it. The
    stored consent time is also not the one the file recorded.
    Root cause: chalicelib/domain/times.py:41 (to_iso drops sub-seconds) used by
    chalicelib/adapters/audience_store.py:43, compared at chalicelib/services/audience_import.py:191-193."""
    first = rows([1], consent_at="2021-03-01T10:00:00.250+05:30")
    active.put(KEY, HEADER + first)
    assert import_(active) == ["imported"]
    active.put(KEY, HEADER + first + rows([2]))
    etag = aws.client("s3").head_object(Bucket="prachar-test-content", Key=KEY)["ETag"].strip('"')
    campaign = active.container.campaigns.active()
    outcome = active.container.audience_import().run(campaign, KEY, etag, lambda: 900.0)
    assert outcome.counts == {"unchanged": 1, "added": 1}


def test_a_number_written_in_the_consent_source_is_not_kept_in_the_clear(active):
    """README: "No number is kept in the clear". consent_source (and notice_version) are free text from the file and
    go into the contact item unsealed; a source like 'referral: रमेश 98290 12345' — volunteers note who referred
    someone — puts another voter's name and whole number in the table in plain text (and, for a bought-list source,
    into errors/<key>.json via printable(source, 60)). Nothing looks for digits in these cells.
    Root cause: chalicelib/adapters/audience_store.py:40-44 (consent_source stored as is) and
    chalicelib/domain/audience.py:135-141 / :166 (the source is accepted without masking or refusing numbers)."""
    active.put(KEY, HEADER + rows([1], consent_source="referral: रमेश 98290 12345"))
    assert import_(active) == ["imported"]
    table = json.dumps(every_item(), ensure_ascii=False)
    assert "98290 12345" not in table and "9829012345" not in table


def test_the_uploaded_file_does_not_outlive_its_import_with_every_number_in_the_clear(active):
    """The table holds numbers only sealed, with a TTL after counting — but the uploaded audience/<constituency>/….csv,
    every voter's number and name in plain text, stays in the content bucket after the import, with no lifecycle
    rule, in a *versioned* bucket (a delete only adds a marker; every earlier upload stays as a noncurrent
    version). An erasure request or the retention period (compliance.md: "erase contact data when the purpose is
    served … and on request") cannot reach it, and anyone who may read the bucket reads the list.
    Root cause: chalicelib/services/audience_import.py:213-239 (nothing is done with the upload once imported) and
    infra/resources.yaml:29-46 (ContentBucket: VersioningConfiguration Enabled, no LifecycleConfiguration for
    audience/)."""
    from botocore.exceptions import ClientError

    active.put(KEY, HEADER + rows([1]))
    assert import_(active) == ["imported"]
    try:
        rules = aws.client("s3").get_bucket_lifecycle_configuration(Bucket="prachar-test-content")["Rules"]
    except ClientError:
        rules = []
    expiring = [r for r in rules if r.get("Status") == "Enabled"
                and r.get("Filter", {}).get("Prefix", r.get("Prefix", "")) in ("", "audience/")
                and "Expiration" in r and "NoncurrentVersionExpiration" in r]
    left = active.read(KEY)
    assert left is None or expiring, f"{KEY} still holds {left.decode()!r} and no rule ever removes it"
