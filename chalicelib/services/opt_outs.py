"""STOP and START from voters, and Meta's marketing stop — acted on the moment the webhook arrives.

A STOP (in any of the ways people write it: domain/opt_out) suppresses the number campaign-wide: no import
subscribes it again and no broadcast reaches it. The person gets one confirmation in their language (they just
wrote, so WhatsApp's 24-hour window is open for a plain text). A START lifts a stop the person gave themselves and
records their new consent on the contact; an erasure is never undone, and a number we hold nothing for is told so.
Meta redelivers webhooks: each inbound message is acted on once (its id is remembered).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.clock import Clock
from chalicelib.domain.contacts import ERASED
from chalicelib.domain.opt_out import Request, request_in
from chalicelib.domain.phone import BadNumber, mask, normalise
from chalicelib.errors import BadRequest
from chalicelib.observability import logger
from chalicelib.services.activity import ActivityLog

# Only types here (the Lambdas read the campaign as domain/stored_campaign.py's classes, without pydantic).
if TYPE_CHECKING:
    from chalicelib.domain.campaign import Campaign
    from chalicelib.domain.whatsapp_envelope import WebhookBatch
    from chalicelib.ports import AudienceRecords, ContactVaultPort

SELF_STOPS = ("stop", "marketing_stop")   # what a START may lift; an erasure is for good
START_SOURCE = "whatsapp START reply"
REPLIES = {
    ("stop", "hi"): "आपने संदेश बंद करने को कहा है: इस नंबर पर अभियान के संदेश अब नहीं आएँगे। फिर से पाने के लिए START "
                    "लिखें।",
    ("stop", "en"): "You asked us to stop: this number will get no more campaign messages. Reply START to get them "
                    "again.",
    ("start", "hi"): "फिर से स्वागत है: अभियान के संदेश इस नंबर पर फिर से आएँगे। बंद करने के लिए STOP लिखें।",
    ("start", "en"): "Welcome back: campaign messages will reach this number again. Reply STOP to stop them.",
    ("unknown", "hi"): "इस नंबर का हमारे पास कोई रिकॉर्ड नहीं है। अभियान के संदेश पाने के लिए अपनी टीम से फ़ॉर्म भरवाएँ।",
    ("unknown", "en"): "We hold no record for this number. To get campaign messages, sign up through the campaign's "
                       "form.",
}


@dataclass
class OptOuts:
    audience: AudienceRecords
    vault: ContactVaultPort
    activity: ActivityLog
    clock: Clock
    reply: Callable[[str, str, str], None]   # (phone_number_id, to, text): a plain text from that number
    # services/broadcasts.Broadcaster.forget: an erased person's broadcast records and pair-rate slots go too
    forget: Callable[[str, Campaign], None] | None = None

    def handle(self, campaign: Campaign, batch: WebhookBatch) -> Counter:
        counts: Counter = Counter()
        for message in batch.messages:
            request = request_in(message.text)
            if request is None:
                continue
            seen = f"IN#{message.message_id}"
            if self.audience.seen(seen):  # Meta delivered it again: acted on already (an old STOP must not undo a
                counts["repeated"] += 1   # later START)
                continue
            if request is Request.STOP:
                counts["stopped"] += self._stop(campaign, message.sender, message.phone_number_id, "stop",
                                                "replied STOP")
            else:
                counts[self._start(campaign, message.sender, message.phone_number_id)] += 1
            # Remembered only once acted on: a handler that dies before this acts again when Meta redelivers.
            self.audience.first_time(seen, self.clock.now())
        for change in batch.preferences:
            if change.category != "marketing_messages":
                continue
            if change.value == "stop":
                counts["stopped"] += self._stop(campaign, change.sender, None, "marketing_stop",
                                                "stopped marketing messages in WhatsApp")
            elif change.value == "resume" and self.audience.lift_suppression(self._digest(change.sender),
                                                                             ["marketing_stop"]):
                counts["resumed"] += 1
                self.activity.record("audience.resumed", "state", f"{mask('+' + change.sender)} resumed marketing "
                                     "messages in WhatsApp")
        return counts

    def erase(self, campaign: Campaign, phone: str, by: str) -> dict[str, Any]:
        """A person asked for their data to be erased (DPDP): every constituency's contact for the number is deleted and
        only the suppression digest is kept, so no import brings the number back."""
        number = normalise(phone)
        if isinstance(number, BadNumber):
            raise BadRequest(f"{number.problem}: send {{\"phone\": \"+91 98765 43210\"}}")
        digest = self.vault.digest(number)
        held = self._held(campaign, digest)
        for constituency, _ in held:
            self.audience.delete_contacts(constituency, [digest])
        self.audience.suppress(digest, ERASED, self.clock.now())
        if self.forget is not None:
            self.forget(digest, campaign)
        self.activity.record("audience.erased", "state", f"{mask(number)} erased on request by {by}: "
                             f"{len(held)} contact record(s) deleted, only the suppression digest kept",
                             level="warning", details={"by": by, "constituencies": [c for c, _ in held]})
        return {"erased": mask(number), "contacts_deleted": len(held), "constituencies": [c for c, _ in held]}

    def _stop(self, campaign: Campaign, sender: str, number: str | None, reason: str, how: str) -> int:
        digest = self._digest(sender)
        held = self._held(campaign, digest)
        newly = self.audience.suppress(digest, reason, self.clock.now())
        scope = f"constituency/{held[0][0]}" if held else "state"
        self.activity.record("audience.stopped", scope, f"{mask('+' + sender)} {how}: no message will reach them "
                             "again" + ("" if newly else " (already stopped)"), level="warning")
        if number is not None:
            self._say(number, sender, "stop", held)
        return int(newly)

    def _start(self, campaign: Campaign, sender: str, number: str) -> str:
        digest = self._digest(sender)
        held = self._held(campaign, digest)
        stopped = self.audience.suppression(digest)
        if stopped is not None and stopped.reason == ERASED or not held:
            self._say(number, sender, "unknown", held)
            return "start_unknown"
        if stopped is not None and not self.audience.lift_suppression(digest, SELF_STOPS):
            return "start_refused"
        # Their reply is the clear, affirmative act DPDP asks for: a new consent record, from now.
        notice = campaign.audience.notices[-1] if campaign.audience.notices else START_SOURCE
        self.audience.save_contacts([replace(contact, consent_source=START_SOURCE, consent_at=self.clock.now(),
                                             notice_version=notice, updated_at=self.clock.now())
                                     for _, contact in held])
        self.activity.record("audience.started", f"constituency/{held[0][0]}", f"{mask('+' + sender)} replied "
                             "START: subscribed again, with a new consent record")
        self._say(number, sender, "start", held)
        return "started"

    def _held(self, campaign: Campaign, digest: str) -> list[tuple[str, Any]]:
        """The constituencies that hold a contact for this number, with the contact."""
        found = []
        for constituency in campaign.constituencies:
            contacts, _ = self.audience.known(constituency.id, [digest])
            if digest in contacts:
                found.append((constituency.id, contacts[digest]))
        return found

    def _say(self, number: str, sender: str, what: str, held: list[tuple[str, Any]]) -> None:
        language = held[0][1].language if held else "hi"
        try:
            self.reply(number, sender, REPLIES[(what, language if language in ("hi", "en") else "hi")])
        except Exception as exc:  # the stop stands whatever happens to the courtesy reply
            logger.warning("the confirmation reply did not go out", extra={"error": type(exc).__name__,
                                                                           "reply": what})

    def _digest(self, sender: str) -> str:
        return self.vault.digest("+" + sender)
