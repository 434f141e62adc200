"""Meta's WhatsApp webhooks: the signature check and the parts of the envelope we act on.

Shapes as Meta sends them (see pywa's recorded payloads): `entry[].changes[].value` with `metadata`,
`statuses[]` (id, status, timestamp, recipient_id, biz_opaque_callback_data, errors[]) and `messages[]`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4}


def valid_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>, checked before parsing anything."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@dataclass(frozen=True)
class MessageStatus:
    message_id: str
    status: str
    phone_number_id: str
    reference: str | None
    timestamp: int
    error: str | None = None


@dataclass
class WebhookBatch:
    statuses: list[MessageStatus] = field(default_factory=list)
    inbound_messages: int = 0
    preference_changes: int = 0


def parse(envelope: dict[str, Any]) -> WebhookBatch:
    batch = WebhookBatch()
    if envelope.get("object") != "whatsapp_business_account":
        return batch
    for entry in envelope.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value") or {}
            if change.get("field") == "user_preferences":
                batch.preference_changes += len(value.get("user_preferences", []))
                continue
            number = (value.get("metadata") or {}).get("phone_number_id", "")
            batch.inbound_messages += len(value.get("messages", []))
            for status in value.get("statuses", []):
                errors = status.get("errors") or []
                error = None
                if errors:
                    first = errors[0]
                    error = f"{first.get('title') or first.get('message')} [code {first.get('code')}]"
                batch.statuses.append(MessageStatus(
                    message_id=status.get("id", ""), status=status.get("status", ""), phone_number_id=number,
                    reference=status.get("biz_opaque_callback_data"), timestamp=int(status.get("timestamp", 0)),
                    error=error))
    return batch


def delivery_reference(content_id: str, account_id: str, delivery_key: str) -> str:
    """What we ask Meta to echo back in every status of a message (biz_opaque_callback_data)."""
    return f"{content_id}|{account_id}|{delivery_key}"


def parse_reference(reference: str | None) -> tuple[str, str, str] | None:
    parts = (reference or "").split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None
