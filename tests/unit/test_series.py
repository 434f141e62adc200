from datetime import datetime
from pathlib import Path

import yaml

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.series import next_slot, slots_for
from chalicelib.domain.times import IST

ROOT = Path(__file__).resolve().parents[2]


def campaign(slots=None):
    document = yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8"))
    document["daily_slots"] = slots or {"constituency": ["09:00", "18:00"], "district/bhilwara": ["12:30"]}
    return Campaign.model_validate(document)


def ist(text):
    return datetime.fromisoformat(text).replace(tzinfo=IST)


def test_slots_come_from_the_scope_then_its_level_then_the_default():
    c = campaign()
    assert [s.isoformat("minutes") for s in slots_for("district/bhilwara", c)] == ["12:30"]
    assert [s.isoformat("minutes") for s in slots_for("constituency/sahada", c)] == ["09:00", "18:00"]
    assert [s.isoformat("minutes") for s in slots_for("state", c)] == ["09:00"]


def test_the_next_slot_is_the_next_daily_time_after_the_last():
    c = campaign()
    assert next_slot(ist("2021-03-03T10:00"), "constituency/sahada", c) == ist("2021-03-03T18:00")
    assert next_slot(ist("2021-03-03T18:00"), "constituency/sahada", c) == ist("2021-03-04T09:00")
    assert next_slot(ist("2021-03-03T12:30"), "district/bhilwara", c) == ist("2021-03-04T12:30")


def test_a_series_skips_the_silence_and_ends_with_the_campaign():
    c = campaign()
    # Sahada: silent from 15 April 18:00; its poll closes 17 April 18:00.
    assert next_slot(ist("2021-04-15T09:00"), "constituency/sahada", c) is None, "18:00 is silent, then it is over"
    assert next_slot(ist("2021-04-15T12:30"), "district/bhilwara", c) == ist("2021-04-18T12:30")
    assert next_slot(ist("2021-04-15T09:00"), "constituency/vallabhnagar", c) == ist("2021-04-15T18:00")


def test_unknown_slot_keys_and_bad_times_are_refused():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="daily_slots names 'district/jaipur'"):
        campaign({"district/jaipur": ["09:00"]})
    with pytest.raises(ValidationError):
        campaign({"state": ["9am"]})
