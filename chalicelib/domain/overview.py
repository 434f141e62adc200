"""What the coordinators' dashboard shows, computed from posts: pure functions, no I/O.

Days are IST calendar days (the campaign's); a post belongs to the day it is due.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain import election
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.times import local_date, to_iso

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign

# A post in one of these will not go out: it covers no day.
DEAD = frozenset({PostStatus.REJECTED, PostStatus.EXPIRED, PostStatus.WITHDRAWN, PostStatus.FAILED,
                  PostStatus.CANCELLED_CAMPAIGN_OVER})
HELD = frozenset({PostStatus.HELD_THROTTLED, PostStatus.HELD_ACCOUNT, PostStatus.HELD_SILENCE, PostStatus.PAUSED})
BUCKETS = ("scheduled", "published", "failed", "held", "waiting_approval", "stopped")


def bucket(status: PostStatus) -> str:
    """The dashboard's column for a status."""
    if status is PostStatus.PUBLISHED:
        return "published"
    if status is PostStatus.FAILED:
        return "failed"
    if status is PostStatus.PENDING_APPROVAL:
        return "waiting_approval"
    if status in HELD:
        return "held"
    if status in DEAD:
        return "stopped"      # rejected, expired, withdrawn, cancelled at the close of poll
    return "scheduled"        # scheduled, queued, publishing, ambiguous: on its way


def days_from(today: date, count: int) -> list[date]:
    return [today + timedelta(days=n) for n in range(count)]


def by_day(posts: Iterable[Post], days: list[date]) -> list[dict[str, Any]]:
    """Per day: how many posts are due in each column, and why the held ones wait."""
    wanted = set(days)
    counts: dict[date, Counter] = {day: Counter() for day in days}
    held: dict[date, Counter] = {day: Counter() for day in days}
    for post in posts:
        day = local_date(post.due_at)
        if day not in wanted:
            continue
        column = bucket(post.status)
        counts[day][column] += 1
        if column == "held":
            held[day][str(post.status)] += 1
    return [{"date": day.isoformat(), **{b: counts[day][b] for b in BUCKETS}, "held_why": dict(held[day])}
            for day in days]


@dataclass(frozen=True)
class CoverageRow:
    team: str
    scope: str
    poll: date | None
    days: dict[date, int]        # live posts due each day, today up to the poll

    @property
    def gaps(self) -> list[date]:
        return [day for day, count in self.days.items() if count == 0]


def poll_day(campaign: Campaign, scope: str) -> date | None:
    """The last polling day a scope campaigns for: its own poll, or the latest poll inside it."""
    polls = [c.poll_closes for c in campaign.constituencies if scope in campaign.enclosing(f"constituency/{c.id}")]
    return local_date(max(polls)) if polls else None


def coverage(campaign: Campaign, posts_by_scope: dict[str, list[Post]], scopes: Iterable[str],
             today: date) -> list[CoverageRow]:
    """"Every day until polling": for each team whose scope is given, the live posts of its own scope due each day
    from today to its poll day on which its accounts may publish (a day with none is a gap; a day wholly inside an
    election silence that reaches them is not asked for)."""
    rows = []
    for team in campaign.teams:
        if team.scope not in scopes:
            continue
        poll = poll_day(campaign, team.scope)
        days = {} if poll is None or poll < today else {day: 0 for day in days_from(today, (poll - today).days + 1)
                                                        if election.open_on(team.scope, campaign, day)}
        for post in posts_by_scope.get(team.scope, []):
            day = local_date(post.due_at)
            if day in days and post.status not in DEAD:
                days[day] += 1
        rows.append(CoverageRow(team=team.id, scope=team.scope, poll=poll, days=days))
    return rows


def coverage_json(rows: list[CoverageRow]) -> list[dict[str, Any]]:
    return [{"team": r.team, "scope": r.scope, "poll": r.poll.isoformat() if r.poll else None,
             "days": [{"date": d.isoformat(), "posts": n} for d, n in r.days.items()],
             "gaps": [d.isoformat() for d in r.gaps]} for r in rows]


def silences(campaign: Campaign, scopes: Iterable[str], now: datetime) -> list[dict[str, Any]]:
    """Each visible constituency's election silence: before it, inside it, or over (poll closed)."""
    visible, rows = set(scopes), []
    for c in campaign.constituencies:
        if f"constituency/{c.id}" not in visible:
            continue
        starts, closes = c.silence_starts, c.poll_closes
        state = "before" if now < starts else "silent" if now < closes else "closed"
        rows.append({"constituency": c.id, "name": c.name, "silence_starts": to_iso(starts),
                     "poll_closes": to_iso(closes), "state": state,
                     "seconds_to_start": max(0, int((starts - now).total_seconds())),
                     "seconds_to_close": max(0, int((closes - now).total_seconds()))})
    return rows


def per_day_series(posts_by_scope: dict[str, list[Post]], days: list[date], key: str) -> dict[str, Any]:
    """Posts that will or did go out, per day, one series per constituency (key="scope") or platform."""
    index = {day: n for n, day in enumerate(days)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for scope, posts in posts_by_scope.items():
        for post in posts:
            day = local_date(post.due_at)
            if day in index and post.status not in DEAD:
                series[scope if key == "scope" else post.platform][index[day]] += 1
    return {"dates": [d.isoformat() for d in days],
            "series": [{"label": label, "values": values} for label, values in sorted(series.items())]}


def failures(posts: Iterable[Post], limit: int = 50) -> list[dict[str, Any]]:
    failed = sorted((p for p in posts if p.status is PostStatus.FAILED), key=lambda p: p.due_at, reverse=True)
    return [{"id": p.content_id, "account_id": p.account_id, "platform": p.platform, "scope": p.scope,
             "title": p.payload.get("title"), "due_at": to_iso(p.due_at), "reason": p.reason,
             "attempts": p.attempts} for p in failed[:limit]]
