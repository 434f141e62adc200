"""infra/identity.py against the emulator: the stage's pool, its app client, and one user per campaign member."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.domain.campaign import Campaign
from infra.deploy import members_report
from infra.identity import MemberSync, ensure_user_pool, pool_name, sign_in, sync_members

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "prachar-test-1"


class Recording:
    """The Cognito client, keeping each request made (what moto takes without checking)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(("get_", "can_")) or name == "exceptions":
            return attribute

        def call(**kwargs: Any) -> Any:
            self.requests.append((name, kwargs))
            return attribute(**kwargs)
        return call

    def made(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.requests if name == operation]


@pytest.fixture()
def cognito(emulator) -> Recording:
    return Recording(boto3.client("cognito-idp", endpoint_url=emulator.url, region_name="ap-south-1",
                                  aws_access_key_id="test", aws_secret_access_key="test"))


@pytest.fixture()
def stage() -> str:
    return f"t{uuid.uuid4().hex[:8]}"  # a pool of its own for each test: nothing to reset in a shared emulator


def campaign(drop: tuple[str, ...] = ()) -> Campaign:
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    for team in document["teams"]:
        for member in team["members"]:
            if member["id"] == "sahada-02":
                member["email"] = "sahada-02@example.org"
        team["members"] = [m for m in team["members"] if m["id"] not in drop]
    return Campaign.model_validate(document)


def users(cognito: Any, pool_id: str) -> dict[str, dict[str, Any]]:
    return {u["Username"]: {"Enabled": u["Enabled"], **{a["Name"]: a["Value"] for a in u["Attributes"]}}
            for u in cognito.list_users(UserPoolId=pool_id)["Users"]}


def test_the_pool_is_made_once(cognito, stage):
    first = ensure_user_pool(cognito, stage)
    again = ensure_user_pool(cognito, stage)
    assert again == first
    assert len(cognito.made("create_user_pool")) == 1 and len(cognito.made("create_user_pool_client")) == 1
    named = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == pool_name(stage)]
    assert [p["Id"] for p in named] == [first.id]
    assert first.arn.endswith(f":userpool/{first.id}") and first.region == "ap-south-1"


def test_nobody_signs_themselves_up(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    described = cognito.describe_user_pool(UserPoolId=pool.id)["UserPool"]
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"] == 7
    # Cognito refuses a pool that sets both this and TemporaryPasswordValidityDays; moto would not tell us
    [request] = cognito.made("create_user_pool")
    assert "UnusedAccountValidityDays" not in request["AdminCreateUserConfig"]


def test_the_dashboard_client_keeps_no_secret_and_signs_in_with_a_password(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    client = cognito.describe_user_pool_client(UserPoolId=pool.id, ClientId=pool.client_id)["UserPoolClient"]
    assert "ClientSecret" not in client
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert client["ClientName"] == "prachar-dashboard"


def test_each_member_is_invited_where_they_can_be_reached(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    result = sync_members(cognito, pool.id, campaign())
    assert result == MemberSync(invited=["sahada-01", "sahada-02", "state-01"], enabled=[], disabled=[],
                                unreachable=["sahada-03"])
    found = users(cognito, pool.id)
    assert sorted(found) == ["sahada-01", "sahada-02", "state-01"]
    assert found["state-01"]["phone_number"] == "+919000000001"
    assert found["sahada-02"]["email"] == "sahada-02@example.org"
    mediums = {r["Username"]: r["DesiredDeliveryMediums"] for r in cognito.made("admin_create_user")}
    assert mediums == {"sahada-01": ["SMS"], "sahada-02": ["EMAIL"], "state-01": ["SMS"]}
    assert not any("TemporaryPassword" in r or "MessageAction" in r for r in cognito.made("admin_create_user"))


def test_a_second_sync_changes_nothing(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    sync_members(cognito, pool.id, campaign())
    before = users(cognito, pool.id)
    assert sync_members(cognito, pool.id, campaign()) == MemberSync([], [], [], ["sahada-03"])
    assert users(cognito, pool.id) == before


def test_who_leaves_is_disabled_and_who_returns_is_enabled_again(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    sync_members(cognito, pool.id, campaign())
    left = sync_members(cognito, pool.id, campaign(drop=("sahada-01",)))
    assert left == MemberSync([], [], ["sahada-01"], ["sahada-03"])
    assert {name: u["Enabled"] for name, u in users(cognito, pool.id).items()} == {
        "sahada-01": False, "sahada-02": True, "state-01": True}
    returned = sync_members(cognito, pool.id, campaign())
    assert returned == MemberSync([], ["sahada-01"], [], ["sahada-03"])
    assert all(u["Enabled"] for u in users(cognito, pool.id).values())


def test_a_member_signs_in_as_their_member_id(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    result = sync_members(cognito, pool.id, campaign(), password=PASSWORD)
    assert result.unreachable == [] and "sahada-03" in result.invited  # the local stack needs no invitation
    claims = payload(sign_in(cognito, pool.client_id, "sahada-03", PASSWORD))
    assert claims["cognito:username"] == "sahada-03"
    assert claims["token_use"] == "id" and claims["aud"] == pool.client_id
    assert claims["iss"].endswith(f"/{pool.id}")


def test_a_member_who_must_answer_a_challenge_gets_no_token(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    cognito.admin_create_user(UserPoolId=pool.id, Username="state-01", TemporaryPassword="Temporary-pass-1",
                              MessageAction="SUPPRESS")
    with pytest.raises(RuntimeError, match="NEW_PASSWORD_REQUIRED"):
        sign_in(cognito, pool.client_id, "state-01", "Temporary-pass-1")


def test_the_deploy_names_who_could_not_be_invited_and_how_to_fix_it():
    report = members_report(MemberSync(["a"], ["b"], ["c", "d"], ["sahada-03"]))
    assert report.splitlines()[0].startswith("members: 1 invited, 1 re-enabled, 2 disabled")
    assert "sahada-03" in report and "`email:` or `phone:`" in report


def payload(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_a_new_email_or_phone_in_the_config_reaches_the_user(cognito, stage):
    pool = ensure_user_pool(cognito, stage)
    sync_members(cognito, pool.id, campaign())
    document = campaign().model_dump(mode="json")
    document["teams"][0]["members"][0]["phone"] = "+919111111111"  # state-01
    moved = Campaign.model_validate(document)
    result = sync_members(cognito, pool.id, moved)
    assert result.updated == ["state-01"] and result.invited == []
    assert users(cognito, pool.id)["state-01"]["phone_number"] == "+919111111111"
    assert sync_members(cognito, pool.id, moved).updated == [], "once"


def test_an_invitation_that_expired_unused_is_sent_again(cognito, stage):
    from datetime import UTC, datetime, timedelta

    pool = ensure_user_pool(cognito, stage)
    sync_members(cognito, pool.id, campaign())
    assert sync_members(cognito, pool.id, campaign()).reinvited == [], "still valid"
    later = datetime.now(UTC) + timedelta(days=8)
    result = sync_members(cognito, pool.id, campaign(), now=later)
    assert result.reinvited == ["sahada-01", "sahada-02", "state-01"]
    resent = [r for r in cognito.made("admin_create_user") if r.get("MessageAction") == "RESEND"]
    assert {r["Username"]: r["DesiredDeliveryMediums"] for r in resent} == {
        "sahada-01": ["SMS"], "sahada-02": ["EMAIL"], "state-01": ["SMS"]}


def test_with_the_sms_role_cognito_may_send_invitations_by_sms(cognito, stage):
    ensure_user_pool(cognito, stage, "arn:aws:iam::123456789012:role/prachar-sms")
    [made] = cognito.made("create_user_pool")
    assert made["SmsConfiguration"] == {"SnsCallerArn": "arn:aws:iam::123456789012:role/prachar-sms",
                                        "ExternalId": f"prachar-{stage}-members", "SnsRegion": "ap-south-1"}


def test_the_sms_role_trusts_cognito_for_this_pool_only():
    class Template(yaml.SafeLoader):
        pass

    Template.add_multi_constructor("!", lambda loader, tag, node: loader.construct_scalar(node)
                                   if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node))
    template = yaml.load((ROOT / "infra/resources.yaml").read_text(), Loader=Template)
    role = template["Resources"]["MemberInvitationSmsRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cognito-idp.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == "prachar-${Stage}-members"
    assert role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"] == "sns:Publish"
