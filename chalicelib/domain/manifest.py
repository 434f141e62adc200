"""A post manifest: what a team uploads, checked against the active campaign and turned into posts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.domain.campaign import Account, Campaign, Platform, normalise_platform
from chalicelib.domain.problems import fixable, hidden_characters, printable, problems_from_validation, shown, utf8_text
from chalicelib.domain.scope import ScopedKey, ScopeError, resolve_media_path
from chalicelib.domain.times import EXAMPLE_TIME, as_aware, out_of_range, unsure_time
from chalicelib.domain.x_text import (
    MAX_THREAD_PARTS,
    MAX_WEIGHT,
    normalise,
    split_thread,
    thread_slices,
    weighted_length,
)
from chalicelib.errors import InvalidContentError, Problem

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".webp": "image/webp", ".mp4": "video/mp4", ".mov": "video/quicktime",
}


# The most text one post carries here. Facebook takes more (63,206), but a campaign post is far shorter, and a
# manifest's texts must fit, with the rest of its record, in one 400 KB DynamoDB item.
MAX_TEXT = 10_000
WHATSAPP_TEXT = 4_096     # WhatsApp Cloud API: the most characters in a text message body …
WHATSAPP_CAPTION = 1_024  # … and in an image's or video's caption
MAX_LINK = 2_048
MAX_DEPTH = 32         # nesting a YAML or JSON upload may have; a manifest needs 4, the campaign config 5
MAX_ALIASES = 100      # YAML aliases (*name) per file: enough for merge keys, too few for an alias bomb
MAX_DIGITS = 40        # in a bare number: ids are longer than any count, and still far below this
_YAML = "tag:yaml.org,2002:"
_YAML_TAGS = frozenset(_YAML + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp",
                                                 "merge", "value"))

Param = Annotated[str, Field(max_length=1_024)]


def _plain_number(value: object) -> bool:
    """A number that reads back as itself in text (not true/false, NaN, or one too long to print)."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value.bit_length() < 128) or (isinstance(value, float) and math.isfinite(value))


def _visible(value: str | None, *, line_breaks: bool) -> str | None:
    if value is not None and (why := hidden_characters(value, line_breaks=line_breaks)):
        raise fixable(why, "remove it: such characters can make text show differently from what it says"
                      + ("" if line_breaks else ", and this field is one line"))
    return value


def _web_link(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        readable = parts.scheme in ("https", "http") and bool(parts.hostname)
    except ValueError:  # urlsplit refuses e.g. an unclosed [IPv6 literal
        readable = False
    if not readable or len(value) > MAX_LINK or any(c.isspace() or not c.isprintable() for c in value):
        raise fixable(f"{shown(value)} is not a web link",
                      f"write the full address, starting with https://, with no spaces, at most {MAX_LINK} characters")
    return value


class PlatformOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    link: str | None = None
    template: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,512}$")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    params: list[Param] = Field(default_factory=list, max_length=20)
    audience: Literal["team", "subscribers"] = "team"

    @field_validator("params", mode="before")
    @classmethod
    def _params_are_text(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v) if _plain_number(v) else v for v in value]
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _visible(value, line_breaks=True)

    @field_validator("params")
    @classmethod
    def _params(cls, value: list[str]) -> list[str]:
        for item in value:
            _visible(item, line_breaks=False)
        return value

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return _web_link(value)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    link: str | None = None
    media: list[str] = Field(default_factory=list, max_length=10)
    platforms: list[Platform] | None = Field(default=None, min_length=1, max_length=10)
    publish_at: datetime | None = None
    series: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    overrides: dict[Platform, PlatformOverride] = Field(default_factory=dict)
    paid: bool = False
    mcmc_certificate: str | None = Field(default=None, max_length=200)

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            names = [normalise_platform(v) for v in value]
            # Only text can repeat harmlessly; anything else (a list, a mapping) is left for the type check.
            return [n for i, n in enumerate(names) if not isinstance(n, str) or n not in names[:i]]
        return value

    @field_validator("overrides", mode="before")
    @classmethod
    def _override_names(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        named: dict[object, object] = {}
        for key, override in value.items():
            name = normalise_platform(key)
            if name in named:
                raise fixable(f"two overrides name the same platform ({shown(name)}; twitter is x)",
                              "keep one of them")
            named[name] = override
        return named

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _visible(value, line_breaks=False) or value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _visible(value, line_breaks=True)

    @field_validator("mcmc_certificate")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        return _visible(value, line_breaks=False)

    @field_validator("link")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return _web_link(value)

    @field_validator("publish_at", mode="before")
    @classmethod
    def _not_a_number(cls, value: object) -> object:
        if (why := unsure_time(value)) is not None:
            raise fixable(why, f"write a time like {EXAMPLE_TIME}")
        return value

    @field_validator("publish_at")
    @classmethod
    def _zone(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if (why := out_of_range(value)) is not None:
            raise fixable(why, f"write a time like {EXAMPLE_TIME}")
        return as_aware(value)

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
    """Bytes of a YAML or JSON upload → a mapping, or InvalidContentError saying what is wrong.

    Total by design: whatever the bytes, the only exception is InvalidContentError."""
    config = key.startswith("config/")
    empty = ("upload the campaign config with its fields, e.g. campaign, districts, constituencies" if config
             else "upload the manifest with its fields, e.g. title and text")
    if not raw.strip():
        raise _invalid("(file)", "the file is empty", empty)
    if len(raw) > max_bytes:
        raise _invalid("(file)", f"the file is {len(raw):,} bytes, over the {max_bytes:,}-byte limit",
                       "shorten it: drop comments, unused entries and long names" if config else
                       "keep the manifest small; put images and videos in separate files and list them under media")
    text = utf8_text(raw, "save it as UTF-8 (in most editors: Save As → Encoding: UTF-8)")
    if not text.strip(" \t\r\n\ufeff"):
        raise _invalid("(file)", "the file is empty", empty)
    try:
        document = _load_json(text) if key.lower().endswith(".json") else _load_yaml(text)
    except _Refused as exc:
        raise InvalidContentError([exc.problem]) from None
    except json.JSONDecodeError as exc:
        raise _invalid("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                       "fix the JSON syntax there (quotes, commas, brackets)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _invalid("(file)", f"not valid YAML: {printable(reason, 200)}{where}",
                       "fix the YAML syntax there (indentation, a ':' after each field name, quotes)") from None
    if not isinstance(document, dict):
        raise _invalid("(file)", f"the file holds {_KINDS.get(type(document), 'something else')}, not a mapping of "
                       "fields", "write one field per line, e.g. title: …")
    return document


_KINDS = {list: "a list", str: "a single piece of text", int: "a number", float: "a number", bool: "true or false",
          type(None): "nothing", datetime: "a time"}


class _Refused(Exception):
    """A YAML or JSON construct uploads may not use, as the problem to report."""

    def __init__(self, message: str, fix: str, field: str = "(file)") -> None:
        super().__init__(message)
        self.problem = Problem(field, message, fix)


_FLATTEN = "nest lists and mappings only as deep as the documented fields do"


class _UploadLoader(yaml.SafeLoader):
    """PyYAML's safe loader, bounded: nesting depth, alias count and alias expansion are limited, only the
    standard tags are read (no !!python/…, !!binary, !!set, custom tags), a key may not repeat in a mapping,
    and a value that cannot be built (a date that does not exist, a 5,000-digit number) is reported, never
    raised as ValueError."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"the file uses more than {MAX_ALIASES} aliases (*name), at line "
                               f"{self.peek_event().start_mark.line + 1}", "write the values out instead of aliasing")
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"the file is nested more than {MAX_DEPTH} levels deep, at line "
                               f"{self.peek_event().start_mark.line + 1}", _FLATTEN)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _YAML + "merge":
                line = key.start_mark.line + 1
                if (key.tag, key.value) in seen:
                    name = printable(key.value, 80)
                    first = seen[key.tag, key.value]
                    where = f"on line {line}" if first == line else f"on lines {first} and {line}"
                    raise _Refused(f"{name} is given twice in the same mapping, {where}",
                                   f"keep one {name}: the second would silently replace the first",
                                   field=name or "(file)")
                seen[key.tag, key.value] = line
        return node


def _line(node: Any) -> int:
    return node.start_mark.line + 1


def _yaml_int(loader: _UploadLoader, node: Any) -> int:
    digits = loader.construct_scalar(node).replace("_", "")  # construct_scalar refuses an !!int list or mapping
    if len(digits) > MAX_DIGITS:
        raise _Refused(f"the number at line {_line(node)} has {len(digits):,} digits; the most is {MAX_DIGITS}",
                       "write ids and other long numbers in quotes, as text")
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except (ValueError, IndexError):  # an explicit !!int on something that is not one
        raise _Refused(f"{shown(node.value)} at line {_line(node)} is not a whole number",
                       "write a whole number, or drop the !!int tag") from None


def _yaml_float(loader: _UploadLoader, node: Any) -> float:
    if len(loader.construct_scalar(node)) > MAX_DIGITS * 2:
        raise _Refused(f"the number at line {_line(node)} is {len(node.value):,} characters long",
                       "write long numbers in quotes, as text")
    try:
        return yaml.SafeLoader.construct_yaml_float(loader, node)
    except (ValueError, IndexError):
        raise _Refused(f"{shown(node.value)} at line {_line(node)} is not a number",
                       "write a number, or drop the !!float tag") from None


def _yaml_bool(loader: _UploadLoader, node: Any) -> bool:
    try:
        return yaml.SafeLoader.construct_yaml_bool(loader, node)
    except KeyError:
        raise _Refused(f"{shown(node.value)} at line {_line(node)} is not true or false",
                       "write true or false, or drop the !!bool tag") from None


def _yaml_timestamp(loader: _UploadLoader, node: Any) -> Any:
    """A YAML date or time; one that does not exist (2021-02-30, year 0) stays text for the field to report."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError, AttributeError, TypeError):
        return loader.construct_scalar(node)


def _yaml_text(loader: _UploadLoader, node: Any) -> str:
    return loader.construct_scalar(node)


# A plain "=" or "<<" outside a key is text to a reader; PyYAML has no constructor for them and would fail.
for _tag, _constructor in (("int", _yaml_int), ("float", _yaml_float), ("bool", _yaml_bool),
                           ("timestamp", _yaml_timestamp), ("value", _yaml_text), ("merge", _yaml_text)):
    _UploadLoader.add_constructor(_YAML + _tag, _constructor)


def _load_yaml(text: str) -> Any:
    loader = _UploadLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, budget=2 * len(text) + 20_000)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_graph(root: Any, budget: int) -> None:
    """Refuse unknown tags, an alias that contains itself, and aliases that expand past `budget`.

    The budget counts nodes and characters as if every alias were written out: what pydantic, json.dumps and
    DynamoDB will meet. Without aliases a document never weighs more than twice its text."""
    weights: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        ident = id(node)
        children = [] if isinstance(node, yaml.ScalarNode) else (
            [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value)
        if closing:
            open_nodes.discard(ident)
            weight = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else sum(weights[id(c)]
                                                                                        for c in children))
            if weight > budget:
                raise _Refused(f"the aliases at line {_line(node)} expand the file past {budget:,} characters "
                               "(an alias bomb?)", "write the values out instead of aliasing them")
            weights[ident] = weight
            continue
        if ident in weights:
            continue
        if ident in open_nodes:
            raise _Refused(f"an alias at line {_line(node)} refers to the list or mapping that contains it",
                           "remove the alias: a value cannot contain itself")
        if node.tag not in _YAML_TAGS:
            tag = printable(node.tag.replace(_YAML, "!!"), 80)
            raise _Refused(f"the tag {tag} at line {_line(node)} is not allowed",
                           "remove the tag (the !… before the value): uploads use plain text, numbers, lists "
                           "and mappings")
        open_nodes.add(ident)
        stack.append((node, True))
        stack.extend((child, False) for child in children)


def _load_json(text: str) -> Any:
    try:
        document = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int, parse_float=_json_float,
                              parse_constant=_json_constant)
    except RecursionError:
        raise _Refused(f"the file is nested more than {MAX_DEPTH} levels deep", _FLATTEN) from None
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(f"the file is nested more than {MAX_DEPTH} levels deep", _FLATTEN)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return document


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name in document:
            shown_name = printable(name, 80)
            raise _Refused(f"{shown_name} is given twice in the same object",
                           f"keep one {shown_name}: the second would silently replace the first",
                           field=shown_name or "(file)")
        document[name] = value
    return document


def _json_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"a number in the file has {len(digits):,} digits; the most is {MAX_DIGITS}",
                       "write ids and other long numbers in quotes, as text")
    return int(digits)


def _json_float(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value) or len(digits) > MAX_DIGITS * 2:
        raise _Refused(f"the number {printable(digits, 40)} is too large", "write an ordinary number")
    return value


def _json_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number JSON allows", "write an ordinary number, or put it in quotes as text")


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
    if whatsapp and whatsapp.audience == "subscribers" and not whatsapp.template:
        problems.append(Problem("overrides.whatsapp.template", "a broadcast to subscribers needs an approved "
                                "template: WhatsApp refuses any other message to someone who has not written in "
                                "the last 24 hours (error 131047)",
                                "add overrides.whatsapp.template (and its params) from the campaign's templates"))
    if whatsapp and whatsapp.template and campaign.whatsapp_templates:
        problems += _template_problems(whatsapp, campaign)
    for platform in wanted:
        override = manifest.overrides.get(platform)
        if manifest.text_for(platform) is None and not (override and override.template):
            problems.append(Problem("text", f"no text for {platform}",
                                    f"add text, or overrides.{platform}.text"))
    if "whatsapp" in wanted and not (whatsapp and whatsapp.template):
        problems += _whatsapp_text_problems(manifest, whatsapp)
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


def _whatsapp_text_problems(manifest: Manifest, override: PlatformOverride | None) -> list[Problem]:
    """WhatsApp sends the text and the link as one message body, or as a photo's or video's caption."""
    link = (override.link if override and override.link else None) or manifest.link
    body = "\n\n".join(part for part in (manifest.text_for("whatsapp"), link) if part)
    most, what = (WHATSAPP_CAPTION, "a caption") if manifest.media else (WHATSAPP_TEXT, "a message")
    if len(body) <= most:
        return []
    field = "overrides.whatsapp.text" if override and override.text else "text"
    return [Problem(field, f"for WhatsApp the text and link make {len(body):,} characters; {what} takes at most "
                    f"{most:,}", "shorten it, or give WhatsApp its own shorter text under overrides.whatsapp.text")]


def _x_thread_problems(manifest: Manifest, platforms: list[str]) -> list[Problem]:
    if "x" not in platforms or manifest.text_for("x") is None:
        return []
    override = manifest.overrides.get("x")
    link = (override.link if override and override.link else None) or manifest.link
    text = "\n\n".join(part for part in (manifest.text_for("x"), link) if part)
    # Far over the limit, the weight alone says so: cutting a long text into posts costs seconds, and a calendar
    # of such rows must still be answered within its Lambda's time.
    least = -(-weighted_length(normalise(text)) // MAX_WEIGHT)
    estimated = least > MAX_THREAD_PARTS + 2
    parts = least if estimated else len(thread_slices(text))
    if parts <= MAX_THREAD_PARTS:
        return []
    field = "overrides.x.text" if override and override.text else "text"
    return [Problem(field, f"for X this text makes a thread of {'at least ' if estimated else ''}{parts} posts; the "
                    f"most is {MAX_THREAD_PARTS}", "shorten it, or give X its own shorter text under overrides.x.text")]


def _suffix(key: str) -> str:
    dot = key.rfind(".")
    return key[dot:].lower() if dot >= 0 else ""


def _invalid(field: str, message: str, fix: str) -> InvalidContentError:
    return InvalidContentError([Problem(field, message, fix)])
