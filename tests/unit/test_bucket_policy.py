import json
import re
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from chalicelib.domain.campaign import Campaign
from infra.bucket_policy import CONFIG_GUARD_SID, bucket_policy
from infra.deploy import apply_bucket_policy, deployer_user_id, load_campaign

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


# A tiny evaluator of the statements this module writes, as S3 decides: an explicit Deny wins over any Allow; with
# neither, the request is implicitly denied (unless an identity policy allows it, which this test does not model).
def like(pattern, value):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


def condition_holds(condition, context):
    for operator, keys in condition.items():
        for key, patterns in keys.items():
            patterns = [patterns] if isinstance(patterns, str) else patterns
            matched = any(like(p, context[key]) for p in patterns)
            if matched != {"StringLike": True, "StringNotLike": False}[operator]:
                return False
    return True


def applies(statement, action, resource, context):
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if not any(like(a, action) for a in actions):
        return False
    if "Resource" in statement and not any(like(r, resource) for r in statement["Resource"]):
        return False
    if "NotResource" in statement and any(like(r, resource) for r in statement["NotResource"]):
        return False
    return condition_holds(statement.get("Condition", {}), context)


def decide(policy, action, key, user_id):
    resource = f"arn:aws:s3:::{BUCKET}/{key}"
    effects = {s["Effect"] for s in policy["Statement"] if applies(s, action, resource, {"aws:userid": user_id})}
    return "denied" if "Deny" in effects else "allowed" if "Allow" in effects else "implicit"


def denying(policy, action, key, user_id):
    resource = f"arn:aws:s3:::{BUCKET}/{key}"
    return sorted(s["Sid"] for s in policy["Statement"]
                  if s["Effect"] == "Deny" and applies(s, action, resource, {"aws:userid": user_id}))


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


def test_with_no_campaign_the_config_guard_is_there():
    policy = bucket_policy("prachar-prod-content", None, [DEPLOYER])
    [guard] = policy["Statement"]
    assert guard["Sid"] == CONFIG_GUARD_SID and guard["Effect"] == "Deny"
    assert guard["Condition"] == {"StringNotLike": {"aws:userid": [DEPLOYER]}}
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert decide(policy, action, "config/campaign.yaml", "AIDASOMEONEELSE") == "denied"
        assert decide(policy, action, "config/campaign.yaml", DEPLOYER) == "implicit"  # left to its IAM policy
    assert decide(policy, "s3:PutObject", "content/state/post.md", "AIDASOMEONEELSE") == "implicit"


def test_without_principals_only_the_config_guard_is_written():
    policy = bucket_policy("b", campaign(with_principals=False), [DEPLOYER])
    assert [s["Sid"] for s in policy["Statement"]] == [CONFIG_GUARD_SID]


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
    assert bucket == BUCKET and [s["Sid"] for s in policy["Statement"]] == [CONFIG_GUARD_SID]
    assert said.startswith(f"bucket policy: only {DEPLOYER} may change config/; no campaign config yet")
