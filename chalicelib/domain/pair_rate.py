"""WhatsApp's pair rate: one business number may send one consumer about one message every 6 seconds
(https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput, error 131056).

A coordinator can be due two messages at once — the evening alert and the state's kit — so each send first takes
the recipient's next slot; a message that finds the slot taken waits for it instead of drawing 131056.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

# The documented 6 s and a second for the difference between our clock and Meta's.
PAIR_SPACING = timedelta(seconds=7)


def recipient_key(phone: str) -> str:
    """How the table names a recipient: a digest, never the number (it only has to tell recipients apart)."""
    return hashlib.sha256(phone.encode("utf-8")).hexdigest()[:32]


def spacing_seconds() -> int:
    return math.ceil(PAIR_SPACING.total_seconds())
