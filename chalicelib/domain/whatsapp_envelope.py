"""Meta's WhatsApp webhooks: the signature check and the parts of the envelope we act on.

Shapes as Meta sends them (see pywa's recorded payloads): `entry[].changes[].value` with `metadata`,
`statuses[]` (id, status, timestamp, recipient_id, biz_opaque_callback_data, errors[]) and `messages[]`;
`field: user_preferences` changes carry `value.user_preferences[]`.

What `/webhooks/whatsapp` answers, and why — no input makes it answer 500 except a broken deployment:

- POST without a valid `X-Hub-Signature-256` → 401, decided before the body is read. The header is compared
  as bytes, so a non-ASCII or otherwise odd header is simply a mismatch.
- POST, validly signed, but the body is not JSON (bad syntax, bad UTF-8, nesting or digits past what the
  JSON parser takes) → 400. JSON is the transport contract of Meta's webhooks; a signed body outside it
  cannot be read at all, and a 400 shows the fault to whoever sent it.
- POST, validly signed JSON of any shape → 200 with the counts of what was understood. A top-level list,
  `"entry": null`, `changes: null`, a `value` that is a list, statuses that are not objects, a `timestamp`
  that is not a number: each part that does not have the shape we act on is skipped and named (by its
  path, never its content: no phone numbers in logs) in `WebhookBatch.not_understood`, which the caller
  logs. Meta retries anything but a 2xx for days, and the same bytes would never be understood better.
- GET whose `hub.mode` is not `subscribe` or whose `hub.verify_token` is not ours (non-ASCII included) → 403.
- A blank (empty or white space) or unreadable app secret or verify token: `Container.whatsapp_webhook_secrets`
  raises `ConfigError` before anything else is looked at → 500, the reason logged once per request (the one
  500 on purpose: a deployment without its secrets). It never degrades into accepting: an empty-key HMAC is
  one anybody can compute, so `valid_signature` and `valid_verify_token` also refuse a blank secret.
- (services/webhooks may answer 503 for a status about a post being published at that very moment: a
  deliberate "deliver it again", not an input error.)

`parse` is pure and never raises on any value `json.loads` can return.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_PREFIX = b"sha256="
# Meta's message ids are ~60 characters; ours for biz_opaque_callback_data are three ids of ≤ 63 ASCII
# characters. Longer strings cannot be ours, and would not fit a DynamoDB key (1 KB sort key).
MAX_ID = 256
MAX_REFERENCE = 200
MAX_STATUS = 32
MAX_ERROR_TEXT = 300
MAX_NOTES = 20
MAX_INBOUND_TEXT = 4096  # WhatsApp's own limit on a text message's body
_DIGITS = re.compile(r"[0-9]{1,15}")


def valid_signature(app_secret: str, raw_body: bytes, header: str | bytes | None) -> bool:
    """X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body) in lowercase hex>, checked before parsing
    anything. Never raises; a blank app secret matches nothing."""
    if not isinstance(app_secret, str | bytes) or not app_secret.strip() or not header:
        return False
    given = _bytes(header)
    if not given.startswith(SIGNATURE_PREFIX):
        return False
    digest = hmac.new(_bytes(app_secret), _bytes(raw_body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(SIGNATURE_PREFIX + digest.encode("ascii"), given)


def valid_verify_token(verify_token: str, given: object) -> bool:
    """hub.verify_token of Meta's subscription check, compared in constant time. Never raises; a blank
    configured token matches nothing."""
    if not isinstance(verify_token, str) or not verify_token.strip() or not isinstance(given, str | bytes):
        return False
    return hmac.compare_digest(_bytes(verify_token), _bytes(given))


def _bytes(value: object) -> bytes:
    # surrogatepass: a str from json or a header may hold lone surrogates; they must compare, not raise
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return b""


@dataclass(frozen=True)
class MessageStatus:
    message_id: str
    status: str
    phone_number_id: str
    reference: str | None
    timestamp: int
    error: str | None = None
    error_code: int | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a person sent to one of the campaign's numbers: who (`sender`, digits as Meta gives them) and,
    for a typed reply or a tapped button, its words."""

    message_id: str
    sender: str
    phone_number_id: str
    text: str | None
    timestamp: int


@dataclass(frozen=True)
class PreferenceChange:
    """Meta's `user_preferences` webhook: a person stopped (or resumed) marketing messages in WhatsApp itself."""

    sender: str
    phone_number_id: str
    category: str
    value: str          # stop | resume | signup
    timestamp: int


@dataclass
class WebhookBatch:
    statuses: list[MessageStatus] = field(default_factory=list)
    messages: list[InboundMessage] = field(default_factory=list)
    preferences: list[PreferenceChange] = field(default_factory=list)
    inbound_messages: int = 0
    preference_changes: int = 0
    # Where the envelope did not have the shape we act on: paths and JSON types only, at most MAX_NOTES.
    not_understood: list[str] = field(default_factory=list)
    not_understood_count: int = 0

    def note(self, where: str, what: str) -> None:
        self.not_understood_count += 1
        if len(self.not_understood) < MAX_NOTES:
            self.not_understood.append(f"{where} {what}")


def parse(envelope: Any) -> WebhookBatch:
    """What a webhook envelope says, taking only what has the documented shape. Never raises."""
    batch = WebhookBatch()
    if not isinstance(envelope, dict):
        batch.note("the body", f"is {_kind(envelope)}, not an object")
        return batch
    if envelope.get("object") != "whatsapp_business_account":
        batch.note("object", "is not whatsapp_business_account")
        return batch
    for i, entry in _objects(batch, envelope, "entry", "entry", required=True):
        for j, change in _objects(batch, entry, "changes", f"entry[{i}].changes", required=True):
            where = f"entry[{i}].changes[{j}].value"
            value = change.get("value")
            if not isinstance(value, dict):
                batch.note(where, f"is {_kind(value)}, not an object")
                continue
            metadata = value.get("metadata")
            number = (_text(metadata.get("phone_number_id"), MAX_ID) if isinstance(metadata, dict) else None) or ""
            if change.get("field") == "user_preferences":
                batch.preference_changes += _each(batch, value, "user_preferences", where, number, _preference,
                                                  batch.preferences)
                continue
            batch.inbound_messages += _each(batch, value, "messages", where, number, _message, batch.messages)
            _each(batch, value, "statuses", where, number, _status, batch.statuses)
    return batch


def _status(batch: WebhookBatch, status: dict[str, Any], number: str, where: str) -> MessageStatus | None:
    message_id = _text(status.get("id"), MAX_ID)
    state = _text(status.get("status"), MAX_STATUS)
    if message_id is None or state is None:
        batch.note(where, "has no usable id or status")
        return None
    raw_reference = status.get("biz_opaque_callback_data")
    reference = _text(raw_reference, MAX_REFERENCE)
    if raw_reference is not None and reference is None:
        batch.note(f"{where}.biz_opaque_callback_data", "is not one of our references")
    timestamp = _timestamp(status.get("timestamp"))
    if timestamp is None:
        batch.note(f"{where}.timestamp", "is not a time in unix seconds")
    error, code = _first_error(batch, status.get("errors"), f"{where}.errors")
    return MessageStatus(message_id=message_id, status=state, phone_number_id=number, reference=reference,
                         timestamp=timestamp or 0, error=error, error_code=code)


def _message(batch: WebhookBatch, message: dict[str, Any], number: str, where: str) -> InboundMessage | None:
    message_id, sender = _text(message.get("id"), MAX_ID), _text(message.get("from"), 20)
    if message_id is None or sender is None or not _DIGITS.fullmatch(sender):
        batch.note(where, "has no usable id or sender")
        return None
    return InboundMessage(message_id=message_id, sender=sender, phone_number_id=number,
                          text=_words(message), timestamp=_timestamp(message.get("timestamp")) or 0)


def _words(message: dict[str, Any]) -> str | None:
    """What the person wrote or tapped: a text's body, a quick-reply button's text, an interactive reply's title."""
    kind = message.get("type")
    part = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        return None
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply")
        part = reply if isinstance(reply, dict) else {}
    for name in ("body", "text", "title"):
        words = _text(part.get(name), MAX_INBOUND_TEXT)
        if words is not None:
            return words
    return None


def _preference(batch: WebhookBatch, preference: dict[str, Any], number: str,
                where: str) -> PreferenceChange | None:
    sender = _text(preference.get("wa_id"), 20)
    category, value = _text(preference.get("category"), 64), _text(preference.get("value"), 32)
    if sender is None or not _DIGITS.fullmatch(sender) or category is None or value is None:
        batch.note(where, "has no usable wa_id, category or value")
        return None
    return PreferenceChange(sender=sender, phone_number_id=number, category=category, value=value,
                            timestamp=_timestamp(preference.get("timestamp")) or 0)


def _first_error(batch: WebhookBatch, errors: Any, where: str) -> tuple[str | None, int | None]:
    if errors is None or errors == []:
        return None, None
    if not isinstance(errors, list) or not isinstance(errors[0], dict):
        batch.note(where, f"is {_kind(errors)} without an error object first")
        return "no reason given [code ?]", None
    first = errors[0]
    reason = _clipped(first.get("title")) or _clipped(first.get("message")) or "no reason given"
    code = _code(first.get("code"))
    return f"{reason} [code {code if code is not None else '?'}]", code


def _each(batch: WebhookBatch, value: dict[str, Any], name: str, where: str, number: str,
          read: Callable[[WebhookBatch, dict[str, Any], str, str], Any], into: list[Any]) -> int:
    """Read each object of `value[name]` into `into`, skipping (and noting) what has not the shape; how many there
    were."""
    items = _objects(batch, value, name, f"{where}.{name}")
    for k, item in items:
        parsed = read(batch, item, number, f"{where}.{name}[{k}]")
        if parsed is not None:
            into.append(parsed)
    return len(items)


def _objects(batch: WebhookBatch, parent: dict[str, Any], key: str, where: str, *,
             required: bool = False) -> list[tuple[int, dict[str, Any]]]:
    """The objects of the list parent[key], each with its index; anything else there is noted and skipped."""
    if key not in parent:
        if required:
            batch.note(where, "is missing")
        return []
    items = parent[key]
    if not isinstance(items, list):
        batch.note(where, f"is {_kind(items)}, not a list")
        return []
    found = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            found.append((index, item))
        else:
            batch.note(f"{where}[{index}]", f"is {_kind(item)}, not an object")
    return found


def _text(value: Any, limit: int) -> str | None:
    """A non-empty string of at most `limit` characters that can be stored (no lone surrogates), or None."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _clipped(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value[:MAX_ERROR_TEXT].encode("utf-8", "replace").decode("utf-8")


def _timestamp(value: Any) -> int | None:
    """Unix seconds; Meta sends them as a string of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**15 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and 0 <= value < 10**15 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**15 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
