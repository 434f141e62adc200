"""A post manifest: what a team uploads, checked against the active campaign and turned into posts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.domain.campaign import Account, Campaign, Platform, normalise_platform
from chalicelib.domain.problems import fixable, problems_from_validation
from chalicelib.domain.scope import ScopedKey, ScopeError, resolve_media_path
from chalicelib.domain.times import as_aware
from chalicelib.domain.x_text import MAX_THREAD_PARTS, split_thread, thread_slices
from chalicelib.errors import InvalidContentError, Problem

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".mp4": "video/mp4", ".mov": "video/quicktime",
}


class PlatformOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str | None = Field(default=None, min_length=1)
    link: str | None = None
    template: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,512}$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    params: list[str] = Field(default_factory=list)
    audience: Literal["team", "subscribers"] = "team"

    @field_validator("params", mode="before")
    @classmethod
    def _params_are_text(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]
        return value


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    text: str | None = Field(default=None, min_length=1)
    link: str | None = None
    media: list[str] = Field(default_factory=list, max_length=10)
    platforms: list[Platform] | None = Field(default=None, min_length=1)
    publish_at: datetime | None = None
    series: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    overrides: dict[Platform, PlatformOverride] = Field(default_factory=dict)
    paid: bool = False
    mcmc_certificate: str | None = None

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return list(dict.fromkeys(normalise_platform(v) for v in value))
        return value

    @field_validator("overrides", mode="before")
    @classmethod
    def _override_names(cls, value: object) -> object:
        if isinstance(value, dict):
            return {normalise_platform(k): v for k, v in value.items()}
        return value

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise fixable(f"{value!r} is not a web link", "write the full address, starting with https://")
        return value

    @field_validator("publish_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        return as_aware(value) if value else None

    def text_for(self, platform: str) -> str | None:
        override = self.overrides.get(platform)
        return (override.text if override and override.text else None) or self.text


@dataclass(frozen=True)
class PostPlan:
    """One post: this content to this account at this time."""

    account: Account
    due_at: datetime
    payload: dict[str, Any]


def decode_document(raw: bytes, key: str, max_bytes: int) -> dict[str, Any]:
    """Bytes of a YAML or JSON upload → a mapping, or InvalidContentError saying what is wrong."""
    if not raw.strip():
        raise _invalid("(file)", "the file is empty", "upload the manifest with its fields, e.g. title and text")
    if len(raw) > max_bytes:
        raise _invalid("(file)", f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit",
                       "keep the manifest small; put images and videos in separate files and list them under media")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid("(file)", f"the file is not UTF-8 text (bad byte at position {exc.start})",
                       "save it as UTF-8 (in most editors: Save As → Encoding: UTF-8)") from None
    try:
        document = json.loads(text) if key.endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise _invalid("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                       "fix the JSON syntax there (quotes, commas, brackets)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _invalid("(file)", f"not valid YAML: {reason}{where}",
                       "fix the YAML syntax there (indentation, a ':' after each field name, quotes)") from None
    if not isinstance(document, dict):
        raise _invalid("(file)", f"the file holds a {type(document).__name__}, not a mapping of fields",
                       "write one field per line, e.g. title: …")
    return document


def parse_manifest(document: dict[str, Any]) -> Manifest:
    try:
        return Manifest.model_validate(document)
    except ValidationError as exc:
        raise InvalidContentError(problems_from_validation(exc)) from None


def plan_posts(manifest: Manifest, scoped: ScopedKey, campaign: Campaign, now: datetime) -> list[PostPlan]:
    """Check the manifest against the campaign and return one post per target account."""
    problems: list[Problem] = []
    scope = str(scoped.scope)
    if scope not in campaign.scopes:
        raise _invalid("(key)", f"the scope {scope!r} in the key is not part of campaign {campaign.campaign!r}",
                       "upload under content/state/, content/district/<id>/ or content/constituency/<id>/ "
                       "with an id from config/campaign.yaml")
    accounts = campaign.accounts_in(scope)
    wanted = manifest.platforms or sorted({a.platform for a in accounts})
    if not accounts:
        problems.append(Problem("platforms", f"scope {scope} has no accounts",
                                "add accounts for this scope to config/campaign.yaml"))
    for platform in wanted:
        if not any(a.platform == platform for a in accounts):
            problems.append(Problem("platforms", f"scope {scope} has no {platform} account",
                                    f"remove {platform} from platforms, or add a {platform} account "
                                    f"with scope {scope} to config/campaign.yaml"))
    for platform in manifest.overrides:
        if platform not in wanted:
            problems.append(Problem(f"overrides.{platform}", f"{platform} is not one of this post's platforms",
                                    f"add {platform} to platforms or remove the override"))
    whatsapp = manifest.overrides.get("whatsapp")
    if whatsapp and whatsapp.audience == "subscribers":
        problems.append(Problem("overrides.whatsapp.audience", "sending to subscribers is not enabled yet: "
                                "contacts from audience/ are not imported in this version",
                                "use audience: team (the scope's team members)"))
    if whatsapp and whatsapp.template and campaign.whatsapp_templates:
        problems += _template_problems(whatsapp, campaign)
    for platform in wanted:
        override = manifest.overrides.get(platform)
        if manifest.text_for(platform) is None and not (override and override.template):
            problems.append(Problem("text", f"no text for {platform}",
                                    f"add text, or overrides.{platform}.text"))
    problems += _x_thread_problems(manifest, wanted)
    media_keys = []
    for index, reference in enumerate(manifest.media):
        try:
            media_key = resolve_media_path(scoped, reference)
        except ScopeError as exc:
            problems.append(Problem(f"media[{index}]", str(exc), "name a file in the manifest's folder"))
            continue
        if _suffix(media_key) not in MEDIA_TYPES:
            problems.append(Problem(f"media[{index}]", f"{reference!r} is not a supported media type",
                                    f"use one of {', '.join(sorted(MEDIA_TYPES))}"))
        media_keys.append(media_key)
    if problems:
        raise InvalidContentError(problems)

    due_at = manifest.publish_at or now
    plans = []
    for account in sorted(accounts, key=lambda a: a.id):
        if account.platform not in wanted:
            continue
        override = manifest.overrides.get(account.platform)
        payload: dict[str, Any] = {
            "title": manifest.title,
            "text": manifest.text_for(account.platform),
            "link": (override.link if override and override.link else None) or manifest.link,
            "media": [{"key": k, "content_type": MEDIA_TYPES[_suffix(k)]} for k in media_keys],
        }
        if account.platform == "x":
            payload["text"] = "\n\n".join(part for part in (payload["text"], payload.pop("link")) if part)
            payload["link"] = None
            payload["thread"] = split_thread(payload["text"])
        if account.platform == "whatsapp":
            payload["audience"] = override.audience if override else "team"
            if override and override.template:
                payload["template"] = {"name": override.template, "language": override.language or "hi",
                                       "params": list(override.params)}
        plans.append(PostPlan(account=account, due_at=due_at, payload=payload))
    return plans


def _template_problems(override: PlatformOverride, campaign: Campaign) -> list[Problem]:
    approved = {t.name: t for t in campaign.whatsapp_templates}
    template = approved.get(override.template or "")
    if template is None:
        return [Problem("overrides.whatsapp.template", f"{override.template!r} is not an approved template",
                        f"use one of {', '.join(sorted(approved))}, or add it (once Meta approves it) to "
                        "whatsapp_templates in config/campaign.yaml")]
    if len(override.params) != template.params:
        return [Problem("overrides.whatsapp.params", f"template {template.name} takes {template.params} "
                        f"parameter(s); {len(override.params)} given", f"give exactly {template.params}")]
    return []


def _x_thread_problems(manifest: Manifest, platforms: list[str]) -> list[Problem]:
    if "x" not in platforms or manifest.text_for("x") is None:
        return []
    override = manifest.overrides.get("x")
    link = (override.link if override and override.link else None) or manifest.link
    text = "\n\n".join(part for part in (manifest.text_for("x"), link) if part)
    parts = len(thread_slices(text))
    if parts <= MAX_THREAD_PARTS:
        return []
    field = "overrides.x.text" if override and override.text else "text"
    return [Problem(field, f"for X this text makes a thread of {parts} posts; the most is {MAX_THREAD_PARTS}",
                    "shorten it, or give X its own shorter text under overrides.x.text")]


def _suffix(key: str) -> str:
    dot = key.rfind(".")
    return key[dot:].lower() if dot >= 0 else ""


def _invalid(field: str, message: str, fix: str) -> InvalidContentError:
    return InvalidContentError([Problem(field, message, fix)])
