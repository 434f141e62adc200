from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.problems import problems_from_validation

ROOT = Path(__file__).resolve().parents[2]


def load(name="tests/support/campaign.yaml"):
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def problems(document):
    with pytest.raises(ValidationError) as caught:
        Campaign.model_validate(document)
    return {p.field: p for p in problems_from_validation(caught.value)}


def test_the_example_campaign_has_the_teams_of_the_news_report():
    campaign = Campaign.model_validate(load("examples/config/campaign.yaml"))
    sizes = {t.scope: len(t.members) for t in campaign.teams}
    assert sizes["state"] == 5
    assert [sizes[f"district/{d.id}"] for d in campaign.districts] == [5, 5, 5, 5]
    assert [sizes[f"constituency/{c.id}"] for c in campaign.constituencies] == [21, 21, 21, 21]
    for scope in campaign.scopes:
        assert {a.platform for a in campaign.accounts_in(scope)} == {"facebook", "x", "whatsapp"}
    polls = {c.id: c.poll_closes.isoformat() for c in campaign.constituencies}
    assert polls["vallabhnagar"] == "2021-10-30T18:00:00+05:30"
    assert polls["sahada"] == polls["sujangarh"] == polls["rajsamand"] == "2021-04-17T18:00:00+05:30"


def test_twitter_is_x_and_numeric_ids_become_text():
    document = load()
    document["accounts"][1]["page_id"] = 100000000000002
    campaign = Campaign.model_validate(document)
    assert campaign.account("x-sahada").platform == "x"
    assert campaign.account("fb-sahada").target_id == "100000000000002"


def test_a_poll_time_without_zone_is_ist():
    document = load()
    document["constituencies"][0]["poll_closes"] = "2021-04-17T18:00:00"
    closes = Campaign.model_validate(document).constituencies[0].poll_closes
    assert closes.utcoffset().total_seconds() == 5.5 * 3600


def test_phone_numbers_are_normalised_and_checked():
    campaign = Campaign.model_validate(load())
    assert campaign.team_members("constituency/sahada")[0].phone == "919000000101"
    document = load()
    document["teams"][1]["members"][0]["phone"] = "98-000"
    found = problems(document)
    assert "teams[1].members[0].phone" in found
    assert "country code" in found["teams[1].members[0].phone"].fix


def test_missing_fields_and_unknown_fields_are_named():
    document = load()
    del document["constituencies"][0]["poll_closes"]
    document["accounts"][0]["pageid"] = "1"
    found = problems(document)
    assert found["constituencies[0].poll_closes"].fix == "add this field"
    assert "accounts[0].pageid" in found


def test_references_must_exist():
    document = load()
    document["constituencies"][0]["district"] = "jaipur"
    document["accounts"][0]["scope"] = "constituency/kota"
    message = " ".join(p.message for p in problems(document).values())
    assert "jaipur" in message and "constituency/kota" in message


def test_each_platform_needs_its_own_target_id():
    document = load()
    del document["accounts"][3]["phone_number_id"]
    found = problems(document)
    assert "phone_number_id" in found["accounts[3]"].message


def test_silence_window_is_configurable():
    campaign = Campaign.model_validate(load())
    sahada, vallabhnagar = campaign.constituencies
    assert (sahada.poll_closes - sahada.silence_starts).total_seconds() == 48 * 3600
    assert (vallabhnagar.poll_closes - vallabhnagar.silence_starts).total_seconds() == 72 * 3600
