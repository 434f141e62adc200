"""The approval matrix: role × scope × own content."""

from pathlib import Path

import pytest
import yaml

from chalicelib.domain.approval import needs_approval, refusal
from chalicelib.domain.campaign import Campaign

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = Campaign.model_validate(yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8")))
PLAIN = {"title": "t", "text": "x"}

# Members of the example campaign: state-01 and state-02 are coordinators, state-03 a state lead;
# bhilwara-d-01 leads Bhilwara district; sahada-01 leads Sahada; sahada-05 and bhilwara-d-02 are members;
# udaipur-d-01 leads another district.
MATRIX = [
    # approver         content scope            allowed?
    ("state-01", "constituency/sahada", True),
    ("state-03", "constituency/sahada", True),      # a state lead encloses every constituency
    ("bhilwara-d-01", "constituency/sahada", True),  # its district lead
    ("udaipur-d-01", "constituency/sahada", False),  # another district's lead
    ("sahada-01", "constituency/sahada", False),     # its own lead: the sign-off goes up the chain
    ("sahada-05", "constituency/sahada", False),
    ("bhilwara-d-02", "constituency/sahada", False),  # a district member, not a lead
    ("bhilwara-d-01", "district/bhilwara", True),    # district content: its own lead may sign
    ("state-03", "district/bhilwara", True),
    ("udaipur-d-01", "district/bhilwara", False),
    ("sahada-01", "district/bhilwara", False),       # a constituency lead does not enclose the district
    ("state-01", "state", True),                     # state content needs a coordinator
    ("state-03", "state", False),
    ("bhilwara-d-01", "state", False),
]


@pytest.mark.parametrize("approver, scope, allowed", MATRIX, ids=[f"{a}-on-{s}" for a, s, _ in MATRIX])
def test_the_approval_matrix(approver, scope, allowed):
    reason = refusal(CAMPAIGN.member(approver), scope, CAMPAIGN, PLAIN, uploaded_by=None)
    assert (reason is None) is allowed, reason


@pytest.mark.parametrize("uploader", ["state-01", "bhilwara-d-01"])
def test_nobody_approves_their_own_content(uploader):
    scope = "state" if uploader == "state-01" else "district/bhilwara"
    assert refusal(CAMPAIGN.member(uploader), scope, CAMPAIGN, PLAIN, uploaded_by=uploader) == \
        "nobody approves their own content"


def test_paid_content_and_subscriber_broadcasts_need_a_certificate_first():
    paid = {**PLAIN, "paid": True}
    assert "MCMC" in refusal(CAMPAIGN.member("state-01"), "state", CAMPAIGN, paid, uploaded_by=None)
    assert refusal(CAMPAIGN.member("state-01"), "state", CAMPAIGN, {**paid, "mcmc_certificate": "MCMC/RJ/2021/117"},
                   uploaded_by=None) is None
    broadcast = {**PLAIN, "overrides": {"whatsapp": {"audience": "subscribers"}}}
    assert "MCMC" in refusal(CAMPAIGN.member("state-01"), "state", CAMPAIGN, broadcast, uploaded_by=None)


def test_what_needs_approval():
    document = yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8"))
    document["approval"] = {"constituency": "none", "district": "lead", "state": "coordinator"}
    relaxed = Campaign.model_validate(document)
    assert not needs_approval("constituency/sahada", relaxed, PLAIN)
    assert needs_approval("constituency/sahada", relaxed, {**PLAIN, "paid": True}), "paid always needs sign-off"
    assert needs_approval("district/bhilwara", relaxed, PLAIN)
