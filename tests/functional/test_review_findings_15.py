"""Review 15: a hostile review of 0808d30 — uploads answered by ETag (GET /api/uploads), /api/me, /api/campaign,
content and calendar events reading exactly their upload, the audience import storing a rejection state.

Each test here failed on the code under review, for the reason its docstring gives (and at 30ec980, the command line
with answers kept by S3 version id, which landed during the review); they pass since the fixes: the first answer to an
upload stays, a retried upload whose work was done is answered as accepted, a refusal before an audience file is read
is answered apart from its import, the version is required to ask, other teams' members are not handed out. They
drive the real handlers with the S3 event shapes of tests/support/world.py, and read the answers through the
signed-in API as `prachar upload` does (key, ETag and version id).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.adapters import aws
from chalicelib.domain.post import content_id_for
from chalicelib.errors import PersistenceError
from tests.support.campaigns import with_principals
from tests.support.world import BUCKET, CAMPAIGN_FILE

FOLDER = "content/constituency/sahada/2021-03"
CALENDAR = "calendar/constituency/sahada/2021-03"
GOOD = "title: बजट\ntext: सहाड़ा में नया महाविद्यालय\nplatforms: [facebook, x]\npublish_at: 2021-03-10T09:00:00+05:30\n"
# Due after Sahada's silence has begun: accepted, with a warning that it will be held.
HELD = "title: देर\ntext: पाठ\nplatforms: [facebook]\npublish_at: 2021-04-16T09:00:00+05:30\n"
AUDIENCE = ("phone,name,consent_source,consent_at,notice_version,language\n"
            "+91 98765 00001,मतदाता,missed call,2021-03-01T10:00:00+05:30,v1,hi\n")


def upload_of(key: str) -> tuple[str, str | None]:
    """The upload as its uploader knows it: the ETag and (the bucket being versioned) the version id S3 answered."""
    head = aws.client("s3").head_object(Bucket=BUCKET, Key=key)
    return head["ETag"].strip('"'), head.get("VersionId")


def answer(client, key: str, upload: tuple[str, str | None], member: str = "sahada-02"):
    """GET /api/uploads as `prachar upload` asks it: key, ETag and version id."""
    etag, version = upload
    query = {"key": key, "etag": etag, **({"version": version} if version else {})}
    return client.http.get(f"/api/uploads?{urlencode(query)}", member=member)


# ---- 1. A later processing of the same upload overwrites its answer -----------------------------------------------

def test_a_duplicate_s3_event_turns_an_accepted_answer_into_unchanged_without_its_accounts_or_warnings(active,
                                                                                                       client):
    """HIGH. S3 delivers an event at least once. The second delivery of an accepted manifest's event finds the same
    sha256 stored, returns "unchanged", and `_answered` overwrites the upload's answer with it: accounts [] and no
    election warning. The uploader who polls after the duplicate is told nothing changed, that no account will post
    it, and never hears that the silence will hold it — the one warning this answer exists to carry. Write the
    answer once per upload (a conditional put: attribute_not_exists), so a duplicate or a retry leaves the first
    verdict."""
    key = f"{FOLDER}/held.yaml"
    active.put(key, HELD)
    event = active.s3_event(key)
    client.lambda_.invoke("on_content_upload", event)
    first = answer(client, key, upload_of(key)).json_body
    assert first["outcome"] == "accepted" and first["accounts"] == ["fb-sahada"] and first["warnings"], first

    client.lambda_.invoke("on_content_upload", event)  # S3 delivers the same event again
    after = answer(client, key, upload_of(key)).json_body
    assert (after["outcome"], after["accounts"], after["warnings"]) == (
        first["outcome"], first["accounts"], first["warnings"]), f"the duplicate rewrote the answer: {after}"


def test_a_retry_after_the_answer_could_not_be_stored_answers_unchanged(active, client, monkeypatch):
    """HIGH. The answer is written last, after the posts and the content record. When that write fails (a
    throttled or unavailable table: PersistenceError, which S3/Lambda retries, as designed), the retry finds the
    content already stored with the same sha256 and answers "unchanged", accounts [] — the first upload of a new
    file is reported as "re-uploaded unchanged; nothing to do". A retry must answer what the upload did: record the
    verdict with the content (or, on "unchanged", keep an answer already kept for that upload)."""
    key = f"{FOLDER}/retried.yaml"
    active.put(key, GOOD)
    store = active.container.store
    real, failures = store.record_upload_answer, []

    def fails_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise PersistenceError("DynamoDB put_item failed: ProvisionedThroughputExceededException")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record_upload_answer", fails_once)
    event = active.s3_event(key)
    with pytest.raises(PersistenceError):  # not the upload's fault: Lambda retries the event
        client.lambda_.invoke("on_content_upload", event)
    client.lambda_.invoke("on_content_upload", event)
    body = answer(client, key, upload_of(key)).json_body
    assert body["outcome"] == "accepted" and sorted(body["accounts"]) == ["fb-sahada", "x-sahada"], (
        f"a new upload, retried after a storage failure, is told it changed nothing: {body}")


def test_an_accepted_uploads_answer_becomes_superseded_when_its_event_comes_again_after_a_newer_upload(active,
                                                                                                     client):
    """MEDIUM. Upload A is read and accepted (its posts scheduled — due now, they may already be out). B replaces
    it. S3 then delivers A's event a second time: the IfMatch read fails, and `_answered` overwrites A's "accepted"
    with "superseded", which `prachar upload` shows as "the key was uploaded again before the system read this file".
    A's uploader, still polling, is told A was never read — though its posts were scheduled, maybe published — and
    uploads it again, over B. An answer, once given, must stand (write it only where none is kept)."""
    key = f"{FOLDER}/replaced.yaml"
    active.put(key, GOOD)
    a_upload, a_event = upload_of(key), active.s3_event(key)
    client.lambda_.invoke("on_content_upload", a_event)
    assert answer(client, key, a_upload).json_body["outcome"] == "accepted"

    active.put(key, GOOD.replace("बजट", "बजट (सुधार)"))
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    client.lambda_.invoke("on_content_upload", a_event)  # A's event, delivered again
    body = answer(client, key, a_upload).json_body
    assert body["outcome"] == "accepted" and body["content_ids"] == [content_id_for(key)], (
        f"A was read and accepted; a late duplicate of its event rewrote that: {body}")


def test_a_duplicate_calendar_event_empties_the_post_ids_of_its_answer(active, client):
    """MEDIUM. For a calendar, `content_ids` are the rows scheduled by this processing; a second delivery of the
    same event finds every row unchanged and schedules none, and its answer replaces the first: "accepted" with no
    post ids and no warnings. `prachar upload` then shows a calendar of scheduled rows as having made no post."""
    key = f"{CALENDAR}/week.csv"
    active.put(key, "publish_at,platforms,title,text,link,media,series\n"
                    "2021-03-10T09:00,facebook,एक,पाठ,,,\n2021-03-11T09:00,facebook,दो,पाठ,,,\n")
    event = active.s3_event(key)
    client.lambda_.invoke("on_calendar_upload", event)
    first = answer(client, key, upload_of(key)).json_body
    assert len(first["content_ids"]) == 2, first
    client.lambda_.invoke("on_calendar_upload", event)
    after = answer(client, key, upload_of(key)).json_body
    assert sorted(after["content_ids"]) == sorted(first["content_ids"]), f"the duplicate emptied it: {after}"


# ---- 2. The audience import's new rejection state blocks the valid upload that follows ---------------------------

def test_an_audience_file_refused_for_its_uploader_is_never_imported_when_the_right_member_uploads_it(
        active, client):
    """HIGH (regression: a valid file is lost). `_reject` now saves {"status": "rejected"} under (key, ETag) for a
    file refused before it is read (uploader refused, not a constituency), with no `generation`. When the same
    bytes are then uploaded by someone allowed (the team's own member, or after a coordinator added the uploader's
    principal — the fix the refusal itself gives), `run` reads that state: generation 0 == generation(key) 0
    (nothing of the key was ever imported), "rejected" is in DONE, so it answers "unchanged — imported before
    (rejected); nothing to do". The contacts are never imported, errors/<key>.json still says "nothing from this
    file was imported", and GET /api/uploads says "rejected". Before this change the refusal stored nothing and the
    second upload was imported. Store the refusal's answer apart from the import's state (or give it a generation,
    or do not treat a refused-before-read state as DONE)."""
    active.put("config/campaign.yaml", with_principals(CAMPAIGN_FILE.read_text(encoding="utf-8")))
    assert active.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    key = "audience/sahada/march.csv"
    active.put(key, AUDIENCE)
    client.lambda_.invoke("on_audience_upload", active.s3_event(key, principal="AWS:AIDASTRANGER"))
    assert answer(client, key, upload_of(key), member="sahada-01").json_body["outcome"] == "rejected"

    active.put(key, AUDIENCE)  # the same file, uploaded by the constituency's own lead
    client.lambda_.invoke("on_audience_upload", active.s3_event(key, principal="AWS:AIDASAHADA01"))
    body = answer(client, key, upload_of(key), member="sahada-01").json_body
    assert body["outcome"] == "imported" and body["counts"].get("added") == 1, (
        f"the team's own upload of the file was never imported: {body}")


# ---- 3. Answers that say the wrong thing ---------------------------------------------------------------------------

def test_a_calendar_whose_every_row_is_refused_is_not_answered_accepted(active, client):
    """MEDIUM. A calendar whose every row is refused schedules nothing, yet its answer's outcome is "accepted"
    (IngestResult starts as "accepted" and nothing changes it). `prachar upload` is documented as "accepted, with the
    post ids and the accounts; or rejected, with every problem; exit 1 if any file was rejected": this file reads
    as accepted with zero posts. The outcome should say no row went ahead ("rejected" when nothing was scheduled or
    unchanged and there are problems, or a distinct "partly"/"rows rejected")."""
    key = f"{CALENDAR}/all-bad.csv"
    active.put(key, "publish_at,platforms,title,text,link,media,series\n"
                    "2021-02-30T09:00,facebook,एक,पाठ,,,\n2021-02-31T09:00,facebook,दो,पाठ,,,\n")
    client.lambda_.invoke("on_calendar_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key)).json_body
    assert body["content_ids"] == [] and len(body["problems"]) == 2, body
    assert body["outcome"] != "accepted", f"nothing of it was scheduled, and it is answered accepted: {body}"


def test_an_imported_audience_files_answer_lists_its_problems_as_the_error_report_does(active, client):
    """LOW. Every other answer's problems are Problem.to_dict(): field, problem, fix, row — the shape of
    errors/<key>.json. An audience import's answer returns its state's `listed` as stored by _Listed: field,
    *message*, fix, row. A client reading `problem` (as for every manifest, calendar, config, and for an audience
    file refused before reading, whose `listed` is to_dict()) shows the refused rows with no reason. Return
    [Problem(**p).to_dict() for p in listed]."""
    key = "audience/sahada/april.csv"
    active.put(key, AUDIENCE + "+91 98765 00002,मतदाता,missed call,,v1,hi\n")
    client.lambda_.invoke("on_audience_upload", active.s3_event(key))
    body = answer(client, key, upload_of(key), member="sahada-01").json_body
    assert body["outcome"] == "imported", body
    assert body["problems"] == active.error_report(key)["problems"], (
        f"the answer's problems are not the error report's: {body['problems']}")


def test_a_crafted_etag_on_an_audience_key_is_answered_without_a_server_error(active, client):
    """LOW. For audience keys the route reads IMPORT#<key> / <etag> with the caller's etag verbatim, and the same
    partition holds the key's GENERATION counter. etag=GENERATION (any member of the team may ask) returns that item,
    which has no "status": `state["status"]` raises KeyError and the API answers 500 — against the app's own
    "never a 500" rule. Check that the item is an import state (or refuse an etag that is not one)."""
    key = "audience/sahada/march.csv"
    active.put(key, AUDIENCE)
    client.lambda_.invoke("on_audience_upload", active.s3_event(key))
    response = answer(client, key, ("GENERATION", None), member="sahada-01")
    assert response.status_code in (200, 400, 404), (response.status_code, response.body[:200])


def test_an_audience_file_uploaded_before_any_campaign_is_never_answered(world, client):
    """MEDIUM. A manifest or calendar uploaded before any campaign is active is rejected "no campaign is active yet:
    upload config/campaign.yaml first, then upload this file again", and that answer is kept. An audience file in the
    same moment is "ignored" by entry._import with a log line only: no state, no errors/<key>.json, so GET
    /api/uploads says answered: False for ever and `prachar upload` waits until it gives up. Answer it, as the other
    uploads are, with the NO_CAMPAIGN problem."""
    key = "audience/sahada/early.csv"
    world.put(key, AUDIENCE)
    upload = upload_of(key)
    client.lambda_.invoke("on_audience_upload", world.s3_event(key))
    world.put("config/campaign.yaml", CAMPAIGN_FILE.read_text(encoding="utf-8"))
    assert world.container.ingest().config("config/campaign.yaml").outcome == "accepted"
    body = answer(client, key, upload, member="state-01").json_body
    assert body["answered"], f"the upload was dropped without an answer anyone can read: {body}"



# ---- 4. What the API gives away, and the documented way to ask -------------------------------------------------

def test_the_campaign_for_offline_checks_names_no_member_of_another_team(active, client):
    """MEDIUM (privacy). GET /api/campaign strips phone, e-mail and principal but hands every member — and so every
    volunteer's laptop cache (~/.config/prachar) — the name, id and role of every member of every team: the whole
    campaign's roster, coordinators included. No check needs it: vet_manifest, plan_posts, media rules, series and
    election warnings read scopes, accounts, constituencies and rules, never members (and the WhatsApp team kit's
    recipients need phones, which are already gone). campaign_document's own reason for dropping contact details
    — "which no check needs and not every member may read" — applies to the names too. Drop teams[].members (or
    keep only the caller's own team), as the data-minimisation rule the audience side follows (DPDP)."""
    body = client.http.get("/api/campaign", member="sahada-02").json_body
    strangers = [m for team in body["campaign"]["teams"] if team["scope"] != "constituency/sahada"
                 for m in team["members"]]
    assert strangers == [], f"a Sahada member is handed other teams' members: {strangers}"


def test_the_documented_query_by_key_and_etag_is_answered(active, client):
    """HIGH at 30ec980 (passes at 0808d30). README's API table documents `GET /api/uploads?key=&etag=` — "the key
    and the ETag S3 gave it". Since 30ec980 the handlers keep each answer under the event's versionId (every event of
    the stage's versioned bucket has one), and the route looks up `version or etag`: asked as documented, with the
    ETag alone, it looks for ANSWER#<etag>, which nothing ever writes, and answers {"answered": false} for ever. Any
    client but `prachar` (a script, `curl`, the uploader of README's "With any S3 client") waits for nothing. Either
    require `version` (400 without it on a versioned bucket, and document it), or find the answer by ETag when no
    version is given (e.g. keep the ETag on the item and take the newest answer of that ETag)."""
    key = f"{FOLDER}/documented.yaml"
    active.put(key, GOOD)
    etag, _ = upload_of(key)
    client.lambda_.invoke("on_content_upload", active.s3_event(key))
    # Fixed by requiring the version (README documents key, etag and version): asked without it, the caller is told
    # what to give instead of waiting for ever.
    refused = client.http.get(f"/api/uploads?{urlencode({'key': key, 'etag': etag})}", member="sahada-02")
    assert refused.status_code == 400 and "version" in refused.json_body["Message"]
    body = answer(client, key, upload_of(key)).json_body
    assert body.get("answered") and body.get("outcome") == "accepted", body
