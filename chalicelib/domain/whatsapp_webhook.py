"""WhatsApp delivery statuses as the store and the services rank them, and the reference we ask Meta to echo back
in each status (biz_opaque_callback_data).

The webhook itself — its signature check and the parts of the envelope we act on — is domain/whatsapp_envelope.py:
the store imports this module in every Lambda, and only the webhook's needs that one. Its names are still reachable
from here (`from chalicelib.domain.whatsapp_webhook import parse`), loaded on first use.
"""

from __future__ import annotations

from typing import Any

STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3, "played": 3, "failed": 4}
REACH = ("sent", "delivered", "read")  # the stages a post's reach counts, each member once


def reach_stages(before: int, rank: int) -> list[str]:
    """The stages a member newly reached in moving from rank `before` to `rank` (a failure reaches none)."""
    return [] if rank > STATUS_ORDER["read"] else [s for s in REACH if before < STATUS_ORDER[s] <= rank]


def delivery_reference(content_id: str, account_id: str, delivery_key: str) -> str:
    """What we ask Meta to echo back in every status of a message (biz_opaque_callback_data)."""
    return f"{content_id}|{account_id}|{delivery_key}"


def parse_reference(reference: str | None) -> tuple[str, str, str] | None:
    parts = (reference or "").split("|")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and all(parts) else None


def __getattr__(name: str) -> Any:
    """The envelope's names (parse, valid_signature, MessageStatus, …), from domain/whatsapp_envelope.py."""
    if not name.startswith("__"):  # the import system asks for __path__ and the like: those are not the envelope's
        from chalicelib.domain import whatsapp_envelope

        if hasattr(whatsapp_envelope, name):
            return getattr(whatsapp_envelope, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
