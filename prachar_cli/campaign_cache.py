"""The active campaign as last fetched, kept in PRACHAR_HOME/campaign.json, so `prachar check` judges files against
the campaign's teams, accounts and calendar even on a train without a network.

`cached()` reads it (None when nothing is kept). `refresh_quietly()` asks the API — GET /api/me (who is signed in,
the config's version, the system's clock) and, only when the version changed, GET /api/campaign — and never raises:
not signed in, offline or refused, the cache simply stays as it was.

The system's clock is not this machine's (the local stack replays 2021; a laptop's clock drifts): `clock_offset` is
the system's time minus this machine's when fetched, so "now" for a check is `datetime.now(UTC) + clock_offset`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.settings import DEFAULT_MAX_UPLOAD_BYTES
from prachar_cli import settings

if TYPE_CHECKING:
    from prachar_cli.api import Client

CACHE_FILE = "campaign.json"
QUIET_TIMEOUT = 3.0


@dataclass(frozen=True)
class CachedCampaign:
    document: dict[str, Any]          # the active config (members' phones and principals removed)
    version: str                      # its sha256, as the system names it
    fetched_at: datetime              # when it was fetched, by this machine's clock (aware, UTC)
    clock_offset: timedelta           # the system's clock minus this machine's, when fetched
    max_upload_bytes: int             # the largest manifest the system reads
    team_scope: str | None            # the signed-in member's team's scope
    member: str | None = None         # who was signed in when it was fetched
    api: str | None = None            # which API it came from
    bucket: str | None = None         # the content bucket GET /api/me names (where uploads go, and media already are)

    def system_now(self) -> datetime:
        """The system's time now, as well as this machine can tell."""
        return datetime.now(UTC) + self.clock_offset

    def age(self) -> timedelta:
        """How long ago it was fetched (never negative)."""
        return max(datetime.now(UTC) - self.fetched_at, timedelta(0))

    def fresh(self, within: timedelta = timedelta(minutes=1)) -> bool:
        """Whether it was fetched just now (by this very command, as refresh_quietly does when it can)."""
        return self.age() <= within


def cached() -> CachedCampaign | None:
    data = settings.read_json(CACHE_FILE)
    if not data:
        return None
    try:
        document = data["document"]
        if not isinstance(document, dict):
            return None
        fetched_at = datetime.fromisoformat(data["fetched_at"])
        if fetched_at.tzinfo is None:
            fetched_at = fetched_at.replace(tzinfo=UTC)
        return CachedCampaign(document=document, version=str(data["version"]), fetched_at=fetched_at,
                              clock_offset=timedelta(seconds=float(data.get("clock_offset_seconds") or 0)),
                              max_upload_bytes=int(data.get("max_upload_bytes") or DEFAULT_MAX_UPLOAD_BYTES),
                              team_scope=data.get("team_scope") or None, member=data.get("member") or None,
                              api=data.get("api") or None,
                              bucket=data["bucket"] if isinstance(data.get("bucket"), str) and data["bucket"] else None)
    except (KeyError, TypeError, ValueError):
        return None


def _save(entry: CachedCampaign) -> None:
    settings.write_private(CACHE_FILE, {
        "version": entry.version, "fetched_at": entry.fetched_at.isoformat(),
        "clock_offset_seconds": entry.clock_offset.total_seconds(), "max_upload_bytes": entry.max_upload_bytes,
        "team_scope": entry.team_scope, "member": entry.member, "api": entry.api, "bucket": entry.bucket,
        "document": entry.document})


def parse_time(text: Any) -> datetime | None:
    """An ISO time from the API ("2021-03-03T03:30:00Z"), aware; None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def offset_from(system_now: Any, asked: float, answered: float) -> timedelta:
    """The system's clock minus this machine's, from a `now` read between `asked` and `answered` (time.time())."""
    moment = parse_time(system_now)
    if moment is None:
        return timedelta(0)
    midway = datetime.fromtimestamp((asked + answered) / 2, UTC)
    return moment - midway


def refresh(client: Client, me: dict[str, Any] | None = None) -> CachedCampaign | None:
    """Bring the cache up to date from the API (`me`: GET /api/me's answer, when the caller has it already).
    Raises the API's errors; None when the API names no campaign."""
    asked = time.time()
    if me is None:
        me = client.get("api/me")
    answered = time.time()
    if not isinstance(me, dict):
        return None
    version = me.get("config_version")
    team = me.get("team") if isinstance(me.get("team"), dict) else {}
    member = me.get("member") if isinstance(me.get("member"), dict) else {}
    offset = offset_from(me.get("now"), asked, answered)
    max_bytes = me.get("max_upload_bytes")
    bucket = me.get("bucket") if isinstance(me.get("bucket"), str) and me.get("bucket") else None
    previous = cached()
    if previous is not None and version and previous.version == version and previous.api == client.base:
        document = previous.document
    else:
        asked = time.time()
        campaign = client.get("api/campaign")
        answered = time.time()
        if not isinstance(campaign, dict) or not isinstance(campaign.get("campaign"), dict):
            return None
        document, version = campaign["campaign"], campaign.get("config_version") or version
        max_bytes = campaign.get("max_upload_bytes") or max_bytes
        offset = offset_from(campaign.get("now"), asked, answered) if campaign.get("now") else offset
    if not version:
        return None
    entry = CachedCampaign(document=document, version=str(version), fetched_at=datetime.now(UTC),
                           clock_offset=offset,
                           max_upload_bytes=int(max_bytes) if isinstance(max_bytes, int) else DEFAULT_MAX_UPLOAD_BYTES,
                           team_scope=team.get("scope") or None, member=member.get("id") or None, api=client.base,
                           bucket=bucket)
    _save(entry)
    return entry


def refresh_quietly(timeout: float = QUIET_TIMEOUT) -> CachedCampaign | None:
    """The campaign, fresh from the API when signed in and reachable, else as cached (None if never fetched). Never
    raises, and gives up within about `timeout` seconds a call."""
    with contextlib.suppress(Exception):
        from prachar_cli.api import Client
        from prachar_cli.session import current

        session = current()
        if session is not None:
            return refresh(Client(session, timeout=timeout)) or cached()
    with contextlib.suppress(Exception):
        return cached()
    return None
