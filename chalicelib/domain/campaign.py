"""The campaign config (config/campaign.yaml): who campaigns where, when each poll closes, which accounts.

These pydantic models validate an upload (and build the deploy's policies); the Lambdas read the active campaign
back as domain/stored_campaign.py's plain classes, which answer the same questions through the same *Rules mixins.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib.domain.problems import fixable, problems_from_validation, shown
from chalicelib.domain.scope import Scope, ScopeError
from chalicelib.domain.stored_campaign import (  # noqa: F401 — principal_matches: this module's name for it too
    TARGET_FIELD,
    AccountRules,
    CampaignRules,
    ConstituencyRules,
    principal_matches,
)
from chalicelib.domain.times import EXAMPLE_TIME, as_aware, out_of_range, unsure_time
from chalicelib.errors import InvalidContentError

Platform = Literal["facebook", "x", "whatsapp"]
Role = Literal["coordinator", "lead", "member"]
ApprovalRule = Literal["none", "lead", "coordinator"]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
PLATFORM_ALIASES = {"twitter": "x"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[1-9][0-9]{7,14}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def normalise_platform(value: object) -> object:
    if isinstance(value, str):
        return PLATFORM_ALIASES.get(value.strip().lower(), value.strip().lower())
    return value


def parse_campaign(document: dict[str, Any]) -> Campaign:
    """A decoded config as the campaign, or InvalidContentError naming each problem and its fix."""
    try:
        return Campaign.model_validate(document)
    except ValidationError as exc:
        raise InvalidContentError(problems_from_validation(exc)) from None


def parse_scope(value: object) -> str:
    if not isinstance(value, str):
        raise fixable("a scope must be text", "write state, district/<id> or constituency/<id>")
    try:
        return str(Scope.parse(value))
    except ScopeError as exc:
        raise fixable(str(exc), "write state, district/<id> or constituency/<id>") from None


class District(_Strict):
    id: Id
    name: str = Field(min_length=1)


class Constituency(ConstituencyRules, _Strict):
    id: Id
    name: str = Field(min_length=1)
    district: Id
    poll_closes: datetime
    silence_hours: int = Field(default=48, ge=1, le=168)
    counting: date | None = None

    @field_validator("poll_closes", "counting", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        if (why := unsure_time(value)) is not None:
            raise fixable(why, f"write a time like {EXAMPLE_TIME} (a date like 2021-05-02 for counting)")
        return value

    @field_validator("poll_closes")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return _plausible(as_aware(value))

    @field_validator("counting")
    @classmethod
    def _counting_year(cls, value: date | None) -> date | None:
        return _plausible(value) if value is not None else None


class Member(_Strict):
    id: Id
    name: str = Field(min_length=1)
    role: Role = "member"
    phone: str | None = None
    email: str | None = None      # where the sign-in invitation goes (else to the phone, by SMS)
    principal: str | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value.strip()):
            raise fixable(f"{shown(value)} is not an email address", "write it as name@example.org, or leave it out")
        return value.strip()

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: object) -> object:
        if value is None:
            return None
        # YAML reads +919800000001 as a number; anything else (a list, true, a 5,000-digit number) is no phone.
        readable = isinstance(value, str) or (type(value) is int and value.bit_length() < 64)
        text = re.sub(r"[\s-]", "", str(value)) if readable else ""
        if len(text) > 20 or not _PHONE.match(text):
            raise fixable(f"{shown(value)} is not a phone number",
                          "write it in international form with the country code, e.g. +919800000001")
        return text.lstrip("+")


class Team(_Strict):
    id: Id
    scope: str
    members: list[Member] = Field(min_length=1)

    _scope = field_validator("scope", mode="before")(classmethod(lambda cls, v: parse_scope(v)))


class Approval(_Strict):
    constituency: ApprovalRule = "lead"
    district: ApprovalRule = "lead"
    state: ApprovalRule = "coordinator"


class Account(AccountRules, _Strict):
    id: Id
    scope: str
    platform: Platform
    secret: str = Field(min_length=1)
    page_id: str | None = None
    user_id: str | None = None
    phone_number_id: str | None = None
    # WhatsApp: the number's throughput (Meta starts at 80 messages a second, upgrades up to 1,000).
    throughput: int = Field(default=80, ge=1, le=1000)

    _scope = field_validator("scope", mode="before")(classmethod(lambda cls, v: parse_scope(v)))
    _platform = field_validator("platform", mode="before")(classmethod(lambda cls, v: normalise_platform(v)))

    @field_validator("page_id", "user_id", "phone_number_id", mode="before")
    @classmethod
    def _ids_are_text(cls, value: object) -> object:
        # YAML reads an unquoted 100000000000001 as a number; an id is text either way.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _target_present(self) -> Account:
        needed = TARGET_FIELD[self.platform]
        if not getattr(self, needed):
            raise fixable(f"an account on {self.platform} needs {needed}",
                          f"add {needed}: \"…\" from the platform's settings")
        return self


class WhatsAppTemplate(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    params: int = Field(default=0, ge=0, le=20)
    language: str = "hi"


class AudienceRules(_Strict):
    """Voter outreach on WhatsApp (compliance.md): which privacy notices were given, how long contacts are kept."""

    notices: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list)  # empty: any
    retention_days: int = Field(default=30, ge=0, le=365)  # after a constituency's counting day
    # The business portfolio's WhatsApp messaging limit — people reached in a rolling 24 hours, shared by all its
    # numbers: 250, 2,000, 10,000, 100,000 as Meta raises it; none: unlimited.
    messaging_limit: int | None = Field(default=None, ge=1)


class Operations(_Strict):
    """For the ops team: where the CloudWatch alarms `make deploy` creates are sent (an SNS topic of the account;
    without one, the stack makes prachar-<stage>-alarms to subscribe to)."""

    alarm_topic: Annotated[str, Field(pattern=r"^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")] | None = None


class Campaign(CampaignRules, _Strict):
    campaign: Id
    timezone: str = "Asia/Kolkata"
    districts: list[District] = Field(min_length=1)
    constituencies: list[Constituency] = Field(min_length=1)
    teams: list[Team] = Field(default_factory=list)
    approval: Approval = Approval()
    accounts: list[Account] = Field(default_factory=list)
    whatsapp_templates: list[WhatsAppTemplate] = Field(default_factory=list)
    audience: AudienceRules = AudienceRules()
    operations: Operations = Operations()
    # When a daily series publishes its next item: per scope ("district/bhilwara") or level ("district").
    daily_slots: dict[str, list[Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]]] = Field(
        default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _india_only(cls, value: str) -> str:
        if value not in ("Asia/Kolkata", "Asia/Calcutta"):
            raise fixable(f"timezone {shown(value)} is not supported",
                          "use Asia/Kolkata: poll times and silence windows are in IST")
        return value

    @model_validator(mode="after")
    def _references(self) -> Campaign:
        problems = []
        for kind, items in (("district", self.districts), ("constituency", self.constituencies),
                            ("team", self.teams), ("account", self.accounts)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    problems.append(f"{kind} id {item.id!r} is used twice")
                seen.add(item.id)
        district_ids = {d.id for d in self.districts}
        for constituency in self.constituencies:
            if constituency.district not in district_ids:
                problems.append(f"constituency {constituency.id!r} names district {constituency.district!r}, "
                                "which is not under districts")
        known = self.scopes
        for key in self.daily_slots:
            if key not in known and key not in ("state", "district", "constituency"):
                problems.append(f"daily_slots names {key!r}, which is not a scope or level of this campaign")
        for kind, items in (("team", self.teams), ("account", self.accounts)):
            for item in items:
                if item.scope not in known:
                    problems.append(f"{kind} {item.id!r} has scope {item.scope!r}, which is not a district "
                                    "or constituency of this campaign")
        member_ids = Counter(m.id for t in self.teams for m in t.members)
        for member_id in sorted(m for m, count in member_ids.items() if count > 1):
            problems.append(f"member id {member_id!r} is used twice")
        if self.maps_principals and not self.config_uploaders():
            problems.append("members have principals but no coordinator does: only a coordinator's principal may "
                            "replace this config, so nobody could")
        if problems:
            listed = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
            raise fixable("; ".join(listed), "make every id unique and every reference name an existing entry")
        return self


def _plausible(moment: Any) -> Any:
    if (why := out_of_range(moment)) is not None:
        raise fixable(why, f"write a time like {EXAMPLE_TIME}")
    return moment
