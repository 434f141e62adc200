"""Local files as the system will see them: what kind each is, the key it is uploaded as, and the media it names.

`prachar check` and `prachar upload` share this, so a file is checked under exactly the key it is then uploaded as:

- a manifest (`.yaml`, `.yml`, `.json`)      → content/<scope>/<folder>/<name>
- a calendar (`.csv` with a calendar header)  → calendar/<scope>/<folder>/<name>
- an audience file (`.csv` of contacts)       → audience/<constituency id>/<folder>/<name>
- the campaign config (`campaign.yaml`)       → config/campaign.yaml
- media (`.jpg`, `.png`, `.mp4`, …)           → content/<scope>/<folder>/<name>

A CSV is told by its content, not its name alone: contacts (voters' numbers and consent) must never land outside
audience/, where their one-day lifecycle rule, the sealed store and erasure protect them. A CSV whose first row names
a phone column (the audience import's header rules) or an audience column, or whose first row's cells are phone
numbers (a contacts file saved without its header), is an audience file; one whose first row names calendar columns
is a calendar; a file that is not text at all (a spreadsheet saved as .csv, an empty file) is left to the calendar
check, which says what is wrong with it. Any other CSV is refused: the volunteer says what it is with --as.

The media a manifest or a calendar names are found next to it on disk, at the place the reference points to from
the file's folder — resolved exactly as the system resolves it (chalicelib.domain.scope.resolve_media_path), so
`../poster.jpg` is the file one folder up both here and in the bucket. A calendar's media resolve under
calendar/<scope>/…, as the Lambda reads them. A media key is always uploaded from the file the reference points at
(the one `prachar check` measured): two different local files for one key — the same name in two folders, or a
media file named on the command line besides the one a manifest points at — are refused, never silently reduced to
one.

Nothing here imports pydantic or rich; the domain modules it needs are imported when they are first needed.
"""

from __future__ import annotations

import codecs
import csv
import filecmp
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.domain.vetting import CALENDAR_SIZE_FACTOR
from chalicelib.settings import DEFAULT_MAX_UPLOAD_BYTES
from prachar_cli.i18n import say as _say
from prachar_cli.output import visible

KINDS = ("manifest", "calendar", "audience", "config", "media")
CHECKABLE = ("manifest", "calendar", "audience", "config")  # what `--as` may name
CONFIG_NAMES = ("campaign.yaml", "campaign.yml", "campaign.json")
CONFIG_KEY = "config/campaign.yaml"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Spreadsheets that are not CSV: taken as calendars, so that the check says what the upload would (save as CSV).
SPREADSHEET_SUFFIXES = (".csv", ".xlsx", ".xls", ".ods", ".tsv")
TEXT_TABLE_SUFFIXES = (".csv", ".tsv")  # read to tell a calendar from contacts
# The name each kind must have for the system to read it as that kind (`--as` cannot change what the key says).
SUFFIXES = {"manifest": MANIFEST_SUFFIXES, "calendar": (".csv",), "audience": (".csv",), "config": MANIFEST_SUFFIXES}
MAX_KEY_BYTES = 1024  # S3's limit on a key
_HEADER_BYTES = 64 * 1024  # enough of a CSV to read its first row
# A cell that may be a phone number: digits and what people write between them, nothing else.
_PHONE_LIKE = re.compile(r"\+?[\d\s\-().\u00a0]{8,24}")


class FileKindError(ValueError):
    """The kind of a file cannot be told, or its key cannot be made (the message is in the user's language)."""


class BadNameError(FileKindError):
    """A file's name cannot be an S3 key (not UTF-8, too long): the file must be renamed."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{message}: {fix}")
        self.message, self.fix = message, fix


@dataclass(frozen=True)
class Clash:
    """Two different local files that would be uploaded under one key."""

    key: str
    paths: tuple[Path, Path]      # the file kept first, and the other one
    given: tuple[Path, ...]       # the files given on the command line that bring them in

    def message(self) -> str:
        return _say("{first} and {second} would both be uploaded as {key}: one would replace the other",
                    "{first} और {second} दोनों {key} के रूप में अपलोड होंगी: एक दूसरी की जगह ले लेगी",
                    first=shown_path(self.paths[0]), second=shown_path(self.paths[1]), key=visible(self.key))

    def fix(self) -> str:
        return _say("rename one of them, or upload them separately with different --folder values",
                    "इनमें से एक का नाम बदलें, या इन्हें अलग-अलग --folder के साथ अलग से अपलोड करें")


class KeyClashError(FileKindError):
    """Two different local files for one key (see Clash)."""

    def __init__(self, clashes: list[Clash]) -> None:
        super().__init__("; ".join(f"{clash.message()} — {clash.fix()}" for clash in clashes))
        self.clashes = clashes


@dataclass(frozen=True)
class LocalFile:
    path: Path
    kind: str   # manifest | calendar | audience | config | media
    key: str
    # The daily series this file has items of without a publish_at: each takes the series' next free slot in the
    # order the uploads reach the system, so files of one series are uploaded one after another.
    series: tuple[str, ...] = ()


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


def shown_path(path: Path | str) -> str:
    """A local path as text that can be printed: bytes that are not UTF-8 as \\xNN, control characters escaped."""
    return visible(os.fsencode(path).decode("utf-8", "backslashreplace"))


def media_suffixes() -> tuple[str, ...]:
    from chalicelib.domain.manifest import MEDIA_TYPES

    return tuple(MEDIA_TYPES)


def classify(path: Path | str, as_kind: str | None = None) -> str:
    """The kind of a local file: by its name, and a CSV by its content; `as_kind` says how to read every file that
    is not media (`prachar upload --as calendar week.txt poster.jpg`: the poster stays media). A CSV of contacts is
    never read as anything but an audience file, whatever `as_kind` says."""
    path = Path(path)
    name = path.name.lower()
    if as_kind is not None:
        if as_kind not in KINDS:
            raise FileKindError(_say("{kind} is not a kind of file: use one of {kinds}",
                                     "{kind} कोई फ़ाइल-प्रकार नहीं है: इनमें से एक दें: {kinds}",
                                     kind=visible(as_kind), kinds=", ".join(CHECKABLE)))
        if name.endswith(media_suffixes()):
            return "media"
        if as_kind != "audience" and name.endswith(TEXT_TABLE_SUFFIXES) and _table_kind(path) == "audience":
            raise FileKindError(_say("{name} holds contacts (a phone column, or phone numbers in its first row): "
                                     "contacts are uploaded only as an audience file, never as a {kind} — give "
                                     "--as audience, or check that this is the file you meant",
                                     "{name} में संपर्क हैं (phone कॉलम, या पहली पंक्ति में फ़ोन नंबर): संपर्क केवल "
                                     "ऑडियंस फ़ाइल के रूप में अपलोड होते हैं, {kind} के रूप में कभी नहीं — --as "
                                     "audience दें, या देखें कि यही फ़ाइल आप चाहते थे",
                                     name=shown_path(path.name), kind=as_kind))
        return as_kind
    if name in CONFIG_NAMES:
        return "config"
    if name.endswith(MANIFEST_SUFFIXES):
        return "manifest"
    if name.endswith(TEXT_TABLE_SUFFIXES):
        kind = _table_kind(path)
        if kind is None:
            raise FileKindError(_say("cannot tell whether {name} is a calendar or a contacts file: its first row "
                                     "names no calendar column (publish_at, title, …) and no contacts column "
                                     "(phone, …) — give the header row, or say which with --as calendar or "
                                     "--as audience",
                                     "{name} कैलेंडर है या संपर्कों की फ़ाइल, पता नहीं चलता: इसकी पहली पंक्ति में न "
                                     "कैलेंडर का कोई कॉलम है (publish_at, title, …) न संपर्कों का (phone, …) — "
                                     "हेडर पंक्ति जोड़ें, या --as calendar या --as audience से बताएँ",
                                     name=shown_path(path.name)))
        return kind
    if name.endswith(SPREADSHEET_SUFFIXES):
        return "calendar"
    if name.endswith(media_suffixes()):
        return "media"
    raise FileKindError(_say("cannot tell what {name} is: name it .yaml/.json (a post), .csv (a calendar or contacts) "
                             "or a media file, or say which with --as",
                             "{name} किस तरह की फ़ाइल है, पता नहीं चलता: .yaml/.json (पोस्ट), .csv (कैलेंडर या "
                             "संपर्क) या मीडिया फ़ाइल रखें, या --as से बताएँ", name=shown_path(path.name)))


def _table_kind(path: Path) -> str | None:
    """The kind a CSV's first row says: "audience" for contacts, "calendar" for a calendar or a file that is no
    text table at all (the calendar check explains what it is), None when it tells neither."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return "calendar"  # unreadable here: the check and the upload say so themselves
    text = _text_of(head)
    if text is None:
        return "calendar"
    first = next((line for line in text.splitlines() if line.strip(" \t\ufeff,;")), "")
    cells = _cells(first)
    if _contacts(cells):
        return "audience"
    from chalicelib.domain.calendar import COLUMNS as CALENDAR_COLUMNS

    if {_column(cell) for cell in cells} & set(CALENDAR_COLUMNS):
        return "calendar"
    if not first or not _clean(text):
        return "calendar"  # empty, or not text: the calendar check says what is wrong, in the system's words
    return None


def _text_of(head: bytes) -> str | None:
    """The start of a file as text, whatever Unicode encoding its byte-order mark names; None for a zip (an .xlsx
    saved under a .csv name)."""
    if head.startswith(b"PK\x03\x04"):
        return None
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return head.decode(encoding, errors="replace")
    return codecs.decode(head, "utf-8-sig", errors="replace")


def _clean(text: str) -> bool:
    """Whether text reads as text: no NUL, no undecodable bytes, no control characters but line ends and tabs."""
    return not any(char == "\ufffd" or (ord(char) < 32 and char not in "\t\r\n") for char in text)


def _cells(line: str) -> list[str]:
    """A row's cells as a comma-, semicolon- or tab-separated file has them (the separator is not known yet)."""
    cells: list[str] = []
    for delimiter in (",", ";", "\t"):
        try:
            cells += next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
    return cells


def _column(cell: str) -> str:
    return cell.strip().strip("\ufeff").strip().lower()  # as the calendar and the audience import read a header


def _contacts(cells: list[str]) -> bool:
    """Whether a first row is a contacts file's: a header naming a phone or another audience column (by the audience
    import's header rules), or cells that are phone numbers (the file was saved without its header row)."""
    from chalicelib.domain.audience import COLUMNS as AUDIENCE_COLUMNS
    from chalicelib.domain.audience import check_header
    from chalicelib.domain.calendar import COLUMNS as CALENDAR_COLUMNS

    names = set(check_header(cells)[0]) | {_column(cell) for cell in cells}
    if "phone" in names:
        return True
    if names & set(AUDIENCE_COLUMNS) and not names & set(CALENDAR_COLUMNS):
        return True
    return any(_phone_number(cell) for cell in cells)


def _phone_number(cell: str) -> bool:
    text = cell.strip()
    if not _PHONE_LIKE.fullmatch(text) or sum(char.isdigit() for char in text) < 8:
        return False
    from chalicelib.domain.phone import normalise

    return isinstance(normalise(text), str)


def _folder_parts(folder: str) -> list[str]:
    return [part for part in folder.replace("\\", "/").split("/") if part]


def key_for(path: Path | str, kind: str, scope: str, folder: str = "") -> str:
    """The key a file of this kind is uploaded as, under `scope` (state, district/<id>, constituency/<id>) and an
    optional `folder` inside it. A name S3 cannot hold (not UTF-8: a name from another system's zip) is refused
    with BadNameError: the file must be renamed."""
    name = Path(path).name
    if kind == "config":
        return CONFIG_KEY  # whatever the file's name
    _s3_name(name, name, is_key=False)
    if not scope:
        raise FileKindError(_say("a scope is needed for {name}: give --scope (state, district/<id> or "
                                 "constituency/<id>), or sign in with prachar login",
                                 "{name} के लिए स्कोप चाहिए: --scope दें (state, district/<id> या "
                                 "constituency/<id>), या prachar login से साइन इन करें", name=shown_path(name)))
    scope = scope.strip().strip("/")
    rest = "/".join([*_folder_parts(folder), name])
    if kind in ("manifest", "media"):
        key = f"content/{scope}/{rest}"
    elif kind == "calendar":
        key = f"calendar/{scope}/{rest}"
    elif kind == "audience":
        level, _, constituency = scope.partition("/")
        if level != "constituency" or not constituency or "/" in constituency:
            raise FileKindError(_say("{name} is a contacts file: contacts belong to one constituency, so give "
                                     "--scope constituency/<id> (not {scope})",
                                     "{name} संपर्कों की फ़ाइल है: संपर्क किसी एक विधानसभा क्षेत्र के होते हैं, "
                                     "इसलिए --scope constituency/<id> दें ({scope} नहीं)", name=shown_path(name),
                                     scope=visible(scope)))
        key = f"audience/{constituency}/{rest}"
    else:
        raise FileKindError(_say("{kind} is not a kind of file", "{kind} कोई फ़ाइल-प्रकार नहीं है",
                                 kind=visible(kind)))
    _s3_name(key, name, is_key=True)
    return key


def _s3_name(text: str, name: str, *, is_key: bool) -> None:
    """Refuse a name or key S3 cannot store: not valid UTF-8 (lone surrogates from os.fsdecode), or over 1024 bytes."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        size = -1
    if 0 <= size <= MAX_KEY_BYTES:
        return
    what = (_say("the key {key}", "कुंजी {key}", key=shown_path(text)) if is_key else
            _say("the file name {name}", "फ़ाइल का नाम {name}", name=shown_path(name)))
    if size < 0:
        better = os.fsencode(name).decode("utf-8", "replace").replace("\ufffd", "_")
        fix = (_say("give a --folder that is valid UTF-8", "ऐसा --folder दें जो मान्य UTF-8 हो") if is_key else
               _say("rename the file (e.g. to {better}) and try again",
                    "फ़ाइल का नाम बदलें (जैसे {better}) और फिर कोशिश करें", better=visible(better)))
        raise BadNameError(_say("{what} is not valid UTF-8 (a name from another computer's zip?), and no S3 key can "
                                "hold it", "{what} मान्य UTF-8 नहीं है (किसी दूसरे कंप्यूटर की zip से आया नाम?), और "
                                "कोई S3 कुंजी इसे नहीं रख सकती", what=what), fix)
    raise BadNameError(_say("{what} is {size} bytes long; an S3 key holds at most {limit}",
                            "{what} {size} बाइट लंबा है; S3 कुंजी अधिकतम {limit} बाइट की होती है", what=what,
                            size=size, limit=MAX_KEY_BYTES),
                       _say("give the file a shorter name, or a shorter --folder",
                            "फ़ाइल को छोटा नाम दें, या छोटा --folder"))


def suffix_refusal(path: Path | str, kind: str) -> tuple[str, str] | None:
    """Why a file read as `kind` (by --as) cannot be uploaded under its name — the key keeps the name, and the system
    reads a key by its name (content/…/post.txt is media, never a post) — and how to fix it; None when it can."""
    name = Path(path).name
    suffixes = SUFFIXES.get(kind)
    if suffixes is None or name.lower().endswith(suffixes):
        return None
    stem = Path(name).stem or name
    shown = shown_path(name)
    if kind == "manifest":
        return (_say("{name} does not end in .yaml, .yml or .json: uploaded, it is taken for a media file and never "
                     "read as a post", "{name} के अंत में .yaml, .yml या .json नहीं है: अपलोड होने पर इसे मीडिया फ़ाइल "
                     "माना जाएगा और पोस्ट के रूप में कभी नहीं पढ़ा जाएगा", name=shown),
                _say("rename it to {stem}.yaml (or .yml, .json)", "इसका नाम {stem}.yaml (या .yml, .json) रखें",
                     stem=shown_path(stem)))
    if kind == "config":
        return (_say("{name} does not end in .yaml, .yml or .json: the campaign config is read as YAML or JSON",
                     "{name} के अंत में .yaml, .yml या .json नहीं है: कैंपेन कॉन्फ़िग YAML या JSON के रूप में पढ़ी जाती "
                     "है", name=shown),
                _say("save it as campaign.yaml", "इसे campaign.yaml के रूप में सहेजें"))
    what = _say("calendar", "कैलेंडर") if kind == "calendar" else _say("contacts file", "संपर्कों की फ़ाइल")
    return (_say("{name} does not end in .csv: the system reads a {what} only from a CSV file",
                 "{name} के अंत में .csv नहीं है: सिस्टम {what} केवल CSV फ़ाइल से पढ़ता है", name=shown, what=what),
            _say("save it as CSV UTF-8 and name it {stem}.csv", "इसे CSV UTF-8 में सहेजें और नाम {stem}.csv रखें",
                 stem=shown_path(stem)))


def local_media_path(referencing: Path, referencing_key: str, media_key: str) -> Path:
    """Where a media key resolved against `referencing_key` lies on disk, seen from the referencing file."""
    relative = posixpath.relpath(media_key, posixpath.dirname(referencing_key))
    return Path(os.path.normpath(referencing.parent.joinpath(*relative.split("/"))))


def _documents(path: Path, kind: str, key: str, max_bytes: int) -> list[tuple[dict[str, Any], int | None]]:
    """The manifests a file holds as the system reads them — a manifest's one, a calendar's rows (with the row) —
    or none, when it cannot be read (the check says why)."""
    from chalicelib.errors import InvalidContentError

    try:
        raw = path.read_bytes() if path.stat().st_size <= max_bytes else b""
        if not raw:
            return []
        if kind == "manifest":
            from chalicelib.domain.manifest import decode_document

            return [(decode_document(raw, key, max_bytes), None)]
        if kind == "calendar" and key.lower().endswith(".csv"):
            from chalicelib.domain.calendar import read_calendar

            return [(row.document, row.row) for row in read_calendar(raw, max_bytes).rows]
    except (InvalidContentError, OSError):
        return []
    except Exception:  # a file no reader foresaw: the check reports it; here it simply names nothing
        return []
    return []


def media_references(path: Path, kind: str, key: str, max_bytes: int) -> list[tuple[str, str, int | None]]:
    """(reference, media key, calendar row) for each media file a manifest or calendar names, as the system resolves
    them. References the system would refuse (outside the scope, a web address, …) are left out: the check says why.
    A file that cannot be read names none."""
    return _references(_documents(path, kind, key, max_bytes), key)


def _references(documents: list[tuple[dict[str, Any], int | None]], key: str) -> list[tuple[str, str, int | None]]:
    from chalicelib.domain.scope import ScopeError, resolve_media_path, split_scoped_key

    try:
        scoped = split_scoped_key(key)
    except ScopeError:
        return []
    found = []
    for document, row in documents:
        media = document.get("media")
        for reference in media if isinstance(media, list) else []:
            if not isinstance(reference, str):
                continue
            try:
                found.append((reference, resolve_media_path(scoped, reference), row))
            except (ScopeError, ValueError):  # refused by the system: the check says why
                continue
    return found


def _series(documents: list[tuple[dict[str, Any], int | None]]) -> tuple[str, ...]:
    """The series whose items these are without a publish_at (each takes the series' next free daily slot)."""
    found: list[str] = []
    for document, _ in documents:
        series = document.get("series")
        if isinstance(series, str) and series.strip() and not document.get("publish_at") and series not in found:
            found.append(series)
    return tuple(found)


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths are one file, or two files of the same bytes (either may be uploaded)."""
    try:
        if os.path.samefile(first, second):
            return True
        return first.stat().st_size == second.stat().st_size and filecmp.cmp(first, second, shallow=False)
    except OSError:
        return os.path.normpath(os.path.abspath(first)) == os.path.normpath(os.path.abspath(second))


def plan_files(paths: Iterable[Path | str], scope: str, folder: str = "", as_kind: str | None = None, *,
               max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> UploadPlan:
    """The files to upload, in the order to upload them, and the media they name that are not on disk.

    Media come first (a manifest is checked against the bucket when it lands: its media must be there already), then
    the other files in the order given. A file given twice, or named by two manifests, is uploaded once; two
    different files for one key raise KeyClashError, and a file `as_kind` names a kind its name contradicts
    FileKindError. `max_bytes` is the system's upload limit (a calendar may be 16 times that): a larger file is not
    read here."""
    entries = []
    for given in paths:
        path = Path(given)
        kind = classify(path, as_kind)
        if as_kind is not None and kind != "media" and (refused := suffix_refusal(path, kind)):
            raise FileKindError("{}: {}".format(*refused))
        entries.append((path, kind, key_for(path, kind, scope, folder)))
    plan, clashes = gather(entries, max_bytes=max_bytes)
    if clashes:
        raise KeyClashError(clashes)
    return plan


def gather(entries: Sequence[tuple[Path, str, str]], *, max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
           ) -> tuple[UploadPlan, list[Clash]]:
    """The plan for files whose kind and key are known, and the keys two different local files would share."""
    media: dict[str, LocalFile] = {}
    others: dict[str, LocalFile] = {}
    brought_by: dict[str, Path] = {}  # key → the file given on the command line that brought its file in
    pointed_at: set[str] = set()      # media keys whose file is the one a reference points at
    clashes: dict[tuple[str, Path], Clash] = {}
    missing: list[MissingMedia] = []

    def keep(table: dict[str, LocalFile], item: LocalFile, given: Path, referenced: bool) -> None:
        kept = table.get(item.key) or (others if table is media else media).get(item.key)
        if kept is None:
            table[item.key], brought_by[item.key] = item, given
            if referenced:
                pointed_at.add(item.key)
            return
        if _same_file(kept.path, item.path):
            if referenced and item.key not in pointed_at and item.key in media:  # the reference's own file
                media[item.key], brought_by[item.key] = LocalFile(item.path, kept.kind, item.key, kept.series), given
                pointed_at.add(item.key)
            return
        clash = Clash(item.key, (kept.path, item.path), tuple(dict.fromkeys((brought_by[item.key], given))))
        clashes.setdefault((item.key, item.path), clash)

    for path, kind, key in entries:
        if kind == "media":
            keep(media, LocalFile(path, kind, key), path, referenced=False)
            continue
        limit = max_bytes * CALENDAR_SIZE_FACTOR if kind == "calendar" else max_bytes
        documents = _documents(path, kind, key, limit)
        keep(others, LocalFile(path, kind, key, _series(documents)), path, referenced=False)
        for reference, media_key, row in _references(documents, key):
            local = local_media_path(path, key, media_key)
            if local.is_file():
                keep(media, LocalFile(local, "media", media_key), path, referenced=True)
            elif media_key not in media:
                missing.append(MissingMedia(path, reference, media_key, local, row))
    found = set(media)
    plan = UploadPlan([*media.values(), *others.values()], [m for m in missing if m.key not in found])
    return plan, list(clashes.values())


def upload_plan(paths: Sequence[Path | str], scope: str, folder: str = "", as_kind: str | None = None, *,
                max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> list[LocalFile]:
    """The files to upload, media first (see plan_files)."""
    return plan_files(paths, scope, folder, as_kind, max_bytes=max_bytes).files


def missing_media(paths: Sequence[Path | str], scope: str, folder: str = "", as_kind: str | None = None, *,
                  max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> list[MissingMedia]:
    """The media the files name that are not next to them on disk (they may already be in the bucket)."""
    return plan_files(paths, scope, folder, as_kind, max_bytes=max_bytes).missing
