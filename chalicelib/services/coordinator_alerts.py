"""What the system itself tells the coordinators: each evening, tomorrow's coverage gaps, and the daily report.

An alert is an activity-log entry per gap (the dashboard and `GET /api/activity` show them), and one WhatsApp
message to every coordinator with a phone, sent as a template (the coordinators may not have written to the
campaign's number in the last 24 hours) from the state's WhatsApp account. The message is a post like any other,
so it goes out exactly once, through the same publisher; it is marked `system` and left out of the dashboard's
counts and coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain import overview
from chalicelib.domain.post import Post, PostStatus, content_id_for
from chalicelib.domain.records import ContentRecord
from chalicelib.domain.times import IST, local_date
from chalicelib.services.activity import ActivityLog
from chalicelib.services.engagement import WINDOW as ENGAGEMENT_WINDOW

# Only a type here: the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic.
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign

COVERAGE_TEMPLATE = "prachar_coverage_gaps"   # params: the day, the teams with nothing scheduled
REPORT_TEMPLATE = "prachar_daily_report"      # params: the day, published, failed, teams with gaps ahead
MAX_TEAMS_IN_MESSAGE = 20
REPORT_SPAN = timedelta(hours=24)  # each report covers the 24 hours up to its run (21:00 to 21:00 IST)
MAX_GAP_LOOKBACK = 2000  # the day's entries a retried run reads for the warnings it already wrote


@dataclass
class CoordinatorAlerts:
    store: Store
    activity: ActivityLog
    clock: Clock

    def coverage_gaps(self, campaign: Campaign) -> dict[str, Any]:
        """Tomorrow's gaps, once per day (a schedule that fires twice alerts once)."""
        tomorrow = local_date(self.clock.now()) + timedelta(days=1)
        key = f"system/coverage/{tomorrow.isoformat()}"
        if self.store.content(content_id_for(key)) is not None:
            return {"date": tomorrow.isoformat(), "gaps": None, "already": True}
        scopes = {team.scope for team in campaign.teams}
        since = datetime.combine(tomorrow, time.min, tzinfo=IST)  # only posts due tomorrow cover tomorrow
        until = since + timedelta(days=1)
        posts = {scope: [p for p in self.store.posts_in_scope(scope, due_from=since, due_before=until)
                         if not p.payload.get("system")] for scope in scopes}
        gaps = [row for row in overview.coverage(campaign, posts, scopes, tomorrow) if tomorrow in row.gaps]
        already = {e.details.get("team") for e in self.store.activity_on(local_date(self.clock.now()), scopes=scopes,
                                                                         limit=MAX_GAP_LOOKBACK)
                   if e.kind == "coverage.gap" and e.details and e.details.get("date") == tomorrow.isoformat()}
        for row in gaps:
            if row.team in already:  # a run retried after writing some of them
                continue
            days_left = (row.poll - tomorrow).days if row.poll else 0
            self.activity.record("coverage.gap", row.scope, f"{row.team} has nothing scheduled for "
                                 f"{tomorrow.isoformat()} ({days_left} day(s) before its poll): the campaign's rule is "
                                 "every day until polling", level="warning",
                                 details={"team": row.team, "date": tomorrow.isoformat()})
        teams = ", ".join(row.team for row in gaps[:MAX_TEAMS_IN_MESSAGE])
        if len(gaps) > MAX_TEAMS_IN_MESSAGE:
            teams += f" +{len(gaps) - MAX_TEAMS_IN_MESSAGE}"
        sent = self.message_coordinators(campaign, key, f"Coverage gaps {tomorrow.isoformat()}", COVERAGE_TEMPLATE,
                              [tomorrow.isoformat(), teams]) if gaps else None
        self.remember(key, f"coverage check for {tomorrow.isoformat()}")
        return {"date": tomorrow.isoformat(), "gaps": [row.team for row in gaps], "whatsapp": sent}

    def message_coordinators(self, campaign: Campaign, key: str, title: str, template: str,
                             params: list[str]) -> str | None:
        """Place the message to the coordinators as a post due now; None (with the reason logged) if it can't be."""
        account = next((a for a in campaign.accounts if a.platform == "whatsapp" and a.scope == "state"), None)
        known = {t.name for t in campaign.whatsapp_templates}
        why_not = ("the campaign has no state WhatsApp account" if account is None else
                   f"the campaign has no WhatsApp template {template!r}: add it to whatsapp_templates once Meta "
                   "approves it" if template not in known else
                   "no coordinator has a phone number in the config"
                   if not any(m.phone for t in campaign.teams for m in t.members if m.role == "coordinator") else None)
        if why_not:
            self.activity.record("alert.not_sent", "state", f"{title}: not sent on WhatsApp, {why_not}",
                                 level="warning")
            return None
        now = self.clock.now()
        language = next(t.language for t in campaign.whatsapp_templates if t.name == template)
        post = Post(content_id=content_id_for(key), account_id=account.id, platform="whatsapp", scope="state",
                    status=PostStatus.SCHEDULED, due_at=now, revision=1, wake_at=now,
                    payload={"title": title, "text": title, "link": None, "media": [], "audience": "coordinators",
                             "system": True, "template": {"name": template, "language": language,
                                                          "params": params}})
        self.store.place_post(post, replaceable=[PostStatus.SCHEDULED])  # revision 1 never replaces it
        # To the coordinators' own phones, not to voters: an election silence does not hold it. Placing a post never
        # carries a clearance, so it is the clearance move, as a coordinator's would be — made whether or not this
        # run placed the post, so a run retried after placing it still clears it (and lets a held one go).
        stored = self.store.post(post.content_id, post.account_id)
        if stored is not None and not stored.silence_cleared and stored.status in (PostStatus.SCHEDULED,
                                                                                    PostStatus.HELD_SILENCE):
            self.store.move_post(post.content_id, post.account_id, expected=[stored.status], status=stored.status,
                                 now=now, wake_at=now, fields={"silence_cleared": True})
        return account.id

    def remember(self, key: str, title: str) -> None:
        """Mark a once-a-day alert done (its record is what a second run of the schedule finds)."""
        self.store.save_content(ContentRecord(
            content_id=content_id_for(key), key=key, scope="state", title=title, revision=1, sha256="",
            manifest={"system": True}, uploaded_at=self.clock.now()), None)


@dataclass
class DailyReports:
    store: Store
    bucket: Any
    activity: ActivityLog
    clock: Clock
    alerts: CoordinatorAlerts
    # services/broadcasts.Broadcaster.rollups: the broadcasts begun since a time, each with its roll-up
    broadcasts: Callable[[datetime], list[dict[str, Any]]] | None = None

    def write(self, campaign: Campaign) -> dict[str, Any]:
        """Today's report to reports/<date>/report.html and report.csv, and its summary to the coordinators."""
        from chalicelib.domain import daily_report

        now = self.clock.now()
        day, since = local_date(now), now - REPORT_SPAN
        # What ended in the week up to now (however late after it was due: the span's outcomes and the week's
        # engagement), and what was due in the span or is due in the week ahead (held, waiting; coverage).
        ahead = datetime.combine(day + timedelta(days=8), time.min, tzinfo=IST)
        posts = {scope: _unique([*self.store.posts_done_in_scope(scope, done_from=now - ENGAGEMENT_WINDOW,
                                                                 done_before=now),
                                 *self.store.posts_in_scope(scope, due_from=since, due_before=ahead)])
                 for scope in sorted(campaign.scopes)}
        team_scopes = {team.scope for team in campaign.teams}
        week = {day + timedelta(days=n) for n in range(1, 8)}
        coverage = overview.coverage(campaign, {s: [p for p in ps if not p.payload.get("system")]
                                                for s, ps in posts.items()}, team_scopes, day + timedelta(days=1))
        gaps = {team: [d for d in days if date.fromisoformat(d) in week]
                for team, days in daily_report.gap_days(coverage).items()}
        report = daily_report.DailyReport(day=day, campaign=campaign.campaign,
                                          rows=daily_report.rows_for(daily_report.by_team(campaign, posts), since,
                                                                     now),
                                          gaps={team: days for team, days in gaps.items() if days},
                                          broadcasts=self.broadcasts(now - ENGAGEMENT_WINDOW) if self.broadcasts
                                          else [])
        folder = f"reports/{day.isoformat()}"
        self.bucket.write_report(f"{folder}/report.html", daily_report.to_html(report).encode("utf-8"),
                                 "text/html; charset=utf-8")
        self.bucket.write_report(f"{folder}/report.csv", daily_report.to_csv(report).encode("utf-8"),
                                 "text/csv; charset=utf-8")
        if report.broadcasts:
            self.bucket.write_report(f"{folder}/broadcasts.csv",
                                     daily_report.broadcasts_csv(report).encode("utf-8"), "text/csv; charset=utf-8")
        totals = report.totals()
        summary = (f"{totals['published']} published, {totals['failed']} failed, {totals['held']} held, "
                   f"{totals['expired']} expired, {totals['rejected']} rejected; {len(report.gaps)} team(s) with "
                   "gaps in the next 7 days")
        key = f"system/report/{day.isoformat()}"
        if self.store.content(content_id_for(key)) is not None:
            return {"date": day.isoformat(), "folder": folder, "summary": summary, "whatsapp": None, "again": True}
        written = any(e.kind == "report.written" and e.key == f"{folder}/report.html"
                      for e in self.store.activity_on(day, scopes={"state"}, limit=MAX_GAP_LOOKBACK))
        if not written:  # else a run retried after writing it
            self.activity.record("report.written", "state", f"daily report for {day.isoformat()}: {summary} "
                                 f"({folder}/report.html)", key=f"{folder}/report.html")
        sent = self.alerts.message_coordinators(campaign, key, f"Daily report {day.isoformat()}", REPORT_TEMPLATE, [
            day.isoformat(), str(totals["published"]), str(totals["failed"]), str(len(report.gaps))])
        self.alerts.remember(key, f"daily report for {day.isoformat()}")
        return {"date": day.isoformat(), "folder": folder, "summary": summary, "whatsapp": sent}


def _unique(posts: list[Post]) -> list[Post]:
    return list({post.post_id: post for post in posts}.values())

