"""Review of the voters' contacts import (issue 9, first part): each finding is a test that failed on the change.

The fixed ones stand as regression tests; those still marked xfail(strict=True) are open (the suite stays green until
they are fixed, and a fix that makes one pass turns it red until its marker goes). The docstring says what breaks
for the campaign and where (file:line). These run on the in-memory adapters and the pure domain; the
emulator-backed findings are in tests/functional/test_review_findings_6.py.
Line numbers (file:line) are those of commit 829548f, the change under review.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.domain.audience import COLUMNS, SHARDS, Refusal, check_row
from chalicelib.domain.audience_file import MAX_LINE, NotText, rows
from chalicelib.domain.campaign import Campaign
from chalicelib.domain.opt_out import Request, request_in
from chalicelib.services import audience_import
from chalicelib.services.activity import ActivityLog
from chalicelib.services.audience_import import AudienceImport
from infra.bucket_policy import bucket_policy
from tests.support import iam
from tests.support.audience_fakes import FakeBucket, FakeVault
from tests.support.world import CAMPAIGN_FILE

HEADER = "phone,name,consent_source,consent_at,notice_version,language,booth\n"
KEY = "audience/sahada/march.csv"
NOW = datetime(2021, 3, 10, 6, 0, tzinfo=UTC)


# ---- in-memory world (as tests/unit/test_audience_import.py builds it) -----------------------------------------
class World:
    def __init__(self, audience=None):
        self.clock = SteppedClock(datetime(2021, 3, 10, 6, 0, tzinfo=UTC))
        self.store, self.bucket, self.continued = InMemoryStore(), FakeBucket(), []
        self.audience = audience or InMemoryAudience()
        self.vault = FakeVault()
        self.service = AudienceImport(self.audience, self.vault, self.bucket, ActivityLog(self.store, self.clock),
                                      self.clock, lambda key, etag: self.continued.append((key, etag)))
        self.campaign = Campaign.model_validate(yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8")))

    def upload(self, text, etag, key=KEY):
        """A new upload of `key`: the one before it is no longer in the bucket (S3 keeps one current object)."""
        for old in [k for k in self.bucket.objects if k[0] == key]:
            del self.bucket.objects[old]
        self.bucket.objects[(key, etag)] = text.encode("utf-8")

    def contact(self, e164, constituency="sahada"):
        return self.audience.contact(constituency, self.vault.digest(e164))

    def all_contacts(self, constituency="sahada"):
        return [c for s in SHARDS for c in self.audience.contacts(constituency, s)]


def row(n, **changes):
    values = {"phone": f"98765 {n:05d}", "name": f"नाम {n}", "consent_source": "missed call",
              "consent_at": "2021-03-01T10:00:00+05:30", "notice_version": "v1", "language": "hi", "booth": "12"}
    values.update(changes)
    return ",".join(values.values()) + "\n"


@pytest.fixture()
def memory_world():
    return World()


def unlimited(seconds=900.0):
    return lambda: seconds


# ---- 1. the bucket policy keeps every team out of audience/ ----------------------------------------------------
def _decide(policy, action, key, user_id, bucket="prachar-prod-content"):
    """The bucket policy alone, over TLS: the shared evaluator (tests/support/iam.py)."""
    verdict = iam.decide(policy, iam.Request(action, f"arn:aws:s3:::{bucket}/{key}",
                                             (("aws:userid", user_id), ("aws:SecureTransport", "true"))))
    return "implicit" if verdict == "not allowed" else verdict


@pytest.mark.parametrize("user_id, who", [("AIDASAHADA01", "Sahada's lead"), ("AIDASAHADA02", "a Sahada member"),
                                         ("AIDASTATE01", "the state coordinator")])
def test_a_constituency_team_or_a_coordinator_may_upload_its_audience_file_once_principals_are_mapped(user_id, who):
    """Once the config maps principals (the only case in which AudienceImport checks the uploader at all), the
    bucket policy `make deploy` writes gives every team an explicit Deny on PutObject outside content/<scope>/ and
    calendar/<scope>/ — audience/ included — and no read of errors/audience/…. So in the cloud nobody in the
    campaign can upload `audience/sahada/march.csv` (S3 answers 403) and a non-member who could is refused by
    uploader_refused: the feature works only in a deployment without principals, i.e. without authorisation.
    Root cause: infra/bucket_policy.py:24-25 (team_prefixes has no audience/<constituency>/), used by the Deny
    statements at infra/bucket_policy.py:99-107 (and the read grant at :96-97); the new import did not extend it."""
    document = yaml.safe_load(CAMPAIGN_FILE.read_text("utf-8"))
    for team in document["teams"]:
        for member in team["members"]:
            member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    campaign = Campaign.model_validate(document)
    assert audience_import.uploader_refused(campaign, f"AWS:{user_id}", "sahada") is None, "the import would take it"
    policy = bucket_policy("prachar-prod-content", campaign, ["AIDADEPLOYER"])
    assert _decide(policy, "s3:PutObject", KEY, user_id) != "denied", f"{who} cannot upload {KEY}"
    assert _decide(policy, "s3:GetObject", f"errors/{KEY}.json", user_id) == "allowed", \
        f"{who} cannot read what was refused"


# ---- 2. consent rules ---------------------------------------------------------------------------------------
NAMES = [*COLUMNS, "booth"]
GOOD = {"phone": "98765 43210", "name": "सीता देवी", "consent_source": "missed call 2021-03",
        "consent_at": "2021-03-01T10:30:00+05:30", "notice_version": "v1", "language": "hi", "booth": "112"}


def cells(**changes):
    values = {**GOOD, **changes}
    return [values[name] for name in NAMES]


def test_a_bought_list_written_with_the_one_code_point_nukta_is_refused():
    """'ख़रीदी गई सूची' (a bought list) typed with U+0959 (ख़ as one code point, as several Hindi keyboards and
    converters write it) is imported as consent: NOT_CONSENT lists 'ख़रीद' only as ख + ◌़ (U+0916 U+093C) and
    check_row compares the raw cell with `in`, without NFC (which maps U+0959 to the two-code-point form). A
    purchased list goes in — exactly what compliance.md says is never consent.
    Root cause: chalicelib/domain/audience.py:136 (no unicodedata.normalize before the NOT_CONSENT match)."""
    checked = check_row(2, NAMES, cells(consent_source="\u0959रीदी गई सूची"), NOW)
    assert isinstance(checked, Refusal) and checked.reason == "not_consent"


def test_a_row_without_the_language_of_its_notice_counts_as_no_consent():
    """README: "A row without the whole consent record (source, time, the notice it was given, language) … is
    refused"; compliance.md asks to record the language the notice was given in. A row with every other consent
    field but an empty language is refused as `invalid_row` (like a too-long booth), so the activity log and
    reports/ say "1 invalid row" where the campaign must see "1 no consent".
    Root cause: chalicelib/domain/audience.py:22 (CONSENT_FIELDS leaves out language) and :161-162."""
    checked = check_row(2, NAMES, cells(language=""), NOW)
    assert isinstance(checked, Refusal) and checked.reason == "no_consent"


# ---- 3. the STOP parser misses plain withdrawals -------------------------------------------------------------
@pytest.mark.parametrize("reply", ["stop sending", "Please stop sending messages", "unsubscribe me",
                                   "मुझे मैसेज मत भेजो", "mujhe message mat bhejo", "ＳＴＯＰ", "stopp",
                                   "STOP STOP"])
def test_a_plain_request_to_stop_is_a_stop(reply):
    """DPDP: withdrawal must be as easy as consent. These replies are unambiguous requests to stop (no sentence
    around a stop word), yet request_in answers None, so once the parser is wired the voter keeps getting
    messages: the whole reply must equal a listed phrase after only the polite words at either end are dropped
    ('stop sending', 'मुझे … मत भेजो' are not listed; 'STOP STOP' is neither 'stop' nor a listed phrase),
    full-width letters are not folded (NFC, not NFKC), and a doubled letter ('stopp') is kept as is (only three or
    more repeats collapse).
    Root cause: chalicelib/domain/opt_out.py:29-44 (fixed phrase set), :62-67 (whole-phrase match), :75 (NFC),
    :82 (collapses `{2,}` repeats only)."""
    assert request_in(reply) == Request.STOP


# ---- 4. an older consent overwrites a newer one ------------------------------------------------------------
def test_the_same_number_twice_in_a_file_keeps_the_later_consent_even_across_batches(memory_world, monkeypatch):
    """README: "The same number twice in a file is one person (the later consent wins)". _store merges duplicates
    only inside one batch of BATCH (500) rows; a duplicate in the next batch is compared with the stored contact
    only for equality and overwrites it — so an older consent (here 1 March, after the 2 March one) replaces the
    newer and the count says 'updated' instead of 'merged'. Which consent a voter ends up with depends on whether
    the two rows are 499 or 501 rows apart.
    Root cause: chalicelib/services/audience_import.py:170-177 (merge per batch) and :190-196 (a stored contact
    is replaced whatever its consent time); audience_store.save_contacts is an unconditional put."""
    monkeypatch.setattr(audience_import, "BATCH", 3)
    w = memory_world
    w.upload(HEADER + row(1, consent_at="2021-03-02T10:00:00+05:30") + row(2) + row(3)
             + row(1, consent_at="2021-03-01T10:00:00+05:30"), "e1")
    outcome = w.service.run(w.campaign, KEY, "e1", unlimited())
    assert w.contact("+919876500001").consent_at == datetime(2021, 3, 2, 4, 30, tzinfo=UTC), "the later consent"
    assert outcome.counts == {"added": 3, "merged": 1}


def test_a_changed_file_is_not_undone_by_the_still_running_import_of_the_file_it_replaced(memory_world):
    """The team uploads march.csv, spots a mistake and uploads the corrected file a minute later. Both imports run
    at once (two Lambdas). The old upload's import, whose stream was opened before the new upload, writes its batch
    after the new import has finished — every contact of that batch goes back to the old file's consent (here the
    notice v2 re-consent of 5 March is replaced by the 1 March one), and nothing ever corrects it: the corrected
    file's import is 'imported'.
    Root cause: chalicelib/adapters/audience_store.py:82-83 (an unconditional PutRequest per contact, no check of the
    stored contact's upload or consent time) called from chalicelib/services/audience_import.py:203."""
    w = memory_world
    old_text, new_text = HEADER + row(1), HEADER + row(1, consent_at="2021-03-05T10:00:00+05:30", notice_version="v2")
    w.upload(old_text, "old")
    stream = w.service.bucket.stream(KEY, "old", 0)  # the old import's GET, opened before the new upload

    class Opened(FakeBucket):
        def stream(self, key, etag, start):
            return stream if etag == "old" else w.bucket.stream(key, etag, start)

    real_save = w.audience.save_contacts
    raced = []

    def save_contacts(contacts):
        contacts = list(contacts)
        if not raced:  # the old import is about to write: meanwhile the new upload is imported whole
            raced.append(True)
            w.upload(new_text, "new")
            assert w.service.run(w.campaign, KEY, "new", unlimited()).outcome == "imported"
        return real_save(contacts)

    w.audience.save_contacts = save_contacts
    old_import = AudienceImport(w.audience, w.vault, Opened(), w.service.activity, w.clock, lambda *_: None)
    old_import.run(w.campaign, KEY, "old", unlimited())
    assert w.contact("+919876500001").notice_version == "v2", "the corrected file's consent is kept"


# ---- 5. counts when an import is resumed or raced -----------------------------------------------------------
class CrashOnce(InMemoryAudience):
    """The Lambda dies (timeout, a throttled write, a lost connection) between a batch's write and its checkpoint."""

    def __init__(self, crash_at_call):
        super().__init__()
        self.calls, self.crash_at_call = 0, crash_at_call

    def save_import_state(self, key, etag, state, *, version):
        self.calls += 1
        if self.calls == self.crash_at_call:
            raise TimeoutError("Task timed out after 900.00 seconds")
        return super().save_import_state(key, etag, state, version=version)


def test_an_import_retried_after_a_crash_between_write_and_checkpoint_reports_the_rows_it_added(monkeypatch):
    """A crash after a batch's contacts are written but before the checkpoint (call 3 of save_import_state) is
    retried from the checkpoint before (Lambda's async retry). The retry reads the same rows, finds them in the
    table with the same consent and counts them 'unchanged': the activity log and reports/ say 2 added, 3
    unchanged for a file that added 5 new people (with BATCH = 500: 500 people missing from 'added' per crash).
    Root cause: chalicelib/services/audience_import.py:140-146 (contacts written before the counts are checkpointed)
    with :190-196 (the count is derived from what the table already holds)."""
    monkeypatch.setattr(audience_import, "BATCH", 3)
    w = World(CrashOnce(crash_at_call=3))  # 1: take, 2: numbered, 3: first checkpoint
    w.upload(HEADER + "".join(row(n) for n in range(1, 6)), "e1")
    with pytest.raises(TimeoutError):
        w.service.run(w.campaign, KEY, "e1", unlimited())
    retried = w.service.run(w.campaign, KEY, "e1", unlimited())
    assert retried.outcome == "imported"
    assert retried.counts == {"added": 5}


def test_an_s3_redelivery_racing_the_continuation_does_not_change_the_counts(monkeypatch):
    """An import pauses after its first batch and queues its continuation; S3 delivers the upload's event again
    (at-least-once) while the continuation runs. The continuation writes rows 5-7, then the redelivered invocation
    takes the import over (version check), reads rows 5-7 again and counts them 'unchanged'; the continuation is
    'busy' at its checkpoint. The final report says 4 added, 3 unchanged for 7 new people.
    Root cause: chalicelib/services/audience_import.py:109-111 and :144-145 (the version check stops the loser only
    after it has written its batch) with :190-196 (counts taken from the table's state)."""
    monkeypatch.setattr(audience_import, "BATCH", 3)
    w = World()
    w.upload(HEADER + "".join(row(n) for n in range(1, 8)), "e1")
    first = w.service.run(w.campaign, KEY, "e1", unlimited(30))  # after one batch: 30 s left, pause
    assert first.outcome == "continuing"
    real_save, results, raced = w.audience.save_contacts, [], []

    def save_contacts(contacts):
        written = real_save(contacts)
        if not raced:  # the continuation's batch is written: the redelivered S3 event runs now
            raced.append(True)
            results.append(w.service.run(w.campaign, KEY, "e1", unlimited(), uploaded_by="AWS:AIDAEXAMPLE"))
        return written

    w.audience.save_contacts = save_contacts
    continuation = w.service.run(w.campaign, KEY, "e1", unlimited(), continued=True)
    assert (continuation.outcome, results[0].outcome) == ("busy", "imported")
    assert results[0].counts == {"added": 7}


# ---- 6. a STOP or an erasure racing an import --------------------------------------------------------------
def test_a_number_erased_while_its_batch_is_being_imported_is_not_stored_again(memory_world):
    """An erasure (suppress as 'erased' and delete the contact) that lands between the batch's BatchGet of
    suppressions and its BatchWrite — the batch seals 500 contacts in between, one KMS call included — is undone:
    the import writes the contact (sealed number and name) back after the erasure, and no later check removes it.
    compliance.md: a withdrawal "takes effect at once and is never undone by a later re-import".
    Root cause: chalicelib/services/audience_import.py:178-203 (check-then-write) and
    chalicelib/adapters/audience_store.py:82-83 (BatchWriteItem cannot carry a condition on SUPPRESS#<digest>;
    nothing re-checks the suppressions after the write)."""
    w = memory_world
    w.upload(HEADER + row(1) + row(2), "e1")
    digest = w.vault.digest("+919876500001")
    real_known = w.audience.known

    def known(constituency, digests):
        answer = real_known(constituency, digests)
        w.audience.suppress(digest, "erased", w.clock.now())   # the erasure request, handled meanwhile
        w.audience.delete_contacts(constituency, [digest])
        return answer

    w.audience.known = known
    w.service.run(w.campaign, KEY, "e1", unlimited())
    assert w.audience.suppression(digest).reason == "erased"
    assert w.contact("+919876500001") is None, "the erased person's sealed number and name are back in the table"


# ---- 7. re-uploads -------------------------------------------------------------------------------------------
def test_the_file_uploaded_again_after_its_import_was_superseded_is_imported(memory_world, monkeypatch):
    """march.csv (ETag e1) pauses after its first batch; before the continuation runs a wrong file is uploaded over
    it (e2), so the continuation finds e1 gone and marks IMPORT#…/e1 'superseded'. The team puts march.csv back
    (same bytes → ETag e1 again): the import answers 'unchanged — was imported before (superseded)' and the rows
    after the first batch are never imported.
    Root cause: chalicelib/services/audience_import.py:96 (every status but 'running' counts as done; 'superseded'
    means the bytes were never read to the end)."""
    monkeypatch.setattr(audience_import, "BATCH", 3)
    w = memory_world
    text = HEADER + "".join(row(n) for n in range(1, 8))
    w.upload(text, "e1")
    assert w.service.run(w.campaign, KEY, "e1", unlimited(30)).outcome == "continuing"
    w.upload(HEADER + row(99), "e2")  # the wrong file
    assert w.service.run(w.campaign, KEY, "e1", unlimited(), continued=True).outcome == "superseded"
    w.upload(text, "e1")  # the right file again: the same bytes, the same ETag
    again = w.service.run(w.campaign, KEY, "e1", unlimited(), uploaded_by="AWS:AIDAEXAMPLE")
    assert again.outcome == "imported"
    assert {w.vault.digest(f"+9198765{n:05d}") for n in range(1, 8)} <= {c.digest for c in w.all_contacts()}


def test_a_changed_file_that_corrects_a_name_or_booth_updates_the_contact(memory_world):
    """README: "a changed file adds and updates". A corrected name (or booth) with the same consent is counted
    'unchanged' and not written, so broadcasts keep addressing 'सीता' at booth 12 however often the fixed file is
    uploaded. Root cause: chalicelib/services/audience_import.py:190-195 (equality of the four consent fields only;
    the sealed fields are never compared)."""
    w = memory_world
    w.upload(HEADER + row(1, name="सीता"), "e1")
    w.service.run(w.campaign, KEY, "e1", unlimited())
    w.upload(HEADER + row(1, name="सीता देवी", booth="14"), "e2")
    outcome = w.service.run(w.campaign, KEY, "e2", unlimited())
    opened = w.vault.open(w.contact("+919876500001").sealed)
    assert (opened["name"], opened["booth"]) == ("सीता देवी", "14")
    assert outcome.counts == {"updated": 1}


def test_contacts_get_their_erasure_date_once_the_counting_day_is_known(memory_world):
    """compliance.md: erase contact data when the purpose is served; README: "the items carry a DynamoDB TTL".
    Vallabhnagar's config has no counting day yet, so its contacts are stored with no expires_at. When the
    coordinator adds the counting day and the team uploads its list again (changed: one more person), the existing
    contacts are 'unchanged' and not written — they keep no TTL, and the scheduled purge is meant to go by that
    same expires_at (domain/audience.StoredContact): they are kept for ever.
    Root cause: chalicelib/services/audience_import.py:262-263 (no counting → no expiry) and :190-195 (an
    'unchanged' contact keeps whatever expiry it had)."""
    w = memory_world
    key = "audience/vallabhnagar/list.csv"
    w.upload(HEADER + row(1), "e1", key=key)
    w.service.run(w.campaign, key, "e1", unlimited())
    document = yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8"))
    document["constituencies"][1]["counting"] = "2021-11-02"
    later = Campaign.model_validate(document)
    w.upload(HEADER + row(1) + row(2), "e2", key=key)
    w.service.run(later, key, "e2", unlimited())
    assert w.contact("+919876500002", "vallabhnagar").expires_at is not None
    assert w.contact("+919876500001", "vallabhnagar").expires_at is not None


# ---- 8. errors/ ----------------------------------------------------------------------------------------------
def test_a_file_without_a_header_row_does_not_put_a_number_in_the_clear_in_its_error_report(memory_world):
    """The most common CSV mistake — no header row — makes the first person's row the header. If a value repeats
    in it (the number in both a mobile and a WhatsApp column) check_header reports "the header names 98765 43210
    twice": the voter's whole number, unmasked, in errors/<key>.json (which the uploading team and every reader of
    the bucket's errors/ sees), against "People see +91XXXXXX1234, never more".
    Root cause: chalicelib/domain/audience.py:102-103 (the duplicate column's name echoed with printable, not masked)
    reached from chalicelib/services/audience_import.py:125-128."""
    w = memory_world
    w.upload("98765 43210,सीता देवी,missed call,2021-03-01,v1,hi,98765 43210\n" + row(2), "e1")
    assert w.service.run(w.campaign, KEY, "e1", unlimited()).outcome == "rejected"
    report = json.dumps(w.bucket.errors[KEY], ensure_ascii=False)
    assert "98765 43210" not in report and "9876543210" not in report


def test_the_error_report_lists_every_refused_row_or_says_that_it_does_not(memory_world):
    """MAX_LISTED caps *problems* (1,000) but the summary compares it with refused *rows*. 300 rows refused with four
    problems each fill the list at row 251; errors/<key>.json says "300 row(s) not imported … the other rows were
    imported" without "the first 1,000 are listed", and rows 252-301 appear nowhere — the team fixes what is listed,
    uploads again and loses those 50 people without being told.
    Root cause: chalicelib/services/audience_import.py:225 (refused rows compared with MAX_LISTED) vs :268-272
    (the cap counts problems)."""
    w = memory_world
    bad = dict(consent_source="bought list", consent_at="", notice_version="", language="")
    w.upload(HEADER + "".join(row(n, **bad) for n in range(1, 301)), "e1")
    w.service.run(w.campaign, KEY, "e1", unlimited())
    report = w.bucket.errors[KEY]
    listed_rows = {p["row"] for p in report["problems"]}
    assert len(listed_rows) == 300 or "listed" in report["summary"], report["summary"]


# ---- 9. a huge row --------------------------------------------------------------------------------------------
def test_a_row_far_longer_than_any_contact_is_refused_like_a_long_line():
    """MAX_LINE (64 KB, "no contact row needs more") is checked per physical line. A row whose cells are quoted and
    each end in a newline is made of short lines, so the csv module builds one row of any size in memory: here 1.4 MB
    (21 x MAX_LINE, 100,000 cells) comes out as one row. Measured: a 24 MB such row peaks at ~130 MB of Python objects
    and ~25 s with no look at the clock (the time check is between rows), so a ~200 MB file kills the 1 GB Lambda
    on every retry — the import wedged 'running', no report.
    Root cause: chalicelib/domain/audience_file.py:35-44 (length checked on the pending line buffer only, :42) and :64
    (csv.reader accumulates a multi-line record without a bound on its size or cell count)."""
    import csv

    cell = b'"' + b"y" * 10 + b'\n"'
    body = b"phone,name\n" + b",".join([cell] * 100_000) + b"\n"
    chunks = [body[i:i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    assert len(body) > 16 * MAX_LINE and max(len(line) for line in body.split(b"\n")) < MAX_LINE
    with pytest.raises((NotText, csv.Error)):
        whole = list(rows(chunks))
        print(f"one row of {len(whole[-1].cells):,} cells, {whole[-1].end - whole[0].end:,} bytes")
