"""A broadcast's world on in-memory fakes: the Broadcaster with the in-memory stores, a queue that keeps what is
sent to it, a WhatsApp client that answers as scripted — shared by tests/unit/test_broadcasts.py and the reviews'
findings (tests/unit/test_review_findings_7.py, _8.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import yaml

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.memory_audience import InMemoryAudience
from chalicelib.adapters.memory_broadcast import InMemoryBroadcasts
from chalicelib.domain.audience import StoredContact
from chalicelib.domain.broadcast import send_interval
from chalicelib.domain.campaign import Campaign
from chalicelib.domain.post import Post, PostStatus
from chalicelib.domain.whatsapp_webhook import MessageStatus
from chalicelib.services.activity import ActivityLog
from chalicelib.services.broadcasts import Broadcaster
from tests.support.audience_fakes import FakeVault
from tests.support.world import CAMPAIGN_FILE

NOW = datetime(2021, 3, 3, 4, 0, tzinfo=UTC)
BROADCAST = "c1"
EVERY_80 = timedelta(seconds=send_interval(80))


class Queue:
    def __init__(self):
        self.messages = []

    def send(self, messages, delay_seconds=0):
        self.messages += [(m, delay_seconds) for m in messages]
        return []

    def take(self):
        taken, self.messages = self.messages, []
        return taken


class WhatsApp:
    """Answers each recipient as scripted (an exception to raise, once), else a message id; notes when it sent."""

    def __init__(self, clock=None):
        self.sent, self.script, self.ids, self.at, self.clock = [], {}, 0, [], clock
        self._lock = threading.Lock()

    def publish(self, request):
        answer = self.script.pop(request.recipient, None)
        if isinstance(answer, BaseException):
            raise answer
        with self._lock:
            self.ids += 1
            self.sent.append(request)
            if self.clock is not None:
                self.at.append((request.recipient, self.clock.now()))
            return f"wamid.{self.ids}"


class Campaigns:
    def __init__(self, campaign):
        self.campaign = campaign

    def active(self):
        return self.campaign


def phone(n):
    return f"+9198765{n:05d}"


def bare(n):
    return phone(n).lstrip("+")


VAULT = FakeVault()


def numbers_in_shard(shard, count, start=1):
    """`count` numbers whose digests fall in `shard`, in digest order."""
    found, n = [], start
    while len(found) < count:
        if VAULT.digest(phone(n))[0] == shard:
            found.append(n)
        n += 1
    return sorted(found, key=lambda k: VAULT.digest(phone(k)))


def campaign_with(*extra_accounts, audience=None, **account_changes):
    document = yaml.safe_load(CAMPAIGN_FILE.read_text(encoding="utf-8"))
    document["accounts"] += list(extra_accounts)
    if audience:
        document["audience"] = {**document.get("audience", {}), **audience}
    for account in document["accounts"]:
        account.update(account_changes.get(account["id"], {}))
    return Campaign.model_validate(document)


class World:
    def __init__(self, campaign=None, now=NOW):
        self.campaign = campaign or campaign_with()
        self.clock, self.store, self.audience = SteppedClock(now), InMemoryStore(), InMemoryAudience()
        self.vault = VAULT
        self.slept = []
        self.whatsapp = WhatsApp(self.clock)
        self.service = Broadcaster(InMemoryBroadcasts(), self.audience, self.vault, self.store, Queue(),
                                   Campaigns(self.campaign), self.whatsapp, lambda account: "token",
                                   ActivityLog(self.store, self.clock), self.clock, sleep=self.slept.append)

    def add(self, numbers, constituency="sahada"):
        self.audience.save_contacts([StoredContact(
            constituency=constituency, digest=self.vault.digest(phone(n)),
            sealed=self.vault.seal("", {"phone": phone(n)}), consent_source="missed call",
            consent_at=NOW - timedelta(days=3), notice_version="v1", language="hi",
            source_key=f"audience/{constituency}/list.csv", updated_at=NOW) for n in numbers])

    def post(self, content_id="c1", account_id="wa-sahada", scope="constituency/sahada"):
        return Post(content_id=content_id, account_id=account_id, platform="whatsapp", scope=scope,
                    status=PostStatus.PUBLISHING, due_at=NOW, revision=1,
                    payload={"title": "बजट", "audience": "subscribers",
                             "template": {"name": "budget_update", "language": "hi", "params": ["a", "b"]}})

    def begin(self, post=None):
        return self.service.begin(post or self.post(), self.campaign, self.clock.now())

    def drain(self, rounds=30, *, until_empty=True):
        outcomes = []
        for _ in range(rounds):
            batch = self.service.queue.take()
            if not batch:
                return outcomes
            outcomes += [self.service.run_chunk(message).outcome for message, _ in batch]
        if until_empty:
            raise AssertionError("the chunks never ran out")
        return outcomes

    def deliver(self, rounds=30):
        """SQS: each queued chunk to a publisher; a chunk whose run fails (an exception) is given out again later."""
        outcomes = []
        for _ in range(rounds):
            batch = self.service.queue.take()
            if not batch:
                return outcomes
            for message, _ in batch:
                try:
                    outcomes.append(self.service.run_chunk(message).outcome)
                except BaseException as exc:  # SQS does not care why a Lambda failed
                    outcomes.append(type(exc).__name__)
                    self.service.queue.messages.append((message, 0))
        return outcomes

    def recipients(self):
        return [r.recipient for r in self.whatsapp.sent]

    def record(self, n, broadcast=BROADCAST):
        return self.service.broadcasts.record(broadcast, self.vault.digest(phone(n)))

    def status(self, n, wamid, status, *, code=None, error=None, content_id="c1", account_id="wa-sahada"):
        digest = self.vault.digest(phone(n))
        return self.service.on_status(MessageStatus(
            message_id=wamid, status=status, phone_number_id="3000002",
            reference=f"broadcast|{content_id}|{account_id}|{digest}", timestamp=0, error_code=code, error=error),
            content_id, account_id, digest)

    def others_hold_the_schedule(self, seconds, account_id="wa-sahada"):
        """Other publishers' chunks (concurrent Lambdas) took the number's next `seconds` of sending times."""
        count = int(seconds / EVERY_80.total_seconds())
        self.service.broadcasts.reserve_sends(account_id, count, EVERY_80, self.clock.now())
