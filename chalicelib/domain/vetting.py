"""How an upload is judged before anything is stored — shared by the upload Lambdas and `prachar check`.

The Lambdas (services/ingest.py) and the volunteers' command line (prachar_cli) call these same functions, so a
file that `prachar check` passes is accepted by the system, and one it refuses is refused with the same problems,
fields, rows and fixes that `errors/<key>.json` would hold. Only the answers that need the bucket or the table
come in as functions: a media file's size, and a series item's next free slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain import election
from chalicelib.domain.media_rules import media_problems
from chalicelib.domain.problems import unexpected
from chalicelib.domain.series import next_slot
from chalicelib.domain.times import ist_text
from chalicelib.errors import InvalidContentError, Problem

if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign
    from chalicelib.domain.manifest import Manifest, PostPlan
    from chalicelib.domain.scope import ScopedKey

CONFIG_KEY = "config/campaign.yaml"
CALENDAR_SIZE_FACTOR = 16  # a calendar may be this many times the upload limit of a manifest
SCOPE_FIXES = {
    "content": "upload under content/state/, content/district/<id>/ or content/constituency/<id>/",
    "calendar": "upload under calendar/<scope>/",
}
NO_CAMPAIGN = Problem("(campaign)", "no campaign is active yet", f"upload {CONFIG_KEY} first, then upload this file "
                      "again")
UNFORESEEN_FIX = ("check it against the documented format (README: Uploading content) and upload it again; if it "
                  "looks right, tell the campaign's ops team, with this report")


@dataclass(frozen=True)
class Vetted:
    """A manifest that passed: the posts it makes, one per target account."""

    manifest: Manifest
    plans: list[PostPlan]


@dataclass(frozen=True)
class ElectionWarning:
    """Accepted, but the election calendar will stop this post at its time."""

    account_id: str
    due_at: datetime
    effect: str
    reason: str

    def __str__(self) -> str:
        return f"for {self.account_id} at {ist_text(self.due_at)}: {self.effect} — {self.reason}"


def vet_manifest(document: dict[str, Any], scoped: ScopedKey, campaign: Campaign, now: datetime, *,
                 size_of: Callable[[str], int | None],
                 slot: Callable[[Manifest, list[PostPlan]], list[PostPlan]] | None = None) -> Vetted:
    """A decoded manifest checked against the campaign and its media. `size_of(key)`: a media file's size in bytes
    (None: not there); `slot`: what a series item without a time is given (the series' next daily slot)."""
    from chalicelib.domain.manifest import parse_manifest, plan_posts  # deferred: pydantic, for parsers only

    manifest = parse_manifest(document)
    plans = plan_posts(manifest, scoped, campaign, now)
    if slot is not None and manifest.series and manifest.publish_at is None:
        plans = slot(manifest, plans)
    media = plans[0].payload["media"]
    sizes = {item["key"]: size_of(item["key"]) for item in media}
    problems = media_problems(sorted({p.account.platform for p in plans}), media, sizes)
    if problems:
        raise InvalidContentError(problems)
    return Vetted(manifest, plans)


def election_warnings(plans: Iterable[PostPlan], campaign: Campaign) -> list[ElectionWarning]:
    """The posts that the election calendar will hold or cancel at their time: said at upload, while they can move."""
    warnings = []
    for plan in plans:
        ruling = election.verdict(plan.account.scope, campaign, plan.due_at)
        if ruling.action is election.Action.PUBLISH:
            continue
        effect = "it will be held" if ruling.action is election.Action.HOLD else "it will be cancelled"
        warnings.append(ElectionWarning(plan.account.id, plan.due_at, effect, ruling.reason))
    return warnings


def at_row(problems: Iterable[Problem], row: int) -> list[Problem]:
    """A calendar row's problems, each carrying the row's number."""
    return [Problem(p.field, p.message, p.fix, row=row) for p in problems]


def outside_any_scope(message: str, area: str) -> Problem:
    return Problem("(key)", message, SCOPE_FIXES.get(area, f"upload under {area}/<scope>/"))


def not_a_calendar(key: str) -> Problem:
    return Problem("(file)", f"{key.rsplit('/', 1)[-1]} is not a CSV calendar",
                   "save the calendar as CSV (Excel: Save As → CSV UTF-8) and upload the .csv file")


def too_large(size: int, limit: int) -> Problem:
    return Problem("(file)", f"the file is {size:,} bytes, over the {limit:,}-byte limit",
                   "keep the manifest small; put images and videos in separate files and list them under media")


def not_the_config(key: str) -> Problem:
    return Problem("(key)", f"{key} is not the campaign config", f"upload the campaign as {CONFIG_KEY} (exactly that "
                   "name)")


def problem_count(problems: list[Problem]) -> str:
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"


def unforeseen(exc: BaseException, subject: str = "the file") -> Problem:
    """An exception no check foresaw, answered as the upload's (or, with subject "this row", a row's) problem."""
    return unexpected(exc, UNFORESEEN_FIX, subject)


def no_slot_left(series: str, scope: str) -> Problem:
    return Problem("series", f"series {series} has no daily slot left for {scope}: its campaign ends first",
                   "give this item a publish_at, or drop it")


def series_slot(series: str, scope: str, campaign: Campaign, now: datetime,
                cursor: datetime | None = None) -> datetime:
    """A series item's slot: the first daily slot after the series' last one (`cursor`), else after now — a slot at
    this very minute is still free when nothing holds it. InvalidContentError when the campaign ends first."""
    slot = next_slot(cursor if cursor and cursor >= now else now - timedelta(seconds=1), scope, campaign)
    if slot is None:
        raise InvalidContentError([no_slot_left(series, scope)])
    return slot
