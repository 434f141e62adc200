from pathlib import Path

import yaml

from chalicelib.domain.campaign import Campaign
from infra.bucket_policy import bucket_policy

ROOT = Path(__file__).resolve().parents[2]


def campaign(with_principals=True):
    document = yaml.safe_load((ROOT / "tests/support/campaign.yaml").read_text("utf-8"))
    if with_principals:
        for team in document["teams"]:
            for member in team["members"]:
                member["principal"] = f"AIDA{member['id'].upper().replace('-', '')}"
    return Campaign.model_validate(document)


def test_each_team_writes_only_under_its_own_prefix():
    policy = bucket_policy("prachar-prod-content", campaign())
    sahada = {s["Sid"]: s for s in policy["Statement"] if s["Sid"].startswith("SahadaItCell")}
    allow, deny = sahada["SahadaItCellWritesItsOwnPrefix"], sahada["SahadaItCellWritesNowhereElse"]
    assert allow["Resource"] == ["arn:aws:s3:::prachar-prod-content/content/constituency/sahada/*",
                                 "arn:aws:s3:::prachar-prod-content/calendar/constituency/sahada/*"]
    assert deny["Effect"] == "Deny" and deny["NotResource"] == allow["Resource"]
    assert allow["Condition"]["StringLike"]["aws:userid"] == ["AIDASAHADA01", "AIDASAHADA02", "AIDASAHADA03"]
    state = next(s for s in policy["Statement"] if s["Sid"] == "StateItCellWritesItsOwnPrefix")
    assert state["Resource"][0].endswith("/content/state/*")
    reports = sahada["SahadaItCellReadsItsErrorReports"]
    assert "arn:aws:s3:::prachar-prod-content/errors/content/constituency/sahada/*" in reports["Resource"]


def test_no_principals_no_policy():
    assert bucket_policy("b", campaign(with_principals=False)) is None
