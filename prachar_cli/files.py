"""Local files as the system will see them: what kind each is, the key it is uploaded as, and the media it names.

`prachar check` and `prachar upload` share this, so a file is checked under exactly the key it is then uploaded as:

- a manifest (`.yaml`, `.yml`, `.json`)      → content/<scope>/<folder>/<name>
- a calendar (`.csv` with a calendar header)  → calendar/<scope>/<folder>/<name>
- an audience file (`.csv` with `phone`, …)   → audience/<constituency id>/<folder>/<name>
- the campaign config (`campaign.yaml`)       → config/campaign.yaml
- media (`.jpg`, `.png`, `.mp4`, …)           → content/<scope>/<folder>/<name>

The media a manifest or a calendar names are found next to it on disk, at the place the reference points to from
the file's folder — resolved exactly as the system resolves it (chalicelib.domain.scope.resolve_media_path), so
`../poster.jpg` is the file one folder up both here and in the bucket. A calendar's media resolve under
calendar/<scope>/…, as the Lambda reads them.

Nothing here imports pydantic or rich; the domain modules it needs are imported when they are first needed.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("manifest", "calendar", "audience", "config", "media")
CHECKABLE = ("manifest", "calendar", "audience", "config")  # what `--as` may name
CONFIG_NAMES = ("campaign.yaml", "campaign.yml", "campaign.json")
CONFIG_KEY = "config/campaign.yaml"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Spreadsheets that are not CSV: taken as calendars, so that the check says what the upload would (save as CSV).
SPREADSHEET_SUFFIXES = (".csv", ".xlsx", ".xls", ".ods", ".tsv")
_HEADER_BYTES = 64 * 1024  # enough of a CSV to read its header row


class FileKindError(ValueError):
    """The kind of a file cannot be told, or its key cannot be made (the message is in the user's language)."""


@dataclass(frozen=True)
class LocalFile:
    path: Path
    kind: str   # manifest | calendar | audience | config | media
    key: str


@dataclass(frozen=True)
class MissingMedia:
    """A media file a manifest or calendar names that is not on disk where the reference points."""

    referenced_by: Path
    reference: str
    key: str          # where the system will look for it in the bucket
    expected_at: Path  # where it was looked for here
    row: int | None = None  # the calendar row that names it


@dataclass(frozen=True)
class UploadPlan:
    files: list[LocalFile]                        # media first, then manifests, calendars, audience files, config
    missing: list[MissingMedia] = field(default_factory=list)


def _say(english: str, hindi: str, **values: object) -> str:
    from prachar_cli.i18n import say

    return say(english, hindi, **values)


def media_suffixes() -> tuple[str, ...]:
    from chalicelib.domain.manifest import MEDIA_TYPES

    return tuple(MEDIA_TYPES)


def classify(path: Path | str, as_kind: str | None = None) -> str:
    """The kind of a local file: by its name, and a CSV by its header row; `as_kind` says how to read every file
    that is not media (`prachar upload --as calendar week.txt poster.jpg`: the poster stays media)."""
    path = Path(path)
    name = path.name.lower()
    if as_kind is not None:
        if as_kind not in KINDS:
            raise FileKindError(_say("{kind} is not a kind of file: use one of {kinds}",
                                     "{kind} कोई फ़ाइल-प्रकार नहीं है: इनमें से एक दें: {kinds}",
                                     kind=as_kind, kinds=", ".join(CHECKABLE)))
        return "media" if name.endswith(media_suffixes()) else as_kind
    if name in CONFIG_NAMES:
        return "config"
    if name.endswith(MANIFEST_SUFFIXES):
        return "manifest"
    if name.endswith(SPREADSHEET_SUFFIXES):
        return "audience" if name.endswith(".csv") and _audience_header(path) else "calendar"
    if name.endswith(media_suffixes()):
        return "media"
    raise FileKindError(_say("cannot tell what {name} is: name it .yaml/.json (a post), .csv (a calendar or contacts) "
                             "or a media file, or say which with --as",
                             "{name} किस तरह की फ़ाइल है, पता नहीं चलता: .yaml/.json (पोस्ट), .csv (कैलेंडर या "
                             "संपर्क) या मीडिया फ़ाइल रखें, या --as से बताएँ", name=path.name))


def _audience_header(path: Path) -> bool:
    """Whether a CSV's header row is an audience file's (domain/audience.check_header's names): it names the phone
    column and no calendar column. A file that cannot be read is left to the calendar check to report."""
    from chalicelib.domain.audience import check_header

    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return False
    text = codecs.decode(head, "utf-8-sig", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return False
    names, _ = check_header(header)
    return "phone" in names and not {"publish_at", "title"} & set(names)


def _folder_parts(folder: str) -> list[str]:
    return [part for part in folder.replace("\\", "/").split("/") if part]


def key_for(path: Path | str, kind: str, scope: str, folder: str = "") -> str:
    """The key a file of this kind is uploaded as, under `scope` (state, district/<id>, constituency/<id>) and an
    optional `folder` inside it."""
    name = Path(path).name
    if kind == "config":
        return CONFIG_KEY
    if not scope:
        raise FileKindError(_say("a scope is needed for {name}: give --scope (state, district/<id> or "
                                 "constituency/<id>), or sign in with prachar login",
                                 "{name} के लिए स्कोप चाहिए: --scope दें (state, district/<id> या "
                                 "constituency/<id>), या prachar login से साइन इन करें", name=name))
    scope = scope.strip().strip("/")
    rest = "/".join([*_folder_parts(folder), name])
    if kind in ("manifest", "media"):
        return f"content/{scope}/{rest}"
    if kind == "calendar":
        return f"calendar/{scope}/{rest}"
    if kind == "audience":
        level, _, constituency = scope.partition("/")
        if level != "constituency" or not constituency or "/" in constituency:
            raise FileKindError(_say("{name} is a contacts file: contacts belong to one constituency, so give "
                                     "--scope constituency/<id> (not {scope})",
                                     "{name} संपर्कों की फ़ाइल है: संपर्क किसी एक विधानसभा क्षेत्र के होते हैं, "
                                     "इसलिए --scope constituency/<id> दें ({scope} नहीं)", name=name, scope=scope))
        return f"audience/{constituency}/{rest}"
    raise FileKindError(_say("{kind} is not a kind of file", "{kind} कोई फ़ाइल-प्रकार नहीं है", kind=kind))


def local_media_path(referencing: Path, referencing_key: str, media_key: str) -> Path:
    """Where a media key resolved against `referencing_key` lies on disk, seen from the referencing file."""
    relative = posixpath.relpath(media_key, posixpath.dirname(referencing_key))
    return Path(os.path.normpath(referencing.parent.joinpath(*relative.split("/"))))


def media_references(path: Path, kind: str, key: str, max_bytes: int) -> list[tuple[str, str, int | None]]:
    """(reference, media key, calendar row) for each media file a manifest or calendar names, as the system resolves
    them. References the system would refuse (outside the scope, a web address, …) are left out: the check says why.
    A file that cannot be read names none."""
    from chalicelib.domain.scope import ScopeError, resolve_media_path, split_scoped_key
    from chalicelib.errors import InvalidContentError

    try:
        scoped = split_scoped_key(key)
        raw = path.read_bytes() if path.stat().st_size <= max_bytes else b""
        if kind == "manifest":
            from chalicelib.domain.manifest import decode_document

            documents = [(decode_document(raw, key, max_bytes), None)] if raw else []
        elif kind == "calendar" and key.lower().endswith(".csv"):
            from chalicelib.domain.calendar import read_calendar

            documents = [(row.document, row.row) for row in read_calendar(raw, max_bytes).rows] if raw else []
        else:
            return []
    except (InvalidContentError, ScopeError, OSError):
        return []
    found = []
    for document, row in documents:
        media = document.get("media")
        for reference in media if isinstance(media, list) else []:
            if not isinstance(reference, str):
                continue
            try:
                found.append((reference, resolve_media_path(scoped, reference), row))
            except ScopeError:
                continue
    return found


def plan_files(paths: Iterable[Path | str], scope: str, folder: str = "", as_kind: str | None = None, *,
               max_bytes: int = 256 * 1024) -> UploadPlan:
    """The files to upload, in the order to upload them, and the media they name that are not on disk.

    Media come first (a manifest is checked against the bucket when it lands: its media must be there already), then
    the other files in the order given. A file given twice, or named by two manifests, is uploaded once. `max_bytes`
    is the system's upload limit (a calendar may be 16 times that): a larger file is not read here."""
    media: dict[str, LocalFile] = {}
    others: dict[str, LocalFile] = {}
    missing: list[MissingMedia] = []
    for given in paths:
        path = Path(given)
        kind = classify(path, as_kind)
        key = key_for(path, kind, scope, folder)
        if kind == "media":
            media.setdefault(key, LocalFile(path, kind, key))
            continue
        others.setdefault(key, LocalFile(path, kind, key))
        limit = max_bytes * 16 if kind == "calendar" else max_bytes
        for reference, media_key, row in media_references(path, kind, key, limit):
            local = local_media_path(path, key, media_key)
            if local.is_file():
                media.setdefault(media_key, LocalFile(local, "media", media_key))
            elif media_key not in media:
                missing.append(MissingMedia(path, reference, media_key, local, row))
    found = set(media)
    return UploadPlan([*media.values(), *others.values()], [m for m in missing if m.key not in found])


def upload_plan(paths: Sequence[Path | str], scope: str, folder: str = "",
                as_kind: str | None = None) -> list[LocalFile]:
    """The files to upload, media first (see plan_files)."""
    return plan_files(paths, scope, folder, as_kind).files


def missing_media(paths: Sequence[Path | str], scope: str, folder: str = "", as_kind: str | None = None
                  ) -> list[MissingMedia]:
    """The media the files name that are not next to them on disk (they may already be in the bucket)."""
    return plan_files(paths, scope, folder, as_kind).missing
