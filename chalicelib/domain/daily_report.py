"""The daily report: per team and platform, what happened to the day's posts — pure, rendered as HTML and CSV."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.overview import HELD
from chalicelib.domain.post import Post, PostStatus

COLUMNS = ("published", "failed", "held", "expired", "rejected", "waiting_approval")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such a cell gets a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENGAGEMENT = timedelta(days=7)


@dataclass
class ReportRow:
    team: str
    scope: str
    platform: str
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)   # why posts failed, with how many
    engagement: dict[str, int] = field(default_factory=dict)


@dataclass
class DailyReport:
    day: date
    campaign: str
    rows: list[ReportRow]
    gaps: dict[str, list[str]]       # team → days of the next week with nothing scheduled
    broadcasts: list[dict[str, Any]] = field(default_factory=list)  # the week's, each with its roll-up

    def totals(self) -> Counter:
        total: Counter = Counter()
        for row in self.rows:
            total.update(row.counts)
        return total


ENDED = {PostStatus.PUBLISHED: "published", PostStatus.FAILED: "failed", PostStatus.EXPIRED: "expired",
         PostStatus.REJECTED: "rejected"}


def column(post: Post, since: datetime, until: datetime) -> str | None:
    """The report's column for a post in the span (since, until] — the 24 hours up to the report, so each moment is
    in exactly one report: published, failed, expired or rejected in the span (however late after its due time),
    or due in the span and now held or waiting for sign-off."""
    if post.status in ENDED:
        ended = post.done_at or post.published_at or post.due_at  # items written before done_at existed
        return ENDED[post.status] if since < ended <= until else None
    if not since < post.due_at <= until:
        return None
    if post.status in HELD:
        return "held"
    return "waiting_approval" if post.status is PostStatus.PENDING_APPROVAL else None


def rows_for(posts_by_team: dict[tuple[str, str], Iterable[Post]], since: datetime,
             until: datetime) -> list[ReportRow]:
    """posts_by_team: (team id, scope) → its posts. One row per team and platform with anything to report: the
    span's posts by column, and the engagement of its posts published in the 7 days up to `until`."""
    rows: dict[tuple[str, str, str], ReportRow] = {}
    for (team, scope), posts in sorted(posts_by_team.items()):
        for post in posts:
            if post.payload.get("system"):
                continue
            kind = column(post, since, until)
            recent = bool(post.metrics) and post.status is PostStatus.PUBLISHED and post.published_at is not None \
                and timedelta(0) <= until - post.published_at <= ENGAGEMENT
            if kind is None and not recent:
                continue
            row = rows.setdefault((team, scope, post.platform), ReportRow(team, scope, post.platform))
            if kind is not None:
                row.counts[kind] += 1
            if kind == "failed":
                row.reasons[post.reason or "no reason given"] += 1
            if recent:
                for metric, value in post.metrics.items():
                    row.engagement[metric] = row.engagement.get(metric, 0) + value
    return list(rows.values())


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(report: DailyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "team", "scope", "platform", *COLUMNS, "failure_reasons", "engagement",
                     "coverage_gaps_next_7_days"])
    for row in report.rows:
        writer.writerow([safe_cell(v) for v in (
            report.day.isoformat(), row.team, row.scope, row.platform, *(row.counts[c] for c in COLUMNS),
            "; ".join(f"{reason} ×{n}" for reason, n in row.reasons.most_common()),
            "; ".join(f"{k} {v}" for k, v in sorted(row.engagement.items())),
            " ".join(report.gaps.get(row.team, [])))])
    for team, days in sorted(report.gaps.items()):
        if not any(row.team == team for row in report.rows):
            writer.writerow([safe_cell(v) for v in (report.day.isoformat(), team, "", "", *([0] * len(COLUMNS)),
                                                    "", "", " ".join(days))])
    return out.getvalue()


BROADCAST_COLUMNS = ("contacts", "sent", "delivered", "read", "waiting", "skipped", "in_doubt", "failed_total")


def broadcasts_csv(report: DailyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "broadcast", "title", "scope", "account", "began", *BROADCAST_COLUMNS, "failure_reasons"])
    for b in report.broadcasts:
        rollup = b.get("rollup") or {}
        writer.writerow([safe_cell(v) for v in (
            report.day.isoformat(), b["id"], b.get("title"), b["scope"], b.get("account_id"), b["started_at"],
            *(rollup.get(c, 0) for c in BROADCAST_COLUMNS),
            "; ".join(f"{reason} ×{n}" for reason, n in sorted((rollup.get("failed") or {}).items())))])
    return out.getvalue()


def _broadcasts_html(report: DailyReport) -> str:
    e = html.escape
    if not report.broadcasts:
        return "<p>none in the last 7 days</p>"
    head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in BROADCAST_COLUMNS)
    body = "".join(
        f"<tr><td>{e(b['started_at'])}</td><td>{e(str(b.get('title') or b['id']))}</td><td>{e(b['scope'])}</td>"
        + "".join(f"<td class=n>{(b.get('rollup') or {}).get(c, 0)}</td>" for c in BROADCAST_COLUMNS)
        + f"<td>{e('; '.join(f'{r} ×{n}' for r, n in sorted(((b.get('rollup') or {}).get('failed') or {}).items())))}"
        "</td></tr>" for b in report.broadcasts)
    return (f"<div class=scroll><table><thead><tr><th>began</th><th>title</th><th>scope</th>{head}"
            f"<th>failure reasons</th></tr></thead><tbody>{body}</tbody></table></div>")


def to_html(report: DailyReport) -> str:
    e = html.escape
    totals = report.totals()
    head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in COLUMNS)
    body = []
    for row in report.rows:
        reasons = "<br>".join(f"{e(reason)} ×{n}" for reason, n in row.reasons.most_common())
        engagement = ", ".join(f"{e(k)} {v}" for k, v in sorted(row.engagement.items()))
        cells = "".join(f"<td class=n>{row.counts[c]}</td>" for c in COLUMNS)
        body.append(f"<tr><td>{e(row.team)}</td><td>{e(row.platform)}</td>{cells}<td>{reasons}</td>"
                    f"<td>{engagement}</td></tr>")
    gaps = "".join(f"<li><b>{e(team)}</b>: {e(', '.join(days))}</li>" for team, days in sorted(report.gaps.items())
                   if days) or "<li>none — every team has something scheduled every day of the next week</li>"
    summary = ", ".join(f"{totals[c]} {c.replace('_', ' ')}" for c in COLUMNS)
    return f"""<!doctype html>
<html lang="hi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prachar — {e(report.campaign)} — {report.day.isoformat()}</title>
<style>body{{font:15px/1.4 system-ui,sans-serif;margin:.75rem;color:#1d2330}}table{{border-collapse:collapse;
width:100%;font-size:.9rem}}th,td{{border-bottom:1px solid #d9dde5;padding:.3rem;text-align:left;vertical-align:top}}
td.n{{text-align:right}}.scroll{{overflow-x:auto}}</style></head><body>
<h1>{e(report.campaign)} · {report.day.isoformat()}</h1>
<p>{e(summary)}</p>
<h2>Per team and platform</h2><div class=scroll><table><thead><tr><th>team</th><th>platform</th>{head}
<th>failure reasons</th><th>engagement</th></tr></thead><tbody>{''.join(body)}</tbody></table></div>
<h2>Coverage gaps, next 7 days</h2><ul>{gaps}</ul>
<h2>Broadcasts to subscribers, last 7 days</h2>{_broadcasts_html(report)}
</body></html>
"""


def gap_days(coverage_rows: Iterable[Any]) -> dict[str, list[str]]:
    return {row.team: [d.isoformat() for d in row.gaps] for row in coverage_rows}


def by_team(campaign: Any, posts_by_scope: dict[str, list[Post]]) -> dict[tuple[str, str], list[Post]]:
    """Posts of each scope under the team that works there (a scope without a team reports as its own name)."""
    grouped: dict[tuple[str, str], list[Post]] = defaultdict(list)
    for scope, posts in posts_by_scope.items():
        grouped[(campaign.team_for(scope), scope)].extend(posts)
    return dict(grouped)
