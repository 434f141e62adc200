"""The active campaign as every Lambda reads it back from the table: the config ingest validated and stored.

domain/campaign.py validates a config upload with pydantic and ingest stores its dump (`model_dump(mode="json")`).
Reading that dump back needs no validating again, and importing pydantic alone costs a Lambda's cold start more than
its whole budget (1.3× `import boto3`, bench/cold_start.py). So the Lambdas read it into the plain classes here;
only the config upload (and a document in any other shape than this release's dump) loads the pydantic models.

What a campaign answers (its scopes, members, accounts, …) lives once, in the *Rules mixins: the config model and
the stored campaign share them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any, ClassVar

TARGET_FIELD = {"facebook": "page_id", "x": "user_id", "whatsapp": "phone_number_id"}


def principal_matches(pattern: str, principal: str) -> bool:
    """The bucket policy's `aws:userid` StringLike, so that S3 and the app agree on who someone is: `*` and `?`
    are wildcards, case matters, an `AWS:` prefix on either side is ignored."""
    return fnmatchcase(principal.removeprefix("AWS:"), pattern.removeprefix("AWS:").replace("[", "[[]"))


# The mixins declare no fields: the config model's own annotations are its fields (pydantic would take a mixin's).
class ConstituencyRules:
    @property
    def silence_starts(self) -> datetime:
        return self.poll_closes - timedelta(hours=self.silence_hours)


class AccountRules:
    @property
    def target_id(self) -> str:
        return getattr(self, TARGET_FIELD[self.platform])


class CampaignRules:
    @cached_property
    def scopes(self) -> set[str]:
        return ({"state"} | {f"district/{d.id}" for d in self.districts}
                | {f"constituency/{c.id}" for c in self.constituencies})

    def accounts_in(self, scope: str) -> list[Any]:
        return [a for a in self.accounts if a.scope == scope]

    def account(self, account_id: str) -> Any | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def team_members(self, scope: str) -> list[Any]:
        """The members of the teams that work at exactly this scope: the WhatsApp 'team' audience."""
        return [m for t in self.teams if t.scope == scope for m in t.members]

    def member(self, member_id: str) -> Any | None:
        return next((m for t in self.teams for m in t.members if m.id == member_id), None)

    def member_by_principal(self, principal: str) -> Any | None:
        """S3 events name the uploader as `AWS:<principal id>`; the config may write it with or without `AWS:`, and
        as the bucket policy reads it (`AROA…:*`: any session of a role)."""
        return next((m for t in self.teams for m in t.members
                     if m.principal and principal_matches(m.principal, principal)), None)

    @property
    def maps_principals(self) -> bool:
        return any(m.principal for t in self.teams for m in t.members)

    def config_uploaders(self) -> list[Any]:
        """Who may replace this config once it is active: its coordinators with a principal."""
        return [m for t in self.teams for m in t.members if m.role == "coordinator" and m.principal]

    def team_of(self, member_id: str) -> Any | None:
        return next((t for t in self.teams if any(m.id == member_id for m in t.members)), None)

    def enclosing(self, scope: str) -> list[str]:
        """The scope and every scope above it: state ⊃ district ⊃ constituency."""
        chain = ["state"]
        if scope.startswith("district/"):
            chain.append(scope)
        elif scope.startswith("constituency/"):
            constituency = next((c for c in self.constituencies if f"constituency/{c.id}" == scope), None)
            if constituency:
                chain.append(f"district/{constituency.district}")
            chain.append(scope)
        return chain

    def team_for(self, scope: str) -> str:
        return next((t.id for t in self.teams if t.scope == scope), scope)


class _Stored:
    """A part of the stored campaign: its fields as read-only attributes, compared and shown by their values (as the
    config model's are). Plain classes, not dataclasses: making a dataclass costs a cold start a millisecond or two."""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: the active campaign changes by an upload")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: the active campaign changes by an upload")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in self.FIELDS))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.FIELDS)})"


class District(_Stored):
    FIELDS = ("id", "name")
    id: str
    name: str


class Constituency(ConstituencyRules, _Stored):
    FIELDS = ("id", "name", "district", "poll_closes", "silence_hours", "counting")
    id: str
    name: str
    district: str
    poll_closes: datetime
    silence_hours: int
    counting: date | None


class Member(_Stored):
    FIELDS = ("id", "name", "role", "phone", "email", "principal")
    id: str
    name: str
    role: str
    phone: str | None
    email: str | None
    principal: str | None


class Team(_Stored):
    FIELDS = ("id", "scope", "members")
    id: str
    scope: str
    members: list[Member]


class Approval(_Stored):
    FIELDS = ("constituency", "district", "state")
    constituency: str
    district: str
    state: str


class Account(AccountRules, _Stored):
    FIELDS = ("id", "scope", "platform", "secret", "page_id", "user_id", "phone_number_id", "throughput")
    id: str
    scope: str
    platform: str
    secret: str
    page_id: str | None
    user_id: str | None
    phone_number_id: str | None
    throughput: int


class WhatsAppTemplate(_Stored):
    FIELDS = ("name", "params", "language")
    name: str
    params: int
    language: str


class AudienceRules(_Stored):
    FIELDS = ("notices", "retention_days", "messaging_limit")
    notices: list[str]
    retention_days: int
    messaging_limit: int | None


class Operations(_Stored):
    FIELDS = ("alarm_topic",)
    alarm_topic: str | None


class StoredCampaign(CampaignRules, _Stored):
    FIELDS = ("campaign", "timezone", "districts", "constituencies", "teams", "approval", "accounts",
              "whatsapp_templates", "audience", "operations", "daily_slots")
    campaign: str
    timezone: str
    approval: Approval
    whatsapp_templates: list[WhatsAppTemplate]
    audience: AudienceRules
    operations: Operations
    daily_slots: dict[str, list[str]]


def read_campaign(document: dict[str, Any]) -> Any:
    """The campaign of a stored document: as stored, when it is this release's dump; else validated by the config
    model as before (an older release's document gets the defaults of fields added since; a field unknown to this
    release is refused)."""
    campaign = stored_campaign(document)
    if campaign is None:
        from chalicelib.domain.campaign import Campaign  # deferred: pydantic, only for a document of another shape

        return Campaign.model_validate(document)
    return campaign


def stored_campaign(document: Any) -> StoredCampaign | None:
    """The campaign from exactly the fields `Campaign.model_dump(mode="json")` writes, or None for any other shape."""
    try:
        return _campaign(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _fields(kind: type[_Stored], document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or document.keys() != set(kind.FIELDS):
        raise ValueError(f"not the stored shape of {kind.__name__}")
    return document


def _campaign(document: Any) -> StoredCampaign:
    d = _fields(StoredCampaign, document)
    return StoredCampaign(
        campaign=d["campaign"], timezone=d["timezone"],
        districts=[District(**_fields(District, x)) for x in d["districts"]],
        constituencies=[_constituency(x) for x in d["constituencies"]],
        teams=[_team(x) for x in d["teams"]],
        approval=Approval(**_fields(Approval, d["approval"])),
        accounts=[Account(**_fields(Account, x)) for x in d["accounts"]],
        whatsapp_templates=[WhatsAppTemplate(**_fields(WhatsAppTemplate, x)) for x in d["whatsapp_templates"]],
        audience=_audience(d["audience"]),
        operations=Operations(**_fields(Operations, d["operations"])),
        daily_slots={scope: list(slots) for scope, slots in d["daily_slots"].items()},
    )


def _constituency(document: Any) -> Constituency:
    d = _fields(Constituency, document)
    counting = d["counting"]
    return Constituency(**{**d, "poll_closes": datetime.fromisoformat(d["poll_closes"]),
                           "counting": date.fromisoformat(counting) if counting is not None else None})


def _team(document: Any) -> Team:
    d = _fields(Team, document)
    return Team(**{**d, "members": [Member(**_fields(Member, m)) for m in d["members"]]})


def _audience(document: Any) -> AudienceRules:
    d = _fields(AudienceRules, document)
    return AudienceRules(**{**d, "notices": list(d["notices"])})
