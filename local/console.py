"""What the local stack prints: activity lines and the summary table."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.adapters.store import ActivityEntry
from chalicelib.domain.times import IST, from_iso, ist_text

LEVEL_MARK = {"info": " ", "warning": "!", "error": "✗"}


def activity_line(entry: ActivityEntry) -> str:
    mark = LEVEL_MARK.get(entry.level, " ")
    return f"{mark} [{ist_text(entry.at)}] {entry.scope:<24} {entry.kind:<18} {entry.message}"


def upload_failure_line(record: dict[str, Any], queue: str) -> str:
    """One of Lambda's on-failure records, for a person: which upload, what went wrong, where the rest is."""
    keys = [unquote_plus(r["s3"]["object"]["key"]) for r in record.get("requestPayload", {}).get("Records", [])]
    context, error = record.get("requestContext", {}), record.get("responsePayload", {})
    function = context.get("functionArn", "").partition(":function:")[2].split(":")[0]
    message = (str(error.get("errorMessage", "")).splitlines() or [""])[0][:200]
    return (f"{LEVEL_MARK['error']} [{ist_text(from_iso(record['timestamp']))}] UPLOAD FAILED "
            f"{', '.join(keys) or '(no key)'} — {error.get('errorType', 'Error')}: {message} — the upload got no "
            f"answer ({function} failed {context.get('approximateInvokeCount', '?')} times); see the traceback "
            f"above and the record on queue {queue}")


def summary_counts(store: Any, campaign: Any) -> Counter:
    """(team, platform, status) → number of posts, from the by-scope index."""
    counts: Counter = Counter()
    for scope in sorted(campaign.scopes):
        team = campaign.team_for(scope)
        for post in store.posts_in_scope(scope):
            counts[(team, post.platform, str(post.status))] += 1
    return counts


def summary_table(counts: Counter) -> str:
    statuses = sorted({status for _, _, status in counts})
    rows = sorted({(team, platform) for team, platform, _ in counts})
    header = ["team", "platform", *statuses, "total"]
    body = []
    for team, platform in rows:
        cells = [counts[(team, platform, s)] for s in statuses]
        body.append([team, platform, *map(str, cells), str(sum(cells))])
    totals = [sum(counts[(t, p, s)] for t, p in rows) for s in statuses]
    body.append(["all teams", "", *map(str, totals), str(sum(totals))])
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        padded = (str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in pairs)
        return "  ".join(padded)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body[:-1]), rule, line(body[-1])])


def what_went_out(requests: list[dict]) -> str:
    """The sandbox's request log, counted by the kind of thing each platform accepted."""
    kinds: Counter = Counter()
    for request in requests:
        if request["status"] not in (200, 201):
            kinds[f"{request['platform']}: refused ({request['status']})"] += 1
            continue
        path, body = request["path"], request["body"] if isinstance(request["body"], dict) else {}
        if request["platform"] == "facebook":
            edge = path.rsplit("/", 1)[-1]
            if edge in ("feed", "photos", "videos"):
                kinds[f"facebook: {'post' if edge == 'feed' else edge[:-1]}"] += 1
        elif request["platform"] == "x":
            if path == "/2/tweets":
                kinds["x: reply in a thread" if body.get("reply") else
                      "x: post with media" if body.get("media") else "x: post"] += 1
            elif path.endswith("/finalize"):
                kinds["x: media uploaded"] += 1
        elif request["platform"] == "whatsapp" and path.endswith("/messages"):
            kinds[f"whatsapp: {body.get('type', 'message')} message"] += 1
    width = max((len(k) for k in kinds), default=0)
    return "\n".join(f"  {kind:<{width}}  {count:>5}" for kind, count in sorted(kinds.items()))


# What a finished replay may end in: out, or stopped on purpose by the calendar or the sign-off chain.
SETTLED = ("published", "cancelled_campaign_over", "expired", "rejected")


def election_table(store: Any, campaign: Any) -> str:
    """Per constituency: posts published, held by its silence at least once, cancelled when its poll closed."""
    lines = [f"  {'constituency':<14}{'poll closes':<20}{'published':>10}{'held by silence':>17}{'cancelled':>11}"]
    for constituency in campaign.constituencies:
        posts = list(store.posts_in_scope(f"constituency/{constituency.id}"))
        published = sum(p.status.value == "published" for p in posts)
        held = sum(p.held_by_silence for p in posts)
        cancelled = sum(p.status.value == "cancelled_campaign_over" for p in posts)
        lines.append(f"  {constituency.id:<14}{constituency.poll_closes.strftime('%Y-%m-%d %H:%M'):<20}"
                     f"{published:>10}{held:>17}{cancelled:>11}")
    return "\n".join(lines)


def series_lines(store: Any, campaign: Any) -> str:
    """Each daily series: how many items, from which day to which, and how many went out."""
    found: dict[tuple[str, str], list] = {}
    for scope in sorted(campaign.scopes):
        for post in store.posts_in_scope(scope):
            content = store.content(post.content_id) if post.account_id.startswith("fb-") else None
            if content and content.series and not content.manifest.get("publish_at"):
                found.setdefault((scope, content.series), []).append(post)
    lines = []
    for (scope, series), posts in sorted(found.items()):
        days = sorted(p.due_at.astimezone(IST).date() for p in posts)
        out = sum(p.status.value == "published" for p in posts)
        lines.append(f"  {series} ({scope}): {len(posts)} items, one a day from {days[0]} to {days[-1]}; "
                     f"{out} published on Facebook")
    return "\n".join(lines) or "  (none)"
