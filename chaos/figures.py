"""The figures: posts per state from the store, duplicates and lost posts from the sandbox's own record."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain.post import PostStatus, content_id_for
from chaos.campaign import PLATFORMS, CampaignPlan, PlannedPost

IST = timezone(timedelta(hours=5, minutes=30))  # the activity log's days are the campaign's local days
MARKER = re.compile(r"\[c\d{4}\]")
THREAD_PART = re.compile(r"\((\d+)/(\d+)\)\s*$")
FINAL = {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.CANCELLED_CAMPAIGN_OVER, PostStatus.REJECTED,
         PostStatus.EXPIRED, PostStatus.WITHDRAWN}
PUBLISH_PATHS = {"facebook": ("/feed", "/photos", "/videos"), "x": ("/2/tweets",), "whatsapp": ("/messages",)}

Delivery = tuple[str, str]  # (marker, recipient phone | thread part number | "page")


@dataclass
class PlatformFigures:
    states: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    lost: int = 0
    findings: list[str] = field(default_factory=list)


@dataclass
class Figures:
    seed: int
    backend: str
    posts: int
    wall_seconds: float
    steps: int
    timed_out: bool
    faults_fired: Counter[str]
    kills: int
    per_platform: dict[str, PlatformFigures]
    dropped_events: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(p.duplicates for p in self.per_platform.values())

    @property
    def lost(self) -> int:
        return sum(p.lost for p in self.per_platform.values())

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.timed_out)


def accepted_deliveries(received: list[dict[str, Any]]) -> dict[str, Counter[Delivery]]:
    """Every publish request the sandbox accepted (2xx, which includes a timeout_after_send: the sandbox records
    its 200 before it stalls the answer), attributed to a post by the marker in its text."""
    counts: dict[str, Counter[Delivery]] = {platform: Counter() for platform in PLATFORMS}
    marker_of_tweet: dict[str, str] = {}
    for request in sorted(received, key=lambda r: r["seq"]):
        platform = request["platform"]
        if request["method"] != "POST" or not (200 <= request["status"] < 300 or request.get("created")):
            continue  # a 5xx that still created the post (server_error_after_send) counts as accepted
        if not request["path"].endswith(PUBLISH_PATHS.get(platform, ())):
            continue
        body = request["body"] if isinstance(request["body"], dict) else {}
        found = MARKER.search(json.dumps(body, ensure_ascii=False))
        marker = found.group(0) if found else None
        if platform == "x":
            if marker is None:  # a thread part cut between sentences: it replies to a part that has the marker
                marker = marker_of_tweet.get(str((body.get("reply") or {}).get("in_reply_to_tweet_id")))
            tweet_id = str(request.get("created") or ((request.get("response") or {}).get("data") or {}).get("id"))
            if marker:
                marker_of_tweet[tweet_id] = marker
            part = THREAD_PART.search(body.get("text") or "")
            counts["x"][(marker or "?", part.group(1) if part else "1")] += 1
        elif platform == "whatsapp":
            counts["whatsapp"][(marker or "?", str(body.get("to", "")).lstrip("+"))] += 1
        elif platform == "facebook":
            counts["facebook"][(marker or "?", "page")] += 1
    return counts


def trail(received: list[dict[str, Any]], marker: str) -> list[str]:
    """What the sandbox saw of one post, for a finding: each request's time, path, answer and thread part."""
    lines = []
    for request in received:
        text = json.dumps(request["body"], ensure_ascii=False) if request.get("body") else ""
        if marker in text:
            part = THREAD_PART.search(str((request["body"] or {}).get("text") or ""))
            lines.append(f"{request['seq']} {request['at']} {request['method']} {request['path']} -> "
                         f"{request['status']}" + (f" part {part.group(0)}" if part else "")
                         + (f" to {request['body'].get('to')}" if isinstance(request["body"], dict)
                            and request["body"].get("to") else ""))
    return lines


def history(store: Any, content_id: str, days: list[Any]) -> list[str]:
    """The activity log of one content, oldest first, for a finding."""
    entries = [e for day in days for e in store.activity_on(day, limit=100_000, newest_first=False)
               if e.content_id == content_id]
    return [f"{e.at.isoformat()} {e.kind}: {e.message}" for e in entries]


def expected_deliveries(plan: CampaignPlan, planned: PlannedPost, payload: dict[str, Any]) -> set[Delivery]:
    if planned.platform == "facebook":
        return {(planned.marker, "page")}
    if planned.platform == "x":
        parts = len(payload.get("thread") or []) or 1
        return {(planned.marker, str(i)) for i in range(1, parts + 1)}
    return {(planned.marker, phone.lstrip("+")) for phone in plan.phones(planned.scope)}


def count(plan: CampaignPlan, store: Any, received: list[dict[str, Any]]) -> dict[str, PlatformFigures]:
    figures = {platform: PlatformFigures() for platform in PLATFORMS}
    accepted = accepted_deliveries(received)
    days = sorted({datetime.fromisoformat(r["at"]).astimezone(IST).date() for r in received}
                  | {p.uploaded_at.astimezone(IST).date() for p in plan.posts})
    for platform, deliveries in accepted.items():
        for delivery, times in sorted(deliveries.items()):
            if times > 1 or delivery[0] == "?":
                figures[platform].duplicates += times - 1 if delivery[0] != "?" else times
                figures[platform].findings.append(f"duplicate: {delivery} accepted {times} times")
                figures[platform].findings += [f"    {line}" for line in trail(received, delivery[0])]
    for planned in plan.posts:
        mine = figures[planned.platform]
        content, posts = store.content_with_posts(content_id_for(planned.key))
        if content is None or not posts:
            mine.lost += 1
            mine.states["(no post)"] += 1
            mine.findings.append(f"lost: {planned.marker} {planned.key} has no post")
            continue
        for post in posts:
            mine.states[str(post.status)] += 1
            if post.status not in FINAL:
                mine.lost += 1
                mine.findings.append(f"lost: {planned.marker} {post.post_id} stuck in {post.status} ({post.reason})")
                mine.findings += [f"    {line}" for line in trail(received, planned.marker)]
                mine.findings += [f"    log {line}" for line in history(store, post.content_id, days)]
            elif post.status is not PostStatus.PUBLISHED:
                mine.findings.append(f"not published: {planned.marker} {post.post_id} {post.status} after "
                                     f"{post.attempts} attempts ({post.reason})")
                mine.findings += [f"    {line}" for line in trail(received, planned.marker)]
                mine.findings += [f"    log {line}" for line in history(store, post.content_id, days)]
            else:
                missing = sorted(d for d in expected_deliveries(plan, planned, post.payload)
                                 if not accepted[planned.platform][d])
                if missing:
                    mine.lost += 1
                    mine.findings.append(f"lost: {planned.marker} {post.post_id} published, never accepted for "
                                         f"{missing}")
                    mine.findings += [f"    {line}" for line in trail(received, planned.marker)]
    return figures


def table(figures: Figures) -> str:
    states = sorted({state for p in figures.per_platform.values() for state in p.states})
    header = ["platform", *states, "duplicates", "lost"]
    rows = [[platform, *(str(p.states.get(s, 0)) for s in states), str(p.duplicates), str(p.lost)]
            for platform, p in figures.per_platform.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    fired = ", ".join(f"{kind} {n}" for kind, n in sorted(figures.faults_fired.items())) or "none"
    lines += [f"backend {figures.backend}, seed {figures.seed}, {figures.posts} posts, {figures.steps} clock steps, "
              f"wall time {figures.wall_seconds:.1f} s" + (" — TIMED OUT before the system settled" if
                                                           figures.timed_out else ""),
              f"faults fired: {fired}; workers killed after a platform call: {figures.kills}",
              f"S3 events that failed all three tries (to the on-failure destination): {len(figures.dropped_events)}",
              f"duplicates {figures.duplicates}, lost {figures.lost}: " + ("OK" if figures.ok else "FAILED")]
    lines += [f"  dropped: {event}" for event in figures.dropped_events[:10]]
    for platform, p in figures.per_platform.items():
        lines += [f"  {platform}: {finding}" for finding in p.findings[:120]]
    return "\n".join(lines)
