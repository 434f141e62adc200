"""The content bucket's policy: who may change the campaign config, and what each team may write.

Members are named by the principal id S3 reports for them (`principal` in the config: `AIDA…` for an
IAM user, `AROA…:<session>` for a role session), which IAM policies see as `aws:userid`.

- The config guard, there from the first deploy, before any campaign: only the config writers (the deploying
  identity, or the ids given to `make deploy`, and the campaign's coordinators) may put or delete `config/*`.
- Each team gets an Allow to put objects under `content/<scope>/` and `calendar/<scope>/` and to read its error
  reports, and a Deny on putting, deleting or re-permissioning (ACLs) anything anywhere else — so no identity policy
  can widen it. A coordinator's Deny leaves out `config/campaign.yaml`, which coordinators may write.
- Nobody, the Lambdas included, reaches the bucket without TLS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.campaign import Campaign, Team

CAMPAIGN_CONFIG_KEY = "config/campaign.yaml"
CONFIG_GUARD_SID = "OnlyConfigWritersChangeConfig"
TLS_SID = "OnlyOverTls"
# What a member may do to an object only inside their team's prefixes.
# The bucket is versioned: a version deleted or re-permissioned by its id is a request of its own.
KEPT_TO_THE_PREFIX = ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:DeleteObject",
                      "s3:DeleteObjectVersion"]


def team_prefixes(scope: str) -> list[str]:
    """Where a team uploads: its posts and calendars, and — a constituency's team, or the state's coordinators for
    any constituency — voters' contacts (audience/<constituency>/; ingest lets only coordinators of the state in)."""
    prefixes = [f"content/{scope}/", f"calendar/{scope}/"]
    if scope.startswith("constituency/"):
        prefixes.append(f"audience/{scope.split('/', 1)[1]}/")
    elif scope == "state":
        prefixes.append("audience/")
    return prefixes


def user_id_of(principal: str) -> str:
    """S3 reports `AWS:<id>`; the policy's aws:userid is the id alone."""
    return principal.removeprefix("AWS:")


def coordinator_user_ids(campaign: Campaign | None) -> list[str]:
    if campaign is None:
        return []
    return sorted({user_id_of(m.principal) for t in campaign.teams for m in t.members
                   if m.role == "coordinator" and m.principal})


def config_writers(deployers: Iterable[str], campaign: Campaign | None) -> list[str]:
    return sorted({user_id_of(d) for d in deployers} | set(coordinator_user_ids(campaign)))


def bucket_policy(bucket: str, campaign: Campaign | None, deployers: Iterable[str]) -> dict[str, Any]:
    """The whole policy. `deployers`: aws:userid patterns that may always change config/ (never empty: whoever
    deploys must not lock themselves out of the config)."""
    deployers = list(deployers)
    if not deployers:
        raise ValueError("no config writer besides the coordinators: name at least the deploying identity")
    writers = config_writers(deployers, campaign)
    statements = [only_over_tls(bucket), config_guard(bucket, writers)]
    statements += coordinator_statements(bucket, coordinator_user_ids(campaign))
    for team in campaign.teams if campaign is not None else []:
        statements += team_statements(bucket, team)
    return {"Version": "2012-10-17", "Statement": statements}


def only_over_tls(bucket: str) -> dict[str, Any]:
    return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def config_guard(bucket: str, writers: list[str]) -> dict[str, Any]:
    return {"Sid": CONFIG_GUARD_SID, "Effect": "Deny", "Principal": "*",
            # Every way to change what config/ holds: writes, ACLs and tags, and deleting a version on the versioned
            # bucket (which quietly brings an older config back), restoring one too.
            "Action": ["s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject",
                       "s3:ReplicateDelete"],
            "Resource": [f"arn:aws:s3:::{bucket}/config/*"],
            "Condition": {"StringNotLike": {"aws:userid": writers}}}


def coordinator_statements(bucket: str, coordinators: list[str]) -> list[dict[str, Any]]:
    if not coordinators:
        return []
    who = {"StringLike": {"aws:userid": coordinators}}
    config = f"arn:aws:s3:::{bucket}/{CAMPAIGN_CONFIG_KEY}"
    return [
        {"Sid": "CoordinatorsWriteTheCampaignConfig", "Effect": "Allow", "Principal": "*",
         "Action": ["s3:PutObject"], "Resource": [config], "Condition": who},
        {"Sid": "CoordinatorsReadTheCampaignConfig", "Effect": "Allow", "Principal": "*",
         "Action": ["s3:GetObject"], "Resource": [config, f"arn:aws:s3:::{bucket}/errors/{CAMPAIGN_CONFIG_KEY}.json"],
         "Condition": who},
    ]


def team_statements(bucket: str, team: Team) -> list[dict[str, Any]]:
    """Nothing when no member of the team has a principal: their uploads are not attributed, so not restricted."""
    user_ids = sorted(user_id_of(m.principal) for m in team.members if m.principal)
    if not user_ids:
        return []
    coordinators = sorted(user_id_of(m.principal) for m in team.members if m.principal and m.role == "coordinator")
    others = [u for u in user_ids if u not in coordinators]
    writable = [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in team_prefixes(team.scope)]
    reports = [f"arn:aws:s3:::{bucket}/errors/{prefix}*" for prefix in team_prefixes(team.scope)]
    sid = "".join(part.capitalize() for part in team.id.split("-"))
    who = {"StringLike": {"aws:userid": user_ids}}
    statements = [
        {"Sid": f"{sid}WritesItsOwnPrefix", "Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject"],
         "Resource": writable, "Condition": who},
        {"Sid": f"{sid}ReadsItsErrorReports", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
         "Resource": reports + writable, "Condition": who},
    ]
    if others:
        statements.append(
            {"Sid": f"{sid}WritesNowhereElse", "Effect": "Deny", "Principal": "*", "Action": KEPT_TO_THE_PREFIX,
             "NotResource": writable, "Condition": {"StringLike": {"aws:userid": others}}})
    if coordinators:
        statements.append(
            {"Sid": f"{sid}CoordinatorsWriteNowhereElse", "Effect": "Deny", "Principal": "*",
             "Action": KEPT_TO_THE_PREFIX, "NotResource": writable + [f"arn:aws:s3:::{bucket}/{CAMPAIGN_CONFIG_KEY}"],
             "Condition": {"StringLike": {"aws:userid": coordinators}}})
    return statements


def restricted_teams(policy: dict[str, Any]) -> int:
    return sum(1 for s in policy["Statement"] if s["Sid"].endswith("WritesItsOwnPrefix"))
