"""Scopes (state, district/<id>, constituency/<id>) and how an S3 key decides one."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

Level = Literal["state", "district", "constituency"]
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ScopeError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Scope:
    level: Level
    id: str | None = None

    def __str__(self) -> str:
        return self.level if self.level == "state" else f"{self.level}/{self.id}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        parts = text.strip("/").split("/")
        if parts == ["state"]:
            return cls("state")
        if len(parts) == 2 and parts[0] in ("district", "constituency"):
            if not _ID.match(parts[1]):
                raise ScopeError(f"{parts[1]!r} is not a valid {parts[0]} id (lower-case letters, digits, '-')")
            return cls(parts[0], parts[1])  # type: ignore[arg-type]
        raise ScopeError(f"{text!r} is not a scope: use state, district/<id> or constituency/<id>")


def decode_s3_key(raw_key: str) -> str:
    """S3 event keys arrive URL-encoded, with '+' for a space (Devanagari as %E0%A4…)."""
    return unquote_plus(raw_key)


@dataclass(frozen=True)
class ScopedKey:
    """An upload key split into its area (content, calendar, …), its scope and the rest."""

    area: str
    scope: Scope
    relative_path: str

    @property
    def folder(self) -> str:
        """The key's folder: media paths in a manifest are relative to it."""
        return posixpath.dirname(self.key)

    @property
    def key(self) -> str:
        return f"{self.area}/{self.scope}/{self.relative_path}"


def split_scoped_key(key: str) -> ScopedKey:
    """`content/constituency/sahada/2021-03/day1.yaml` → content, constituency/sahada, 2021-03/day1.yaml."""
    parts = key.split("/")
    if len(parts) < 3 or not parts[0]:
        raise ScopeError(f"{key!r} is not under <area>/<scope>/…; e.g. content/constituency/<id>/post.yaml")
    area = parts[0]
    if parts[1] == "state":
        scope_parts, rest = parts[1:2], parts[2:]
    else:
        scope_parts, rest = parts[1:3], parts[3:]
    if not rest or not rest[-1]:
        raise ScopeError(f"{key!r} names a folder, not a file")
    scope = Scope.parse("/".join(scope_parts))
    return ScopedKey(area=area, scope=scope, relative_path="/".join(rest))


def resolve_media_path(scoped: ScopedKey, reference: str) -> str:
    """A media reference, relative to the manifest's folder, as a key that stays inside the scope."""
    from chalicelib.domain.problems import hidden_characters  # deferred: only a manifest's media need it

    shown = repr(reference[:80] + ("…" if len(reference) > 80 else ""))
    if len(reference) > 255:
        raise ScopeError(f"{shown} is {len(reference):,} characters long; a media name has at most 255")
    if reference[:1].isalpha() and reference[1:2] == ":":
        raise ScopeError(f"{shown} is a Windows path; name the file relative to the manifest's folder")
    if hidden := hidden_characters(reference, line_breaks=False):
        # A control or direction-override character in a name shows one file and fetches another.
        raise ScopeError(f"{shown}: {hidden}; name the file with visible characters only")
    if "://" in reference:
        raise ScopeError(f"{shown} is a web address; media must be a file uploaded next to the manifest")
    if reference.startswith("/") or "\\" in reference or not reference.strip():
        raise ScopeError(f"{shown} must be a path relative to the manifest's folder, with '/' between folders, "
                         "e.g. poster.jpg or images/poster.jpg")
    joined = posixpath.normpath(posixpath.join(scoped.folder, reference))
    prefix = f"{scoped.area}/{scoped.scope}/"
    if not joined.startswith(prefix):
        raise ScopeError(f"{shown} points outside {prefix}; keep media inside your team's prefix")
    if len(joined.encode("utf-8", "replace")) > 1024:
        raise ScopeError(f"{shown} makes a key over S3's 1,024-byte limit; use a shorter name or folder")
    return joined
