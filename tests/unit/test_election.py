"""Silence and campaign end, to the minute, for every kind of account."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from chalicelib.domain.campaign import Campaign
from chalicelib.domain.election import Action, verdict
from chalicelib.domain.times import IST

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = Campaign.model_validate(yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8")))
SAHADA_POLL = datetime(2021, 4, 17, 18, 0, tzinfo=IST)          # 48 h silence from 15 April 18:00
VALLABHNAGAR_POLL = datetime(2021, 10, 30, 18, 0, tzinfo=IST)
MINUTE = timedelta(minutes=1)


def at(moment, scope, campaign=EXAMPLE, cleared=False):
    return verdict(scope, campaign, moment, cleared=cleared).action


@pytest.mark.parametrize("scope", ["constituency/sahada", "district/bhilwara", "state"])
@pytest.mark.parametrize("moment, expected", [
    (SAHADA_POLL - timedelta(hours=48) - MINUTE, Action.PUBLISH),   # a minute before the silence
    (SAHADA_POLL - timedelta(hours=48), Action.HOLD),               # the silence starts
    (SAHADA_POLL - MINUTE, Action.HOLD),                            # its last minute
])
def test_silence_boundaries(scope, moment, expected):
    assert at(moment, scope) is expected


@pytest.mark.parametrize("scope, expected", [
    ("constituency/sahada", Action.CANCEL),   # Sahada's campaign is over
    ("district/bhilwara", Action.PUBLISH),    # Bhilwara's only polling area has voted
    ("state", Action.PUBLISH),                # Sujangarh and Rajsamand closed at the same minute; Vallabhnagar
])                                            # is silent only in October
def test_at_the_close_of_poll(scope, expected):
    assert at(SAHADA_POLL, scope) is expected


def test_a_minute_after_the_poll_the_constituency_is_cancelled_and_others_go_on():
    after = SAHADA_POLL + MINUTE
    assert at(after, "constituency/sahada") is Action.CANCEL
    assert at(after, "district/bhilwara") is Action.PUBLISH
    assert at(after, "state") is Action.PUBLISH
    assert at(after, "constituency/vallabhnagar") is Action.PUBLISH


def test_other_districts_are_not_held_by_sahada():
    assert at(SAHADA_POLL - MINUTE, "district/udaipur") is Action.PUBLISH
    assert at(SAHADA_POLL - MINUTE, "constituency/vallabhnagar") is Action.PUBLISH


def test_each_constituency_has_its_own_dates():
    assert at(VALLABHNAGAR_POLL - timedelta(hours=48) - MINUTE, "district/udaipur") is Action.PUBLISH
    assert at(VALLABHNAGAR_POLL - timedelta(hours=48), "district/udaipur") is Action.HOLD
    assert at(VALLABHNAGAR_POLL - timedelta(hours=48), "district/bhilwara") is Action.PUBLISH
    assert at(VALLABHNAGAR_POLL - MINUTE, "state") is Action.HOLD
    assert at(VALLABHNAGAR_POLL, "constituency/vallabhnagar") is Action.CANCEL


@pytest.mark.parametrize("hours", [48, 72])
def test_silence_length_is_configurable(hours):
    document = yaml.safe_load((ROOT / "examples/config/campaign.yaml").read_text("utf-8"))
    for constituency in document["constituencies"]:
        constituency["silence_hours"] = hours
    campaign = Campaign.model_validate(document)
    start = SAHADA_POLL - timedelta(hours=hours)
    assert at(start - MINUTE, "constituency/sahada", campaign) is Action.PUBLISH
    assert at(start, "constituency/sahada", campaign) is Action.HOLD
    assert at(SAHADA_POLL - timedelta(hours=47), "constituency/sahada", campaign) is Action.HOLD


def test_a_coordinator_can_clear_a_state_post_but_not_a_district_one():
    silent = SAHADA_POLL - timedelta(hours=1)
    assert at(silent, "state", cleared=True) is Action.PUBLISH
    assert at(silent, "district/bhilwara", cleared=True) is Action.HOLD


def test_a_hold_lasts_until_the_latest_poll_among_the_silent_areas_and_says_why():
    result = verdict("state", EXAMPLE, SAHADA_POLL - timedelta(hours=1))
    assert result.until == SAHADA_POLL
    assert "सहाड़ा" in result.reason and "सुजानगढ़" in result.reason and "वल्लभनगर" not in result.reason
