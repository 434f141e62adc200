"""Hostile review of 10145b2..HEAD (on_its_way_after: which moves keep a post in the sparse `on_its_way` index that
PublishingLag reads; decisions that read the content once; the emulator's kept-alive connections and caches). Each
test fails on the change; its docstring says what breaks and where.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

from chalicelib.adapters.clock import SteppedClock
from chalicelib.adapters.memory import InMemoryStore
from chalicelib.domain.post import PostStatus
from chalicelib.services.activity import ActivityLog
from chalicelib.services.ambiguity import mark_ambiguous
from chalicelib.services.dispatch import Dispatcher
from tests.contract.test_store_contract import KIT, LATER, NOW, claimed

S = PostStatus


class _LosesEveryMessage:
    """SQS refusing the batch (or a publisher that never gets to claim): every message comes back unsent."""

    def send(self, messages):
        return list(messages)


# ---- 1. a hole: a post let out of a pause whose message is lost is invisible to PublishingLag -----------------------
def test_a_post_queued_out_of_a_pause_that_is_over_reads_late_when_its_message_is_lost():
    """chalicelib/domain/post_states.py `on_its_way_after` takes every held → queued move (`queue` from paused, a
    silence, a throttle, a held account) out of the `on_its_way` index, on the theory that "one that is over lets the
    publisher claim it, which puts it on its way". That needs the publish message to arrive. When it does not —
    Dispatcher.run's `queue.send` returns the message unsent (it only logs "the clock will resend them"), or the
    publisher Lambda errors before its claim — the post sits `queued`, held by nothing, due an hour ago, and out of
    the index until the clock's `requeue` REQUEUE_AFTER (10 min) later. Every minute in between, `_report_lag`
    emits PublishingLag = 0 for it. A scheduled post in the same state reads late at once; one released from a pause
    (a resume of a whole state releases every post at once) is hidden for 10 minutes, and the alarm (over 600 s in
    two 5-minute periods) pages ~10 minutes later than docs/runbook.md promises ("a post due more than 10 minutes ago
    is still … queued … held by nothing deliberate")."""
    store, clock = InMemoryStore(), SteppedClock(LATER)
    post = claimed(store, account_id="fb-sahada", platform="facebook")
    # The publisher parks it for a pause, as Publisher._hold does; the pause is lifted by LATER.
    assert store.move_post(KIT, "fb-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.PAUSED, now=NOW,
                           wake_at=LATER, fields={"claim": None, "reason": "paused", "held": str(S.PAUSED)})
    dispatcher = Dispatcher(store, _LosesEveryMessage(), ActivityLog(store, clock), clock)
    result = dispatcher.run()
    assert result.queued == [f"{KIT}.fb-sahada"] and result.send_failures == 1
    assert store.post(KIT, "fb-sahada").status is S.QUEUED
    # Five minutes on: nothing holds it, nothing will publish it before the re-send, and it was due an hour ago.
    clock.advance_to(LATER + timedelta(minutes=5))
    assert store.oldest_due_on_its_way(LATER + timedelta(minutes=5)) == post.due_at, (
        "a queued post whose pause is over and whose publish message was lost is out of the on_its_way index: "
        "PublishingLag reads 0 for it until the clock's re-send REQUEUE_AFTER later")


# ---- 2. a false alarm: a doubt a coordinator was alerted about at once still reads late ---------------------------
def test_a_doubt_alerted_to_a_coordinator_when_marked_is_not_read_as_late():
    """on_its_way_after drops only an *escalated* doubt (ambiguous → ambiguous) from the index: "nor one in doubt that
    a person has been alerted about (escalated: its own alarm called them)", and docs/runbook.md now says a doubt a
    coordinator has been alerted about has its own alarm. But chalicelib/services/ambiguity.py `mark_ambiguous`
    alerts a person at once — `post.needs_decision` (an ALARMING kind: NeedsDecisionAlarm) — whenever nothing will
    settle the doubt by itself (Facebook/X once the look-ups are used up, `can_look=False`; WhatsApp with no message
    in flight), and that move (publishing → ambiguous) leaves the post in `on_its_way` for good: the same doubt pages
    twice, through NeedsDecisionAlarm and through PublishingLag, until a coordinator settles it — exactly the double
    page 221d41c removed for the escalated case."""
    store, clock = InMemoryStore(), SteppedClock(LATER)
    post = claimed(store, account_id="fb-sahada", platform="facebook")
    activity = ActivityLog(store, clock)
    assert mark_ambiguous(store, activity, post, "claim-1", LATER, "the last look-up failed", can_look=False)
    kinds = [entry.kind for entry in store.activity_on(LATER.date())]
    assert "post.needs_decision" in kinds  # the person is alerted now, by its own alarm
    assert store.oldest_due_on_its_way(LATER + timedelta(minutes=30)) is None, (
        "a doubt a coordinator was alerted about (post.needs_decision) still sits in on_its_way: PublishingLag "
        "pages for it as well")


# ---- 3. the emulator's lazy KMS key pair is generated twice under concurrent first use ------------------------------
def test_a_kms_key_pair_made_on_first_use_is_made_once_under_concurrent_first_use():
    """local/moto_fixes.py fix 9, `_KeyPairWhenUsed.__getattr__`: `if self._key is None: self._key = generate(...)`
    with no lock. moto's server is threaded (ThreadedMotoServer), so a GetPublicKey and a Sign (or two Signs) on a
    fresh asymmetric key that arrive together each generate their own RSA/EC key pair; each request uses the one it
    made, and the last assignment wins — a signature that does not verify with the public key handed out, where
    unpatched moto made the one pair in CreateKey."""
    from local.moto_fixes import _KeyPairWhenUsed

    calls = []
    both_inside = threading.Barrier(2, timeout=3)  # only a guard: a locked implementation lets one thread in

    class Pair:
        def __init__(self, n):
            self.n = n

        def public_key(self):
            return self.n

    def generate(spec):
        calls.append(spec)
        n = len(calls)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait()
        return Pair(n)

    proxy = _KeyPairWhenUsed(generate, "RSA_2048")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(proxy.public_key())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1, f"one KMS key, {len(calls)} key pairs generated (answers used {sorted(seen)})"
