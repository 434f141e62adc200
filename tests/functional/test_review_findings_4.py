"""Review findings (fourth hostile review: signed-in access, roles and scopes, the config guard, the dashboard), each
reproduced as a test marked xfail(strict=True) until it is fixed: the docstrings keep the harm, the reproduction
and the suggested fix."""

from __future__ import annotations

import json
import os
from fnmatch import fnmatchcase

import pytest
import yaml
from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.domain.campaign import Campaign
from chalicelib.domain.post import content_id_for
from infra.bucket_policy import CONFIG_GUARD_SID, bucket_policy
from infra.deploy import load_campaign
from infra.identity import sign_in, sync_members
from tests.support.campaigns import with_principals
from tests.support.world import BUCKET

CONFIG = "config/campaign.yaml"


def activate(world, text: str) -> None:
    world.put(CONFIG, text)
    assert world.container.ingest().config(CONFIG).outcome == "accepted"


TAKEOVER = {"campaign": "taken-over", "approval": {"constituency": "none", "district": "none", "state": "none"}}


# ---- 1. the kill switch: a lead lifts a coordinator's pause ---------------------------------------------------
def test_a_lead_overwrites_a_coordinators_pause_and_then_lifts_it(active, client):
    """What breaks: controls.pause does store.pause(), an unconditional put of PAUSE/<scope> with by=<caller>. A lead
    may pause inside their scope, so sahada-01 (lead of constituency/sahada) can "pause" constituency/sahada while
    the coordinator's pause is on it: the record now says by=sahada-01 and the coordinator's reason is gone. The
    lead's resume then passes control_refusal (paused_by is a lead) and deletes it. /api/resume refused the lead a
    moment earlier (403 "only a coordinator may resume it").
    Why it matters: the coordinator stopped sahada (a takedown notice, a model-code complaint) and a lead restarts
    it with two calls; the coordinator's reason is lost from /api/pauses and the dashboard's kill switch too.
    Fix: pause must not replace a pause it may not lift — write it conditionally (attribute_not_exists, or keep
    one pause per (scope, by) / keep the stronger 'by'), and resume should delete with a condition on the `by` it
    checked (no read-then-delete race)."""
    def call(path, member, **body):
        return client.http.post(path, body=json.dumps(body), member=member)

    assert call("/api/pause", "state-01", scope="constituency/sahada", reason="EC notice 14/2021").status_code == 200
    refused = call("/api/resume", "sahada-01", scope="constituency/sahada")
    assert refused.status_code == 403, "the lead may not lift the coordinator's pause"
    call("/api/pause", "sahada-01", scope="constituency/sahada", reason="me too")
    call("/api/resume", "sahada-01", scope="constituency/sahada")
    pause = active.container.store.pauses().get("constituency/sahada")
    assert pause is not None and pause.get("by") == "state-01" and pause.get("reason") == "EC notice 14/2021", pause


# ---- 2. the config guard checks one upload's uploader and activates another upload's body --------------------
def test_a_coordinators_late_event_activates_the_config_someone_else_uploaded_after_it(active, client,
                                                                                     campaign_yaml):
    """What breaks: on_config_upload checks the event's userIdentity (a coordinator) and then reads
    config/campaign.yaml as it is *now* (Bucket.read(key): no VersionId, no ETag check). The bucket is versioned
    and S3 events are delivered at least once, late and out of order (and the S3-triggered Lambdas are retried).
    Sequence: the coordinator uploads an edit; before its event is handled, someone the bucket still lets write
    config/ but who is no coordinator of the active config (a coordinator the last upload removed — the bucket
    policy only changes at the next `make deploy` — or the deploying identity) uploads a takeover. Their own event
    is refused ("not by a coordinator"), then the coordinator's event is handled and activates the takeover.
    Why it matters: the guard's promise — only a coordinator replaces the campaign (roles, approval rules,
    accounts) — is void; the takeover here switches every sign-off off.
    Fix: read exactly the object version the event names (s3.object.versionId / eTag, GetObject VersionId=…) and
    attribute that version to that event's uploader; refuse if the version is not the current one."""
    activate(active, with_principals(campaign_yaml))
    active.put(CONFIG, with_principals(campaign_yaml, campaign="coordinators-edit"))
    late = active.s3_event(CONFIG, principal="AWS:AIDASTATE01")  # its event (with its ETag) is on its way
    active.put(CONFIG, with_principals(campaign_yaml, **TAKEOVER))                     # a non-coordinator's upload
    client.lambda_.invoke("on_config_upload", active.s3_event(CONFIG, principal="AWS:AIDAFORMERCOORDINATOR"))
    assert active.container.campaigns.active().campaign == "test-bypolls", "the takeover's own event is refused"
    client.lambda_.invoke("on_config_upload", late)
    assert active.container.campaigns.active().campaign != "taken-over"
    assert "config.superseded" in [e.kind for e in active.container.store.activity_on(active.clock.now().date())]


# ---- 3. the two config guards disagree on who may write config/ ----------------------------------------------
def test_the_deploying_identity_the_bucket_lets_write_config_is_refused_by_ingest(active, client, campaign_yaml,
                                                                                   monkeypatch):
    """What breaks: infra/bucket_policy.py makes the deploying identity (or every --config-writer) a config writer
    'so whoever deploys must not lock themselves out of the config'; ingest._config_uploader_refused accepts only a
    coordinator's principal from the active config, so the same upload is let in by S3 and refused by the app.
    Why it matters: the moment the coordinators' principals in the active config stop matching (an IAM user
    recreated or its keys moved to a new user, a role replaced, a typo in the principal that was just
    activated), nobody can replace the config any more — the coordinators are refused for an unknown principal,
    ops for not being a coordinator — short of editing DynamoDB by hand in the middle of a campaign. Meanwhile
    the refused file stays in the bucket as config/campaign.yaml (see finding 4).
    Fix: give the Lambda the same config writers as the bucket policy (make deploy records them, e.g.
    PRACHAR_CONFIG_WRITERS) and accept an upload whose principal matches one of them (same pattern semantics
    as aws:userid StringLike), or stop listing deployers in the bucket guard — the two guards must agree."""
    activate(active, with_principals(campaign_yaml))
    campaign = active.container.campaigns.active()
    guard = next(s for s in bucket_policy(BUCKET, campaign, ["AIDADEPLOYER"])["Statement"]
                 if s["Sid"] == CONFIG_GUARD_SID)
    assert "AIDADEPLOYER" in guard["Condition"]["StringNotLike"]["aws:userid"], "S3 lets the deployer write config/"
    monkeypatch.setenv("PRACHAR_CONFIG_WRITERS", "AIDADEPLOYER")  # as `make deploy` records the writers it names
    from chalicelib import bootstrap

    active.container = bootstrap.use(active.clock)
    active.put(CONFIG, with_principals(campaign_yaml, campaign="ops-repair"))
    client.lambda_.invoke("on_config_upload", active.s3_event(CONFIG, principal="AWS:AIDADEPLOYER"))
    assert active.container.campaigns.active().campaign == "ops-repair", active.error_report(CONFIG)


def test_a_coordinator_named_by_a_role_pattern_is_let_in_by_s3_and_refused_by_ingest(active, client, campaign_yaml):
    """What breaks: the bucket policy matches principals with StringLike on aws:userid, so a coordinator written as
    `AROACOORDINATOR:*` (any session of their role — the form `make deploy --config-writer` itself recommends,
    since a CLI role session is named botocore-session-<time> anew each sign-in) may put config/campaign.yaml.
    Campaign.member_by_principal compares literally, so the S3 event's `AWS:AROACOORDINATOR:botocore-session-1`
    matches nobody and ingest refuses the coordinator's own upload (content uploads are misattributed the same way).
    Why it matters: a coordinator who signs in through a role is locked out of the config while S3 accepts the file.
    Fix: one meaning for a principal in both places — either match with the same wildcard rules as StringLike
    (fnmatchcase on `*`/`?`) in member_by_principal, or reject `*`/`?` in a principal when the config is parsed."""
    document = yaml.safe_load(with_principals(campaign_yaml))
    document["teams"][0]["members"][0]["principal"] = "AROACOORDINATOR:*"  # state-01, the coordinator
    activate(active, yaml.safe_dump(document, allow_unicode=True))
    session = "AROACOORDINATOR:botocore-session-1616054400"
    policy = bucket_policy(BUCKET, active.container.campaigns.active(), ["AIDADEPLOYER"])
    guard = next(s for s in policy["Statement"] if s["Sid"] == CONFIG_GUARD_SID)
    assert any(fnmatchcase(session, p) for p in guard["Condition"]["StringNotLike"]["aws:userid"]), "S3 lets it in"
    document["campaign"] = "coordinators-edit"
    active.put(CONFIG, yaml.safe_dump(document, allow_unicode=True))
    client.lambda_.invoke("on_config_upload", active.s3_event(CONFIG, principal=f"AWS:{session}"))
    assert active.container.campaigns.active().campaign == "coordinators-edit", active.error_report(CONFIG)


# ---- 4. make deploy applies the bucket's config, not the active one ------------------------------------------
@pytest.mark.parametrize("refused", ["by its uploader", "invalid"])
def test_make_deploy_applies_the_config_ingest_refused(active, client, campaign_yaml, refused):
    """What breaks: infra/deploy.py:load_campaign reads s3://…/config/campaign.yaml, i.e. the last *upload*, which
    after a refusal is the refused file (ingest writes an error report and leaves the object where it is).
    - refused by its uploader: the takeover of finding 2/3 (a non-coordinator's config) becomes the campaign the
      next deploy writes the bucket policy from (its principals become config writers and team writers) and
      whose members get Cognito users and invitations — the guard said "the active config stays in effect";
    - invalid: a coordinator's typo (rejected by ingest, the old config stays active) makes the next
      `make deploy` crash in Campaign.model_validate — after `chalice deploy` has run, so the bucket policy and
      the member sync silently do not happen until someone fixes the bucket's file.
    Why it matters: a refused config must change nothing; here it changes who may write to the bucket and who
    is invited to sign in, or breaks the deploy mid-way.
    Fix: deploy from the active config (the campaign record in the table, or the exact S3 version ingest
    accepted — record its VersionId when activating), never from the bucket's latest object."""
    activate(active, with_principals(campaign_yaml))
    if refused == "invalid":
        active.put(CONFIG, with_principals(campaign_yaml).replace("poll_closes: 2021-04-17", "poll_closes: 2021-14-17"))
        client.lambda_.invoke("on_config_upload", active.s3_event(CONFIG, principal="AWS:AIDASTATE01"))
    else:
        active.put(CONFIG, with_principals(campaign_yaml, **TAKEOVER))
        client.lambda_.invoke("on_config_upload", active.s3_event(CONFIG, principal="AWS:AIDASAHADA01"))
    assert active.container.campaigns.active().campaign == "test-bypolls", "ingest refused it"
    assert active.error_report(CONFIG) is not None
    deployed = load_campaign(aws.client("dynamodb"), "prachar-test", None)
    assert deployed is not None and deployed.campaign == "test-bypolls"


# ---- 5. Cognito users are keyed by member id alone -----------------------------------------------------------
@pytest.mark.parametrize("path", ["edited in place", "removed, then re-added"])
def test_a_member_id_given_to_someone_else_still_signs_in_the_previous_holder(world, campaign_yaml, path):
    """What breaks: infra/identity.py:sync_members matches users by Username == member id only. Member ids are slots
    (state-01, sahada-01); when a lead is replaced, the coordinator changes the name/phone/email of sahada-01.
    sync_members then sees an existing (or disabled, then re-enabled) user and does nothing else: no invitation
    to the new person, the user's email/phone (the account-recovery channels) stay the old holder's, and the old
    holder's password keeps working. The API trusts cognito:username, so the old holder acts with the new
    holder's role at once — no deploy needed for that part, only for the new person to be (not) invited.
    Why it matters: someone who left the team (or defected) keeps a lead's powers: approving, rejecting,
    pausing and resuming sahada, reading its drafts; and can reset the password through the old email/phone.
    Fix: keep who a user was made for (e.g. a custom attribute with a hash of the member's email/phone, or
    record it in the table) and, when it changes or a disabled user is re-enabled, reset the user (admin delete
    and re-create with a fresh invitation, or AdminResetUserPassword + update the attributes +
    AdminUserGlobalSignOut); always AdminUpdateUserAttributes when email/phone change."""
    cognito = aws.client("cognito-idp")
    pool_id = os.environ["PRACHAR_USER_POOL_ARN"].rsplit("/", 1)[1]
    client_id = os.environ["PRACHAR_USER_POOL_CLIENT_ID"]
    document = yaml.safe_load(campaign_yaml)
    lead = document["teams"][1]["members"][0]
    assert lead["id"] == "sahada-01" and lead["role"] == "lead"
    lead["email"] = "old.lead@example.org"
    sync_members(cognito, pool_id, Campaign.model_validate(document))
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="sahada-01", Password="old-lead-pass-1",
                                    Permanent=True)  # the old lead accepted the invitation and chose a password
    assert sign_in(cognito, client_id, "sahada-01", "old-lead-pass-1")
    if path == "removed, then re-added":
        document["teams"][1]["members"] = document["teams"][1]["members"][1:]
        assert "sahada-01" in sync_members(cognito, pool_id, Campaign.model_validate(document)).disabled
        document["teams"][1]["members"].insert(0, lead)
    lead.update({"name": "नई टीम लीड", "email": "new.lead@example.org", "phone": "+919000000199"})
    sync = sync_members(cognito, pool_id, Campaign.model_validate(document))
    with pytest.raises(ClientError):
        sign_in(cognito, client_id, "sahada-01", "old-lead-pass-1")  # the previous holder is out
    attributes = {a["Name"]: a["Value"] for a in
                  cognito.admin_get_user(UserPoolId=pool_id, Username="sahada-01")["UserAttributes"]}
    assert attributes.get("email") == "new.lead@example.org", attributes
    assert "sahada-01" in sync.invited, sync


# ---- 6. the config guard leaves version deletes open --------------------------------------------------------
def test_the_config_guard_does_not_stop_deleting_a_version_of_the_config(campaign_yaml):
    """What breaks: the content bucket is versioned (infra/resources.yaml). The config guard (Deny unless a config
    writer) lists only s3:PutObject and s3:DeleteObject; deleting a *version* is s3:DeleteObjectVersion, which no
    statement denies, so any identity whose IAM policy grants it (s3:* on the bucket is common for the teams'
    upload users) can delete the current version of config/campaign.yaml — the previous one becomes current,
    with no ObjectCreated event, so nobody is told — or delete every version.
    Why it matters: `make deploy` reads the bucket's config (finding 4): a rolled-back file brings back the
    members and principals of an older campaign (bucket write rights, Cognito users re-enabled); with every
    version deleted the next deploy writes a policy with no team restrictions at all and syncs no members.
    Fix: deny every object-changing action on config/* to non-writers — s3:PutObject*, s3:DeleteObject*,
    s3:DeleteObjectVersion, s3:PutObjectVersionAcl/Tagging, s3:RestoreObject, s3:PutObjectRetention/LegalHold
    (or `s3:Delete*`/`s3:Put*` patterns) — and deploy from the active config, not the bucket's."""
    campaign = Campaign.model_validate(yaml.safe_load(with_principals(campaign_yaml)))
    policy = bucket_policy(BUCKET, campaign, ["AIDADEPLOYER"])
    guard = next(s for s in policy["Statement"] if s["Sid"] == CONFIG_GUARD_SID)
    actions = guard["Action"] if isinstance(guard["Action"], list) else [guard["Action"]]
    assert any(fnmatchcase("s3:DeleteObjectVersion", a) for a in actions), actions


# ---- 7. the dashboard's approval queue hides what is being approved -------------------------------------------
def test_the_approval_queue_shows_the_wording_that_will_go_out(active, client, campaign_yaml):
    """What breaks: Overview._queue puts `text: content.manifest.get("text")` in each item and app.js renders
    just that (plus title and account ids) next to the Approve button. A manifest's overrides.<platform>.text
    (what X and WhatsApp actually get), its link and its media never reach the page, and Approve approves the
    whole revision, every account.
    Why it matters: the sign-off chain exists so a lead or coordinator reads what goes out under the party's
    name; an upload with innocuous `text` and an override for X (or an image) is approved from the dashboard by
    someone who never saw it — e.g. wording that breaks the model code, on the campaign's accounts.
    Fix: give each queue item what each account will publish (manifest.text_for(platform), link, media keys —
    the post payloads of the revision) and render it per account before the buttons (or link to the full
    GET /api/posts/<id> and make Approve available only after it is shown)."""
    document = yaml.safe_load(campaign_yaml)
    document.pop("approval")  # the default sign-off chain: constituency content needs a lead above it
    activate(active, yaml.safe_dump(document, allow_unicode=True))
    key = "content/constituency/sahada/2021-03/rally.yaml"
    active.put(key, "title: रैली\ntext: कल शाम रैली में आइए।\nplatforms: [facebook, x]\n"
                    "publish_at: 2021-03-05T10:00:00+05:30\n"
                    "overrides:\n  x:\n    text: OVERRIDE-ONLY-ON-X विरोधी उम्मीदवार पर आरोप\n")
    assert active.container.ingest().content(key).outcome == "accepted"
    queue = client.http.get("/api/overview").json_body["approvals"]
    [item] = [i for i in queue if i["id"] == content_id_for(key)]
    assert item["may_decide"], "the coordinator is asked to approve it from the dashboard"
    assert "OVERRIDE-ONLY-ON-X" in json.dumps(item, ensure_ascii=False), item
