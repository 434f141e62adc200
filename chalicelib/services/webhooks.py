"""WhatsApp status webhooks: each sent message's fate, and the settling of an ambiguous send."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.store import Store
from chalicelib.domain.whatsapp_webhook import STATUS_ORDER, WebhookBatch, parse_reference
from chalicelib.services.activity import ActivityLog
from chalicelib.services.publish import FAILED_MARK


@dataclass
class WhatsAppWebhooks:
    store: Store
    activity: ActivityLog
    clock: Clock

    def handle(self, batch: WebhookBatch) -> dict[str, int]:
        now = self.clock.now()
        counts = {"statuses": len(batch.statuses), "settled": 0, "failed": 0, "inbound": batch.inbound_messages}
        for status in batch.statuses:
            if status.status not in STATUS_ORDER:
                continue
            self.store.note_message_status(status.message_id, status.status, STATUS_ORDER[status.status],
                                           status.reference, now)
            reference = parse_reference(status.reference)
            if reference is None:
                continue
            content_id, account_id, member = reference
            outcome = f"{FAILED_MARK}{status.error}" if status.status == "failed" else status.message_id
            if self.store.settle_pending_delivery(content_id, account_id, member, outcome, now):
                counts["settled"] += 1
                self.activity.record("post.settled", self._scope(content_id, account_id),
                                     f"{account_id}: WhatsApp reported the message to {member} {status.status}; "
                                     "the rest of the team kit goes out now", content_id=content_id,
                                     account_id=account_id)
            if status.status == "failed":
                counts["failed"] += 1
                self.activity.record("message.failed", self._scope(content_id, account_id),
                                     f"{account_id}: WhatsApp could not deliver to {member}: {status.error}",
                                     level="warning", content_id=content_id, account_id=account_id)
        return counts

    def _scope(self, content_id: str, account_id: str) -> str:
        post = self.store.post(content_id, account_id)
        return post.scope if post else "unknown"
