"""The dashboard's arithmetic: columns, coverage up to each poll, silences."""

from datetime import date, datetime

import yaml

from chalicelib.domain import overview
from chalicelib.domain.campaign import Campaign
from chalicelib.domain.post import Post, PostStatus
from tests.support.world import CAMPAIGN_FILE

IST = "+05:30"
CAMPAIGN = Campaign.model_validate(yaml.safe_load(CAMPAIGN_FILE.read_text("utf-8")))


def post(scope, due, status=PostStatus.SCHEDULED, platform="facebook"):
    return Post(content_id=f"c{due}{status}", account_id="fb", platform=platform, scope=scope, status=status,
                due_at=datetime.fromisoformat(due + IST), revision=1, payload={})


def test_every_status_has_one_column():
    assert {overview.bucket(s) for s in PostStatus} == set(overview.BUCKETS)
    assert overview.bucket(PostStatus.AMBIGUOUS) == "scheduled" and overview.bucket(PostStatus.PAUSED) == "held"


def test_a_post_counts_on_its_ist_day():
    days = overview.days_from(date(2021, 3, 3), 2)
    late = post("state", "2021-03-03T23:59:00")   # 18:29 UTC, still the 3rd in India
    held = post("state", "2021-03-04T00:10:00", PostStatus.HELD_SILENCE)
    counted = overview.by_day([late, held], days)
    assert counted[0]["scheduled"] == 1 and counted[1]["held"] == 1
    assert counted[1]["held_why"] == {"held_silence": 1}


def test_coverage_runs_from_today_to_each_poll_and_dead_posts_cover_nothing():
    posts = {"constituency/sahada": [post("constituency/sahada", "2021-04-16T10:00:00"),
                                     post("constituency/sahada", "2021-04-15T10:00:00", PostStatus.REJECTED)]}
    rows = overview.coverage(CAMPAIGN, posts, {"constituency/sahada", "state"}, date(2021, 4, 14))
    sahada = next(r for r in rows if r.scope == "constituency/sahada")
    assert list(sahada.days) == [date(2021, 4, 14), date(2021, 4, 15)], "the 16th and the poll day are silent"
    assert sahada.gaps == [date(2021, 4, 14), date(2021, 4, 15)]
    state = next(r for r in rows if r.scope == "state")
    assert date(2021, 4, 16) not in state.days, "state accounts are held in every silence unless cleared"
    assert date(2021, 4, 17) in state.days, "from 18:00 on the 17th the state campaigns on for Vallabhnagar"
    after = overview.coverage(CAMPAIGN, posts, {"constituency/sahada"}, date(2021, 4, 18))
    assert after[0].days == {} and after[0].gaps == [], "no gaps after the poll"


def test_silence_states():
    rows = overview.silences(CAMPAIGN, {"constituency/sahada"}, datetime.fromisoformat("2021-04-15T18:00:00" + IST))
    assert rows[0]["state"] == "silent" and rows[0]["seconds_to_close"] == 48 * 3600
    rows = overview.silences(CAMPAIGN, {"constituency/sahada"}, datetime.fromisoformat("2021-04-17T18:00:00" + IST))
    assert rows[0]["state"] == "closed"
