"""The campaign's sign-in: a Cognito user pool per stage, its app client, and one user per campaign member.

`make deploy` and the local stack both call these, so the emulator's pool is made exactly as the cloud's.
The user name is the member's id in the campaign config; the role stays in the config (one place to change).
Nobody signs themselves up: a member gets an invitation, by email when the config gives one, else by SMS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.campaign import Campaign, Member

CLIENT_NAME = "prachar-dashboard"
ID_TOKEN_MINUTES = 60
TEMPORARY_PASSWORD_DAYS = 7


@dataclass(frozen=True)
class UserPool:
    id: str
    arn: str
    client_id: str

    @property
    def region(self) -> str:
        return self.id.split("_", 1)[0]


def user_pool_environment(pool: UserPool) -> dict[str, str]:
    """What the app needs of the pool: API Gateway's authorizer names it; the dashboard signs in with the client."""
    return {"PRACHAR_USER_POOL_ARN": pool.arn, "PRACHAR_USER_POOL_CLIENT_ID": pool.client_id}


def pool_name(stage: str) -> str:
    return f"prachar-{stage}-members"


def ensure_user_pool(cognito: Any, stage: str, sms_role_arn: str | None = None) -> UserPool:
    """The stage's pool and app client, made if missing (a re-run changes nothing). With `sms_role_arn` (infra/
    resources.yaml's MemberInvitationSmsRole) Cognito can send invitations by SMS; without it, by email only."""
    name = pool_name(stage)
    pool_id = next((p["Id"] for p in _pools(cognito) if p["Name"] == name), None)
    if pool_id is None:
        sms = {"SmsConfiguration": {"SnsCallerArn": sms_role_arn, "ExternalId": name,
                                    "SnsRegion": cognito.meta.region_name}} if sms_role_arn else {}
        pool_id = cognito.create_user_pool(**sms,
            PoolName=name,
            UsernameConfiguration={"CaseSensitive": False},
            # The invitation's lifetime is TemporaryPasswordValidityDays: Cognito refuses a pool that also sets the
            # deprecated UnusedAccountValidityDays ("Please use TemporaryPasswordValidityDays…"); moto accepts both.
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireUppercase": False, "RequireLowercase": True,
                                         "RequireNumbers": True, "RequireSymbols": False,
                                         "TemporaryPasswordValidityDays": TEMPORARY_PASSWORD_DAYS}},
            AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1},
                                                           {"Name": "verified_phone_number", "Priority": 2}]},
            DeletionProtection="ACTIVE" if stage == "prod" else "INACTIVE",
        )["UserPool"]["Id"]
    arn = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == CLIENT_NAME), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=CLIENT_NAME, GenerateSecret=False,  # a browser keeps no secret
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
            IdTokenValidity=ID_TOKEN_MINUTES, AccessTokenValidity=ID_TOKEN_MINUTES, RefreshTokenValidity=12,
            TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
        )["UserPoolClient"]["ClientId"]
    return UserPool(id=pool_id, arn=arn, client_id=client_id)


@dataclass
class MemberSync:
    invited: list[str]
    enabled: list[str]
    disabled: list[str]
    unreachable: list[str]   # members with neither email nor phone: no invitation can reach them
    updated: list[str] = field(default_factory=list)     # email or phone changed in the config
    replaced: list[str] = field(default_factory=list)    # the id went to another person: a new user, invited
    subs: dict[str, str] = field(default_factory=dict, compare=False)  # member id → its user's `sub` (one person)
    reinvited: list[str] = field(default_factory=list)   # the first invitation expired unused: sent again


def sync_members(cognito: Any, pool_id: str, campaign: Campaign, *, password: str | None = None,
                 now: datetime | None = None) -> MemberSync:
    """A user for every member of the campaign; users of people no longer in it are disabled, not deleted (their
    names stay on what they approved). A changed email or phone is updated; an invitation that expired unused is
    sent again. With `password` (the local stack only), users get it as their own and no invitation is sent."""
    now = now or datetime.now(UTC)
    members = {m.id: m for t in campaign.teams for m in t.members}
    existing = {u["Username"]: u for u in _users(cognito, pool_id)}
    result = MemberSync([], [], [], [])
    for member_id, member in sorted(members.items()):
        user = existing.get(member_id)
        if user is not None and _another_person(member, user):
            # The id (a slot such as sahada-01) went to someone else: the old holder's user, password and recovery
            # email or phone must not carry over. A new user is made and the new person invited.
            cognito.admin_delete_user(UserPoolId=pool_id, Username=member_id)
            result.replaced.append(member_id)
            user = None
        if user is None:
            if password is None and not (member.email or member.phone):
                result.unreachable.append(member_id)
                continue
            cognito.admin_create_user(UserPoolId=pool_id, Username=member_id, **_invitation(member, password))
            if password is not None:
                cognito.admin_set_user_password(UserPoolId=pool_id, Username=member_id, Password=password,
                                                Permanent=True)
            result.invited.append(member_id)
            continue
        if not user.get("Enabled", True):
            cognito.admin_enable_user(UserPoolId=pool_id, Username=member_id)
            result.enabled.append(member_id)
        changed = _changed_contacts(member, user)
        if changed:
            cognito.admin_update_user_attributes(UserPoolId=pool_id, Username=member_id, UserAttributes=changed)
            result.updated.append(member_id)
        if password is None and _invitation_expired(user, now) and (member.email or member.phone):
            cognito.admin_create_user(UserPoolId=pool_id, Username=member_id, MessageAction="RESEND",
                                      DesiredDeliveryMediums=["EMAIL" if member.email else "SMS"])
            result.reinvited.append(member_id)
    for username, user in sorted(existing.items()):
        if username not in members and user.get("Enabled", True):
            cognito.admin_disable_user(UserPoolId=pool_id, Username=username)
            result.disabled.append(username)
    result.subs = {u["Username"]: _attributes(u)["sub"] for u in _users(cognito, pool_id)
                   if u["Username"] in members and u.get("Enabled", True) and _attributes(u).get("sub")}
    return result


def _attributes(user: dict[str, Any]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in user.get("Attributes", [])}


def _another_person(member: Member, user: dict[str, Any]) -> bool:
    """A member's name changed in the config: the id was handed to someone else (a typo fix invites them again)."""
    recorded = _attributes(user).get("name")
    return recorded is not None and recorded != member.name


def _changed_contacts(member: Member, user: dict[str, Any]) -> list[dict[str, str]]:
    have = _attributes(user)
    wanted = {"email": member.email, "phone_number": f"+{member.phone}" if member.phone else None}
    changed = []
    for name, value in wanted.items():
        if value and have.get(name) != value:
            verified = "email_verified" if name == "email" else "phone_number_verified"
            changed += [{"Name": name, "Value": value}, {"Name": verified, "Value": "true"}]
    return changed


def _invitation_expired(user: dict[str, Any], now: datetime) -> bool:
    """Cognito lets a temporary password lapse after TemporaryPasswordValidityDays; the member can't sign in."""
    created = user.get("UserCreateDate")
    return (user.get("UserStatus") == "FORCE_CHANGE_PASSWORD" and isinstance(created, datetime)
            and now - created > timedelta(days=TEMPORARY_PASSWORD_DAYS))


def sign_in(cognito: Any, client_id: str, member_id: str, password: str) -> str:
    """An ID token for a member, as the dashboard gets one (USER_PASSWORD_AUTH over TLS)."""
    answer = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": member_id, "PASSWORD": password})
    if "AuthenticationResult" not in answer:
        raise RuntimeError(f"{member_id} must answer {answer.get('ChallengeName')} before signing in")
    return answer["AuthenticationResult"]["IdToken"]


def _invitation(member: Member, password: str | None) -> dict[str, Any]:
    attributes = [{"Name": "name", "Value": member.name}]
    mediums = []
    if member.email:
        attributes += [{"Name": "email", "Value": member.email}, {"Name": "email_verified", "Value": "true"}]
        mediums.append("EMAIL")
    if member.phone:
        attributes += [{"Name": "phone_number", "Value": f"+{member.phone}"},
                       {"Name": "phone_number_verified", "Value": "true"}]
        if not mediums:
            mediums.append("SMS")
    request: dict[str, Any] = {"UserAttributes": attributes}
    if password is not None:
        request["MessageAction"] = "SUPPRESS"
    else:
        request["DesiredDeliveryMediums"] = mediums
    return request


def _pools(cognito: Any) -> Iterable[dict[str, Any]]:
    request: dict[str, Any] = {"MaxResults": 60}
    while True:
        page = cognito.list_user_pools(**request)
        yield from page.get("UserPools", [])
        if not page.get("NextToken"):
            return
        request["NextToken"] = page["NextToken"]


def _users(cognito: Any, pool_id: str) -> Iterable[dict[str, Any]]:
    request: dict[str, Any] = {"UserPoolId": pool_id}
    while True:
        page = cognito.list_users(**request)
        yield from page.get("Users", [])
        if not page.get("PaginationToken"):
            return
        request["PaginationToken"] = page["PaginationToken"]
