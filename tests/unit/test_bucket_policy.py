import json
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from chalicelib.domain.campaign import Campaign
from infra.bucket_policy import CONFIG_GUARD_SID, TLS_SID, bucket_policy
from infra.deploy import apply_bucket_policy, deployer_user_id, load_campaign
from tests.support import iam
from tests.support.iam import Request

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "prachar-prod-content"
DEPLOYER = "AIDADEPLOYER"


def campaign(with_principals=True):
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    if with_principals:
        for team in document["teams"]:
            for member in team["members"]:
                member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    return Campaign.model_validate(document)


def request(action, key, user_id, *, tls=True):
    return Request(action, f"arn:aws:s3:::{BUCKET}/{key}",
                   (("aws:userid", user_id), ("aws:SecureTransport", "true" if tls else "false")))


def decide(policy, action, key, user_id, *, tls=True):
    """As S3 decides on the bucket policy alone: an explicit Deny wins; with no Allow either, it is left to the
    caller's identity policy ("implicit")."""
    verdict = iam.decide(policy, request(action, key, user_id, tls=tls))
    return "implicit" if verdict == "not allowed" else verdict


def denying(policy, action, key, user_id):
    return iam.matching(policy, request(action, key, user_id), "Deny")


def test_each_team_writes_only_under_its_own_prefix():
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    sahada = {s["Sid"]: s for s in policy["Statement"] if s["Sid"].startswith("SahadaItCell")}
    allow, deny = sahada["SahadaItCellWritesItsOwnPrefix"], sahada["SahadaItCellWritesNowhereElse"]
    assert allow["Resource"] == ["arn:aws:s3:::prachar-prod-content/content/constituency/sahada/*",
                                 "arn:aws:s3:::prachar-prod-content/calendar/constituency/sahada/*",
                                 "arn:aws:s3:::prachar-prod-content/audience/sahada/*"]
    assert deny["Effect"] == "Deny" and deny["NotResource"] == allow["Resource"]
    assert allow["Condition"]["StringLike"]["aws:userid"] == ["AIDASAHADA01", "AIDASAHADA02", "AIDASAHADA03"]
    state = next(s for s in policy["Statement"] if s["Sid"] == "StateItCellWritesItsOwnPrefix")
    assert state["Resource"][0].endswith("/content/state/*")
    reports = sahada["SahadaItCellReadsItsErrorReports"]
    assert "arn:aws:s3:::prachar-prod-content/errors/content/constituency/sahada/*" in reports["Resource"]


def test_teams_are_kept_to_their_prefixes_when_evaluated():
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    assert decide(policy, "s3:PutObject", "content/constituency/sahada/2021-04-01/post.md", "AIDASAHADA02") == "allowed"
    assert decide(policy, "s3:PutObject", "content/state/2021-04-01/post.md", "AIDASAHADA02") == "denied"
    assert decide(policy, "s3:PutObject", "content/state/2021-04-01/post.md", "AIDASTATE01") == "allowed"
    assert decide(policy, "s3:PutObject", "content/constituency/sahada/post.md", "AIDASTATE01") == "denied"
    assert decide(policy, "s3:GetObject", "errors/content/constituency/sahada/post.md.json",
                  "AIDASAHADA03") == "allowed"


def test_a_member_deletes_or_re_permissions_nothing_outside_the_teams_prefixes():
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    for action in ("s3:DeleteObject", "s3:PutObjectAcl"):
        assert decide(policy, action, "content/state/2021-04-01/post.md", "AIDASAHADA02") == "denied", action
        assert decide(policy, action, "errors/content/constituency/sahada/post.md.json", "AIDASAHADA02") == "denied"
        assert decide(policy, action, "content/constituency/sahada/post.md", "AIDASAHADA02") == "implicit", action
        assert decide(policy, action, "content/constituency/sahada/post.md", "AIDASTATE01") == "denied", action


def test_nothing_reaches_the_bucket_without_tls():
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    for who in ("AIDASAHADA02", DEPLOYER, "AROALAMBDAROLE:prachar-prod-on_content_upload"):
        assert decide(policy, "s3:GetObject", "content/constituency/sahada/post.md", who, tls=False) == "denied"
    assert decide(policy, "s3:PutObject", "content/constituency/sahada/post.md", "AIDASAHADA02") == "allowed"
    assert iam.decide(policy, Request("s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
                                      (("aws:SecureTransport", "false"),))) == "denied"


def test_with_no_campaign_the_config_guard_is_there():
    policy = bucket_policy("prachar-prod-content", None, [DEPLOYER])
    tls, guard = policy["Statement"]
    assert tls["Sid"] == TLS_SID
    assert guard["Sid"] == CONFIG_GUARD_SID and guard["Effect"] == "Deny"
    assert guard["Condition"] == {"StringNotLike": {"aws:userid": [DEPLOYER]}}
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert decide(policy, action, "config/campaign.yaml", "AIDASOMEONEELSE") == "denied"
        assert decide(policy, action, "config/campaign.yaml", DEPLOYER) == "implicit"  # left to its IAM policy
    assert decide(policy, "s3:PutObject", "content/state/post.md", "AIDASOMEONEELSE") == "implicit"


def test_without_principals_only_the_config_guard_is_written():
    policy = bucket_policy("b", campaign(with_principals=False), [DEPLOYER])
    assert [s["Sid"] for s in policy["Statement"]] == [TLS_SID, CONFIG_GUARD_SID]


def test_the_config_writers_are_the_deployers_and_the_coordinators():
    document = campaign().model_dump(mode="json", exclude_none=True)
    document["teams"][0]["members"][0]["principal"] = "AWS:AROACOORDINATOR:asha"
    policy = bucket_policy(BUCKET, Campaign.model_validate(document), [DEPLOYER, "AWS:AROAOPS:*"])
    guard = next(s for s in policy["Statement"] if s["Sid"] == CONFIG_GUARD_SID)
    assert guard["Condition"]["StringNotLike"]["aws:userid"] == ["AIDADEPLOYER", "AROACOORDINATOR:asha", "AROAOPS:*"]
    assert guard["Resource"] == ["arn:aws:s3:::prachar-prod-content/config/*"]
    assert decide(policy, "s3:PutObject", "config/campaign.yaml", "AROAOPS:any-session") == "implicit"
    assert decide(policy, "s3:PutObject", "config/campaign.yaml", "AROACOORDINATOR:asha") == "allowed"
    assert decide(policy, "s3:PutObject", "config/campaign.yaml", "AROACOORDINATOR:someone-else") == "denied"


def test_a_deployer_is_never_missing():
    with pytest.raises(ValueError, match="config writer"):
        bucket_policy(BUCKET, campaign(), [])


@pytest.mark.parametrize("member", ["AIDASAHADA01", "AIDASAHADA02", "AIDASAHADA03"])  # a lead and two members
def test_a_lead_or_member_cannot_change_config(member):
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert decide(policy, action, "config/campaign.yaml", member) == "denied"
        assert CONFIG_GUARD_SID in denying(policy, action, "config/campaign.yaml", member)
    assert denying(policy, "s3:PutObject", "config/campaign.yaml", member) == [CONFIG_GUARD_SID,
                                                                               "SahadaItCellWritesNowhereElse"]


def test_a_coordinator_may_write_the_campaign_config():
    policy = bucket_policy(BUCKET, campaign(), [DEPLOYER])
    assert decide(policy, "s3:PutObject", "config/campaign.yaml", "AIDASTATE01") == "allowed"
    assert denying(policy, "s3:PutObject", "config/campaign.yaml", "AIDASTATE01") == []
    assert decide(policy, "s3:GetObject", "errors/config/campaign.yaml.json", "AIDASTATE01") == "allowed"
    # the coordinator's team deny still keeps every other key, under config/ or elsewhere
    assert denying(policy, "s3:PutObject", "config/other.yaml", "AIDASTATE01") == [
        "StateItCellCoordinatorsWriteNowhereElse"]
    assert decide(policy, "s3:PutObject", "errors/config/campaign.yaml.json", "AIDASTATE01") == "denied"


class FakeSts:
    def __init__(self, user_id):
        self.user_id = user_id

    def get_caller_identity(self):
        return {"UserId": self.user_id, "Account": "123456789012", "Arn": "arn:aws:sts::123456789012:x"}


def test_the_deploying_role_writes_from_any_of_its_sessions():
    assert deployer_user_id(FakeSts("AIDAOPSUSER")) == "AIDAOPSUSER"
    assert deployer_user_id(FakeSts("AROAOPSROLE:botocore-session-1712")) == "AROAOPSROLE:*"


class FakeS3:
    """A bucket with no campaign config yet."""

    def __init__(self):
        self.policies = []

    def get_object(self, Bucket, Key):
        raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}}, "GetObject")

    def put_bucket_policy(self, Bucket, Policy):
        self.policies.append((Bucket, json.loads(Policy)))


def test_the_first_deploy_writes_the_config_guard_before_any_campaign():
    s3 = FakeS3()

    class NoActiveCampaign:
        def get_item(self, **request):
            return {}

    campaign_now = load_campaign(NoActiveCampaign(), "prachar-prod", None)
    assert campaign_now is None
    said = apply_bucket_policy(s3, BUCKET, campaign_now, [DEPLOYER])
    [(bucket, policy)] = s3.policies
    assert bucket == BUCKET and [s["Sid"] for s in policy["Statement"]] == [TLS_SID, CONFIG_GUARD_SID]
    assert said.startswith(f"bucket policy: only {DEPLOYER} may change config/; no campaign config yet")
