"""Each upload's answer, kept for its uploader: what `prachar upload` waits for (GET /api/uploads).

Kept by the upload's S3 version id (its ETag on a bucket without versions): two uploads of the same bytes share an
ETag, and the first one's answer is not the second's. The first answer stays — the same S3 event delivered again
finds the work done, and "unchanged" is not what became of the upload.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.domain.times import to_iso

KEPT = timedelta(days=30)


def record(store: Any, clock: Any, key: str, upload: str, answer: dict[str, Any]) -> bool:
    """False when the upload was answered already."""
    return store.record_upload_answer(key, upload, answer, int((clock.now() + KEPT).timestamp()))


def refusal(key: str, problems: list[Any], now: Any) -> dict[str, Any]:
    """The answer to a file refused before it was read."""
    return {"key": key, "outcome": "rejected", "answered_at": to_iso(now), "content_ids": [], "accounts": [],
            "problems": [p.to_dict() for p in problems]}
