"""The content bucket's policy, from the campaign config: each team writes under its own prefix only.

Members are named by the principal id S3 reports for them (`principal` in the config: `AIDA…` for an
IAM user, `AROA…:<session>` for a role session), which IAM policies see as `aws:userid`. Each team gets
an Allow to put objects under `content/<scope>/` and `calendar/<scope>/` and to read its error reports,
and a Deny on putting anything anywhere else — so no identity policy can widen it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.campaign import Campaign


def team_prefixes(scope: str) -> list[str]:
    return [f"content/{scope}/", f"calendar/{scope}/"]


def bucket_policy(bucket: str, campaign: Campaign) -> dict[str, Any] | None:
    """None when no member has a principal: then uploads are not attributed and nothing is restricted."""
    statements: list[dict[str, Any]] = []
    for team in campaign.teams:
        user_ids = sorted(m.principal.removeprefix("AWS:") for m in team.members if m.principal)
        if not user_ids:
            continue
        who = {"StringLike": {"aws:userid": user_ids}}
        writable = [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in team_prefixes(team.scope)]
        reports = [f"arn:aws:s3:::{bucket}/errors/{prefix}*" for prefix in team_prefixes(team.scope)]
        sid = "".join(part.capitalize() for part in team.id.split("-"))
        statements += [
            {"Sid": f"{sid}WritesItsOwnPrefix", "Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject"],
             "Resource": writable, "Condition": who},
            {"Sid": f"{sid}ReadsItsErrorReports", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
             "Resource": reports + writable, "Condition": who},
            {"Sid": f"{sid}WritesNowhereElse", "Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"],
             "NotResource": writable, "Condition": who},
        ]
    return {"Version": "2012-10-17", "Statement": statements} if statements else None
