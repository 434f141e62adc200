"""One suite, two stores: every test runs against the DynamoDB `Store` on the emulator and against
`InMemoryStore`, so the fake the service tests use honours the same conditional writes as the table.

Where the two disagree the fake is wrong: fix adapters/memory.py, never a test here.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.adapters.memory import InMemoryStore
from chalicelib.adapters.store import Store
from chalicelib.domain.account_state import Health
from chalicelib.domain.post import CLAIM_TIMEOUT, REPLACEABLE, REQUEUE_AFTER, Post, PostStatus
from chalicelib.domain.post_states import IllegalMove
from chalicelib.domain.records import ActiveCampaign, ActivityEntry, ContentRecord
from chalicelib.domain.times import to_iso
from chalicelib.errors import PersistenceError
from chalicelib.ports import StorePort

S = PostStatus
NOW = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)  # 09:00 IST
LATER = NOW + timedelta(hours=1)
SCOPE = "constituency/sahada"
KIT = "c-kit"


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> StorePort:
    if request.param == "dynamodb":
        return request.getfixturevalue("world").container.store
    return InMemoryStore()


# ---- building states the way the services reach them ----------------------------------------------
def a_post(content_id: str = KIT, account_id: str = "wa-sahada", *, status: PostStatus = S.SCHEDULED,
           revision: int = 1, due_at: datetime = NOW, wake_at: datetime | None = NOW, scope: str = SCOPE,
           platform: str = "whatsapp", text: str = "सहाड़ा में नया महाविद्यालय") -> Post:
    return Post(content_id=content_id, account_id=account_id, platform=platform, scope=scope, status=status,
                due_at=due_at, revision=revision, payload={"title": "बजट", "text": text}, wake_at=wake_at)


def placed(store: StorePort, **kwargs) -> Post:
    post = a_post(**kwargs)
    assert store.place_post(post, REPLACEABLE).placed
    return post


def queued(store: StorePort, **kwargs) -> Post:
    post = placed(store, **kwargs)
    assert store.move_post(post.content_id, post.account_id, expected=[S.SCHEDULED], status=S.QUEUED, now=NOW,
                           wake_at=NOW + REQUEUE_AFTER, fields={"queued_at": to_iso(NOW)})
    return store.post(post.content_id, post.account_id)


def claimed(store: StorePort, claim: str = "claim-1", **kwargs) -> Post:
    post = queued(store, **kwargs)
    assert store.claim_post(post.content_id, post.account_id, claim, NOW, NOW + CLAIM_TIMEOUT, post.revision)
    return store.post(post.content_id, post.account_id)


def delivered(store: StorePort, deliveries: dict[str, str], claim: str = "claim-1", **kwargs) -> Post:
    post = claimed(store, claim, **kwargs)
    for key, message_id in deliveries.items():
        assert store.begin_delivery(post.content_id, post.account_id, key, claim)
        assert store.record_delivery(post.content_id, post.account_id, key, message_id, claim, post.revision)
    return store.post(post.content_id, post.account_id)


def published(store: StorePort, deliveries: dict[str, str], claim: str = "claim-1", **kwargs) -> Post:
    post = delivered(store, deliveries, claim, **kwargs)
    assert store.move_post(post.content_id, post.account_id, expected=[S.PUBLISHING], claim=claim,
                           status=S.PUBLISHED, now=NOW,
                           fields={"claim": None, "platform_post_id": next(iter(deliveries.values())),
                                   "published_at": to_iso(NOW), "pending_delivery": None})
    return store.post(post.content_id, post.account_id)


def held(store: StorePort, status: PostStatus, claim: str = "claim-1", *, until: datetime = LATER,
         deliveries: dict[str, str] | None = None, **fields) -> Post:
    """Mid-post, the worker stops at a gate (under its claim): what went out stays recorded."""
    post = delivered(store, deliveries or {}, claim)
    assert store.move_post(post.content_id, post.account_id, expected=[S.PUBLISHING], claim=claim, status=status,
                           now=NOW, wake_at=until, fields={"claim": None, "reason": f"held: {status}", **fields})
    return store.post(post.content_id, post.account_id)


def in_doubt(store: StorePort, pending: str | None, claim: str = "claim-1",
             deliveries: dict[str, str] | None = None) -> Post:
    """The worker made a call that may have landed (naming it first when it is a WhatsApp message)."""
    post = delivered(store, deliveries or {}, claim)
    if pending is not None:
        assert store.begin_delivery(post.content_id, post.account_id, pending, claim)
    assert store.move_post(post.content_id, post.account_id, expected=[S.PUBLISHING], claim=claim,
                           status=S.AMBIGUOUS, now=NOW,
                           fields={"claim": None, "check_first": True, "pending_delivery": pending,
                                   "ambiguous_since": to_iso(NOW), "reason": "timed out"})
    return store.post(post.content_id, post.account_id)


def reload(store: StorePort, post: Post) -> Post:
    found = store.post(post.content_id, post.account_id)
    assert found is not None
    return found


def a_content(revision: int = 1, **changes) -> ContentRecord:
    record = ContentRecord(content_id=KIT, key="content/constituency/sahada/budget.yaml", scope=SCOPE,
                           title="बजट घोषणा", revision=revision, sha256=f"sha-{revision}",
                           manifest={"title": "बजट घोषणा", "platforms": ["whatsapp"], "n": 3}, uploaded_at=NOW)
    return replace(record, **changes)


# ---- the two implementations offer the same thing --------------------------------------------------
def test_both_stores_offer_the_same_public_methods_with_the_same_signatures():
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {name: inspect.signature(member) for name, member in vars(cls).items()
                if callable(member) and not name.startswith("_")}

    assert public(InMemoryStore) == public(Store)
    assert isinstance(InMemoryStore(), StorePort)
    assert isinstance(Store(client=None, table="t"), StorePort)


# ---- campaign ---------------------------------------------------------------------------------------
def test_the_latest_activated_campaign_is_the_active_one(store):
    assert store.active_campaign() is None
    first = ActiveCampaign(document={"name": "उपचुनाव", "teams": [1, 2]}, version="v1", key="config/campaign.yaml",
                           activated_at=NOW)
    store.activate_campaign(first)
    store.activate_campaign(replace(first, version="v2", activated_at=LATER))
    assert store.active_campaign() == replace(first, version="v2", activated_at=LATER)


# ---- content ----------------------------------------------------------------------------------------
def test_new_content_is_saved_once_and_reads_back_whole(store):
    record = a_content()
    assert store.save_content(record, previous_revision=None)
    assert not store.save_content(replace(record, title="another"), previous_revision=None)
    assert store.content(KIT) == record
    assert store.content("nobody") is None


def test_a_new_revision_replaces_only_the_revision_read(store):
    assert not store.save_content(a_content(2), previous_revision=1)  # nothing there yet
    store.save_content(a_content(1, approval={"needed": True, "status": "pending"}, series="daily",
                                 uploaded_by="m-lead"), None)
    assert store.save_content(a_content(2), previous_revision=1)
    assert not store.save_content(a_content(3, title="stale"), previous_revision=1)
    assert store.content(KIT) == a_content(2)  # a put: the approval, series and uploader of revision 1 are gone


def test_a_decision_binds_to_the_revision_the_approver_saw(store):
    assert not store.decide(KIT, 1, {"status": "approved"})
    store.save_content(a_content(1, approval={"needed": True, "status": "pending"}), None)
    store.save_content(a_content(2, approval={"needed": True, "status": "pending"}), 1)
    assert not store.decide(KIT, 1, {"status": "approved", "by": "m-lead"})
    assert store.content(KIT).approval == {"needed": True, "status": "pending"}
    assert store.decide(KIT, 2, {"status": "approved", "by": "m-lead"})
    assert store.content(KIT).approval == {"status": "approved", "by": "m-lead"}


def test_content_with_posts_returns_the_content_and_only_its_posts_in_account_order(store):
    store.save_content(a_content(), None)
    for account in ("x-sahada", "fb-sahada", "wa-sahada"):
        placed(store, account_id=account)
    placed(store, content_id="c-other", account_id="fb-other")
    content, posts = store.content_with_posts(KIT)
    assert content == a_content()
    assert [p.account_id for p in posts] == ["fb-sahada", "wa-sahada", "x-sahada"]
    assert store.content_with_posts("nobody") == (None, [])


# ---- placing posts ----------------------------------------------------------------------------------
def test_placing_a_new_post_starts_it_with_nothing_sent(store):
    post = replace(a_post(), attempts=4, deliveries={"m-1": "wamid.old"}, delivery_revisions={"m-1": 1},
                   claim="stale", reason="stale", platform_post_id="stale")
    placement = store.place_post(post, REPLACEABLE)
    assert placement.placed and placement.previous is None
    assert store.post(KIT, "wa-sahada") == a_post()


def test_a_re_upload_keeps_what_already_went_out(store):
    before = held(store, S.HELD_THROTTLED, deliveries={"m-1": "wamid.1"})
    assert (before.attempts, before.deliveries, before.delivery_revisions) == (1, {"m-1": "wamid.1"}, {"m-1": 1})
    newer = a_post(revision=2, due_at=LATER, wake_at=LATER, text="नया पाठ")
    placement = store.place_post(newer, REPLACEABLE)
    assert placement.placed and placement.previous == before
    assert reload(store, newer) == replace(newer, attempts=1, deliveries={"m-1": "wamid.1"},
                                           delivery_revisions={"m-1": 1})


@pytest.mark.parametrize("status", [S.PUBLISHING, S.PUBLISHED, S.FAILED, S.AMBIGUOUS])
def test_a_post_that_is_not_replaceable_is_left_alone(store, status):
    current = {S.PUBLISHING: lambda: claimed(store), S.PUBLISHED: lambda: published(store, {"m-1": "wamid.1"}),
               S.FAILED: lambda: _failed(store), S.AMBIGUOUS: lambda: in_doubt(store, "m-2")}[status]()
    placement = store.place_post(a_post(revision=2, text="नया"), REPLACEABLE)
    assert not placement.placed and placement.previous == current
    assert reload(store, current) == current


def _failed(store: StorePort) -> Post:
    post = claimed(store)
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.FAILED, now=NOW,
                           fields={"claim": None, "reason": "refused"})
    return reload(store, post)


def test_a_post_to_check_first_is_not_replaced_even_when_queued_again(store):
    in_doubt(store, pending=None)
    assert store.move_post(KIT, "wa-sahada", expected=[S.AMBIGUOUS], status=S.QUEUED, now=NOW, wake_at=NOW)
    current = reload(store, a_post())
    assert current.status is S.QUEUED and current.check_first and current.pending_delivery is None
    placement = store.place_post(a_post(revision=2), REPLACEABLE)
    assert not placement.placed and placement.previous == current


def test_a_post_with_a_call_in_flight_is_not_replaced(store):
    current = held(store, S.HELD_THROTTLED, deliveries={"m-1": "wamid.1"}, pending_delivery="m-2")
    assert current.pending_delivery == "m-2" and not current.check_first
    placement = store.place_post(a_post(revision=2), REPLACEABLE)
    assert not placement.placed and placement.previous == current


def test_placing_clears_claim_reason_and_silence_clearance_but_remembers_a_silence(store):
    held(store, S.HELD_SILENCE, held_by_silence=True)
    assert store.move_post(KIT, "wa-sahada", expected=[S.HELD_SILENCE], status=S.HELD_SILENCE, now=NOW,
                           wake_at=LATER, fields={"silence_cleared": True})
    assert reload(store, a_post()).silence_cleared
    store.place_post(a_post(revision=2), REPLACEABLE)
    after = reload(store, a_post())
    assert (after.reason, after.silence_cleared, after.held_by_silence, after.claim) == (None, False, True, None)


def test_placing_without_a_wake_time_takes_the_post_off_the_clock(store):
    placed(store)
    assert store.place_post(a_post(revision=2, status=S.PENDING_APPROVAL, wake_at=None), REPLACEABLE).placed
    assert reload(store, a_post()).wake_at is None
    assert store.wake_due(LATER, 10) == []


def test_placing_only_over_the_statuses_named(store):
    placed(store)
    assert not store.place_post(a_post(revision=2), [S.PENDING_APPROVAL]).placed
    assert store.place_post(a_post(revision=2), [S.SCHEDULED]).placed


def test_placing_in_a_status_no_upload_may_set_is_refused_before_any_write(store):
    with pytest.raises(IllegalMove):
        store.place_post(a_post(status=S.QUEUED), REPLACEABLE)
    assert store.post(KIT, "wa-sahada") is None


def test_placing_with_no_replaceable_status_fails_loudly(store):
    with pytest.raises(PersistenceError):
        store.place_post(a_post(), [])


# ---- moving posts -----------------------------------------------------------------------------------
def test_a_move_from_the_expected_status_sets_its_fields_and_wake_time(store):
    placed(store)
    assert store.move_post(KIT, "wa-sahada", expected=[S.SCHEDULED, S.PAUSED], status=S.QUEUED,
                           now=LATER, wake_at=LATER + REQUEUE_AFTER, fields={"queued_at": to_iso(LATER)})
    assert reload(store, a_post()) == replace(a_post(), status=S.QUEUED, wake_at=LATER + REQUEUE_AFTER)
    assert store.wake_due(LATER + REQUEUE_AFTER, 10) == [(KIT, "wa-sahada", S.QUEUED, to_iso(LATER + REQUEUE_AFTER))]


def test_a_move_from_another_status_or_of_a_missing_post_changes_nothing(store):
    post = placed(store)
    assert not store.move_post(KIT, "wa-sahada", expected=[S.PENDING_APPROVAL], status=S.SCHEDULED, now=NOW,
                               wake_at=LATER, fields={"reason": "approved"})
    assert reload(store, post) == post
    assert not store.move_post(KIT, "nobody", expected=[S.SCHEDULED], status=S.QUEUED, now=NOW, wake_at=NOW)
    assert store.post(KIT, "nobody") is None


def test_a_move_under_a_claim_needs_that_claim(store):
    claimed(store, "claim-1")
    assert not store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-2", status=S.FAILED,
                               now=NOW, fields={"claim": None, "reason": "x"})
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.QUEUED, now=NOW,
                           wake_at=LATER, fields={"claim": None, "reason": "retry"})
    after = reload(store, a_post())
    assert (after.status, after.claim, after.reason, after.wake_at) == (S.QUEUED, None, "retry", LATER)


def test_a_claimed_move_fails_once_the_claim_is_gone(store):
    claimed(store, "claim-1")
    # The clock found the claim expired and took the post: the worker's own move must now fail.
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS,
                           now=NOW, fields={"claim": None, "check_first": True, "reason": "abandoned"})
    assert store.move_post(KIT, "wa-sahada", expected=[S.AMBIGUOUS], status=S.QUEUED, now=NOW, wake_at=NOW)
    assert not store.move_post(KIT, "wa-sahada", expected=[S.QUEUED], claim="claim-1", status=S.QUEUED, now=NOW,
                               wake_at=NOW)


def test_two_clock_runs_acting_on_one_wake_time_move_the_post_once(store):
    post = queued(store)
    read_wake = to_iso(post.wake_at)
    first = store.move_post(KIT, "wa-sahada", expected=[S.QUEUED], status=S.QUEUED, now=LATER,
                            wake_at=LATER + REQUEUE_AFTER, expected_wake_at=read_wake)
    second = store.move_post(KIT, "wa-sahada", expected=[S.QUEUED], status=S.QUEUED, now=LATER,
                             wake_at=LATER + REQUEUE_AFTER, expected_wake_at=read_wake)
    assert (first, second) == (True, False)


def test_a_wake_time_condition_fails_on_a_post_off_the_clock(store):
    placed(store, status=S.PENDING_APPROVAL, wake_at=None)
    assert not store.move_post(KIT, "wa-sahada", expected=[S.PENDING_APPROVAL], status=S.EXPIRED, now=NOW,
                               fields={"reason": "late"}, expected_wake_at=to_iso(NOW))


def test_an_approval_binds_to_the_post_revision_read(store):
    placed(store, status=S.PENDING_APPROVAL)
    store.place_post(a_post(status=S.PENDING_APPROVAL, revision=2, text="changed"), REPLACEABLE)
    assert not store.move_post(KIT, "wa-sahada", expected=[S.PENDING_APPROVAL], status=S.SCHEDULED, now=NOW,
                               wake_at=NOW, fields={"reason": "ok"}, expected_revision=1)
    assert store.move_post(KIT, "wa-sahada", expected=[S.PENDING_APPROVAL], status=S.SCHEDULED, now=NOW,
                           wake_at=NOW, fields={"reason": "ok"}, expected_revision=2)


def test_a_field_set_to_none_is_removed_and_no_wake_time_takes_the_post_off_the_clock(store):
    in_doubt(store, pending="m-2")
    assert store.move_post(KIT, "wa-sahada", expected=[S.AMBIGUOUS], status=S.QUEUED, now=NOW, wake_at=NOW)
    claimed_again = store.claim_post(KIT, "wa-sahada", "claim-2", NOW, LATER, 1)
    assert claimed_again
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-2", status=S.FAILED, now=NOW,
                           fields={"claim": None, "pending_delivery": None, "reason": "gave up"})
    after = reload(store, a_post())
    assert (after.claim, after.pending_delivery, after.wake_at, after.reason) == (None, None, None, "gave up")
    assert store.next_wake_at() is None


def test_a_move_the_state_machine_does_not_know_is_refused_before_any_write(store):
    post = placed(store)
    with pytest.raises(IllegalMove):
        store.move_post(KIT, "wa-sahada", expected=[S.SCHEDULED], status=S.PUBLISHED, now=NOW)
    with pytest.raises(IllegalMove):  # a field that move may not set
        store.move_post(KIT, "wa-sahada", expected=[S.SCHEDULED], status=S.QUEUED, now=NOW, fields={"revision": 9})
    assert reload(store, post) == post


def test_wake_now_brings_a_paused_post_due_at_once(store):
    held(store, S.PAUSED, until=LATER)
    assert store.wake_due(NOW, 10) == []
    assert store.wake_now(KIT, "wa-sahada", S.PAUSED, NOW)
    assert store.wake_due(NOW, 10) == [(KIT, "wa-sahada", S.PAUSED, to_iso(NOW))]
    assert not store.wake_now(KIT, "wa-sahada", S.QUEUED, NOW)


# ---- claiming ---------------------------------------------------------------------------------------
def test_a_queued_post_is_claimed_once(store):
    post = queued(store)
    assert store.claim_post(KIT, "wa-sahada", "claim-1", NOW, NOW + CLAIM_TIMEOUT, post.revision)
    assert not store.claim_post(KIT, "wa-sahada", "claim-2", NOW, NOW + CLAIM_TIMEOUT, post.revision)
    after = reload(store, post)
    assert (after.status, after.claim, after.claimed_at, after.attempts, after.wake_at) == (
        S.PUBLISHING, "claim-1", NOW, 1, NOW + CLAIM_TIMEOUT)


def test_each_claim_counts_an_attempt(store):
    post = claimed(store, "claim-1")
    store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.QUEUED, now=NOW,
                    wake_at=NOW, fields={"claim": None, "reason": "retry"})
    assert store.claim_post(KIT, "wa-sahada", "claim-2", LATER, LATER + CLAIM_TIMEOUT, post.revision)
    assert (reload(store, post).attempts, reload(store, post).claimed_at) == (2, LATER)


def test_a_claim_for_a_revision_a_re_upload_replaced_is_refused(store):
    read = queued(store)
    assert store.place_post(a_post(revision=2, status=S.SCHEDULED), REPLACEABLE).placed
    store.move_post(KIT, "wa-sahada", expected=[S.SCHEDULED], status=S.QUEUED, now=NOW, wake_at=LATER)
    assert not store.claim_post(KIT, "wa-sahada", "claim-1", NOW, LATER, read.revision)
    assert store.claim_post(KIT, "wa-sahada", "claim-1", NOW, LATER, 2)


def test_a_post_in_doubt_is_replaced_only_by_an_upload_that_carries_the_wording_in_doubt(store):
    """After an error answer the post is queued with check_first: a re-upload may replace it only if it carries the
    revision it read (and its wording, for the look-up) — never blindly, never over a newer revision."""
    claimed(store, "claim-1")
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.QUEUED, now=NOW,
                           wake_at=LATER, fields={"claim": None, "check_first": True, "reason": "5xx"})
    blind = a_post(revision=2, text="नया पाठ")
    assert not store.place_post(blind, REPLACEABLE).placed
    wrong = replace(blind, doubts=[{"revision": 7, "payload": {"text": "?"}}])
    assert not store.place_post(wrong, REPLACEABLE).placed
    carried = replace(blind, doubts=[{"revision": 1, "payload": a_post().payload}])
    assert store.place_post(carried, REPLACEABLE).placed
    after = reload(store, carried)
    assert (after.revision, after.check_first, after.doubts) == (2, True, carried.doubts)


def test_a_claim_after_an_error_answer_counts_the_attempt_and_still_looks_first(store):
    first = claimed(store, "claim-1")
    assert (first.attempts, first.claimed_at) == (1, NOW)
    assert store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.QUEUED, now=NOW,
                           wake_at=LATER, fields={"claim": None, "check_first": True, "reason": "5xx"})
    second = store.claim_post(KIT, "wa-sahada", "claim-2", LATER, LATER + CLAIM_TIMEOUT, 1)
    assert second is not None and second.check_first
    assert (second.attempts, second.claimed_at) == (2, LATER)


def test_a_post_that_is_not_queued_cannot_be_claimed(store):
    placed(store)
    assert not store.claim_post(KIT, "wa-sahada", "claim-1", NOW, LATER, 1)
    assert not store.claim_post("nobody", "wa-sahada", "claim-1", NOW, LATER, 1)


# ---- deliveries ---------------------------------------------------------------------------------------
def test_a_delivery_is_named_before_the_call_and_recorded_after_it(store):
    claimed(store, "claim-1")
    assert store.begin_delivery(KIT, "wa-sahada", "m-1", "claim-1")
    assert reload(store, a_post()).pending_delivery == "m-1"
    assert store.record_delivery(KIT, "wa-sahada", "m-1", "wamid.1", "claim-1", 1)
    assert store.record_delivery(KIT, "wa-sahada", "part-1.x", "1234", "claim-1", 1)
    after = reload(store, a_post())
    assert (after.pending_delivery, after.deliveries, after.delivery_revisions) == (
        None, {"m-1": "wamid.1", "part-1.x": "1234"}, {"m-1": 1, "part-1.x": 1})


def test_a_worker_that_lost_its_claim_can_neither_name_nor_record_a_delivery(store):
    claimed(store, "claim-1")
    store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS, now=NOW,
                    fields={"claim": None, "check_first": True, "reason": "abandoned"})
    before = reload(store, a_post())
    assert not store.begin_delivery(KIT, "wa-sahada", "m-1", "claim-1")
    assert not store.record_delivery(KIT, "wa-sahada", "m-1", "wamid.1", "claim-1", 1)
    assert reload(store, a_post()) == before
    assert not store.begin_delivery("nobody", "wa-sahada", "m-1", "claim-1")


def test_the_webhook_settles_an_in_doubt_message_as_sent(store):
    in_doubt(store, pending="m-2", deliveries={"m-1": "wamid.1"})
    assert store.settle_pending_delivery(KIT, "wa-sahada", "m-2", "wamid.2", LATER)
    after = reload(store, a_post())
    assert (after.status, after.wake_at, after.pending_delivery, after.check_first, after.claim) == (
        S.QUEUED, LATER, None, False, None)
    assert after.deliveries == {"m-1": "wamid.1", "m-2": "wamid.2"}
    assert after.delivery_revisions == {"m-1": 1, "m-2": 1}
    assert after.reason == "settled by the platform's status webhook"
    assert after.ambiguous_since == NOW  # kept: the look-back still starts at the call in doubt
    assert store.wake_due(LATER, 10) == [(KIT, "wa-sahada", S.QUEUED, to_iso(LATER))]


def test_the_webhook_settles_an_in_doubt_message_as_not_sent(store):
    in_doubt(store, pending="m-2", deliveries={"m-1": "wamid.1"})
    assert store.settle_pending_delivery(KIT, "wa-sahada", "m-2", None, LATER, reason="state-01: m-2 did not go out")
    after = reload(store, a_post())
    assert (after.status, after.deliveries, after.pending_delivery, after.check_first, after.reason) == (
        S.QUEUED, {"m-1": "wamid.1"}, None, False, "state-01: m-2 did not go out")


def test_settling_needs_the_post_in_doubt_about_exactly_that_message(store):
    assert not store.settle_pending_delivery(KIT, "wa-sahada", "m-2", "wamid.2", NOW)  # no post
    claimed(store)
    store.begin_delivery(KIT, "wa-sahada", "m-2", "claim-1")
    assert not store.settle_pending_delivery(KIT, "wa-sahada", "m-2", "wamid.2", NOW)  # publishing, not in doubt
    store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS, now=NOW,
                    fields={"claim": None, "check_first": True, "reason": "timeout"})
    assert not store.settle_pending_delivery(KIT, "wa-sahada", "m-3", "wamid.3", NOW)  # another message
    assert store.settle_pending_delivery(KIT, "wa-sahada", "m-2", "wamid.2", NOW)
    assert not store.settle_pending_delivery(KIT, "wa-sahada", "m-2", "wamid.2", NOW)  # settled already


def test_a_status_for_the_message_in_flight_is_recorded_at_once(store):
    claimed(store, "claim-1")
    store.begin_delivery(KIT, "wa-sahada", "m-1", "claim-1")
    assert not store.record_in_flight_delivery(KIT, "wa-sahada", "m-9", "wamid.9")
    assert store.record_in_flight_delivery(KIT, "wa-sahada", "m-1", "wamid.1")
    after = reload(store, a_post())
    assert (after.status, after.pending_delivery, after.deliveries, after.delivery_revisions, after.claim) == (
        S.PUBLISHING, None, {"m-1": "wamid.1"}, {"m-1": 1}, "claim-1")
    assert not store.record_in_flight_delivery(KIT, "wa-sahada", "m-1", "wamid.1")  # nothing pending now
    # ...and the worker, alive after all, records the same id under its claim.
    assert store.record_delivery(KIT, "wa-sahada", "m-1", "wamid.1", "claim-1", 1)


def test_an_in_flight_status_is_not_recorded_on_a_post_in_doubt(store):
    in_doubt(store, pending="m-2")
    assert not store.record_in_flight_delivery(KIT, "wa-sahada", "m-2", "wamid.2")
    assert not store.record_in_flight_delivery("nobody", "wa-sahada", "m-2", "wamid.2")


def test_a_failed_message_of_a_published_post_is_sent_again(store):
    published(store, {"m-1": "wamid.1", "m-2": "wamid.2"})
    outcome = store.reopen_delivery(KIT, "wa-sahada", "m-2", "wamid.2", LATER, "131000: try again", REPLACEABLE)
    after = reload(store, a_post())
    assert outcome == "reopened"
    assert (after.status, after.wake_at, after.reason) == (S.QUEUED, LATER, "131000: try again")
    # the revision it carried stays until the new send overwrites it (REMOVE of a path in a map some older items
    # lack is an error in DynamoDB)
    assert (after.deliveries, after.delivery_revisions) == ({"m-1": "wamid.1"}, {"m-1": 1, "m-2": 1})
    assert after.platform_post_id == "wamid.1"  # what the first send published stays on record


def test_a_failed_message_of_a_waiting_post_is_forgotten_without_moving_it(store):
    before = held(store, S.HELD_THROTTLED, deliveries={"m-1": "wamid.1", "m-2": "wamid.2"})
    outcome = store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.1", LATER, "again", REPLACEABLE)
    assert outcome == "reopened"
    assert reload(store, before) == replace(before, deliveries={"m-2": "wamid.2"})


def test_a_failed_message_of_a_post_being_published_is_busy(store):
    delivered(store, {"m-1": "wamid.1"})
    assert store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.1", NOW, "again", REPLACEABLE) == "busy"
    store.begin_delivery(KIT, "wa-sahada", "m-2", "claim-1")
    assert store.reopen_delivery(KIT, "wa-sahada", "m-2", "wamid.2", NOW, "again", REPLACEABLE) == "busy"
    assert reload(store, a_post()).deliveries == {"m-1": "wamid.1"}


def test_a_failed_message_the_post_does_not_count_as_sent_is_gone(store):
    assert store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.1", NOW, "again", REPLACEABLE) == "gone"
    before = published(store, {"m-1": "wamid.1"})
    assert store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.other", NOW, "again", REPLACEABLE) == "gone"
    assert store.reopen_delivery(KIT, "wa-sahada", "m-9", "wamid.9", NOW, "again", REPLACEABLE) == "gone"
    assert reload(store, before) == before


def test_a_waiting_post_is_reopened_only_in_the_statuses_named(store):
    before = held(store, S.HELD_ACCOUNT, deliveries={"m-1": "wamid.1"})
    assert store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.1", NOW, "again", [S.PAUSED]) == "gone"
    assert reload(store, before) == before


def test_reopening_a_waiting_post_with_no_waiting_status_fails_loudly(store):
    held(store, S.HELD_ACCOUNT, deliveries={"m-1": "wamid.1"})
    with pytest.raises(PersistenceError):
        store.reopen_delivery(KIT, "wa-sahada", "m-1", "wamid.1", NOW, "again", [])


def test_message_statuses_only_move_forward(store):
    ranks = [("sent", 1), ("sent", 1), ("delivered", 2), ("sent", 1), ("read", 3), ("failed", 9), ("read", 3)]
    outcomes = [store.note_message_status("wamid.1", status, rank, "ref", NOW) for status, rank in ranks]
    assert outcomes == [True, False, True, False, True, True, False]
    assert store.note_message_status("wamid.2", "read", 3, None, NOW)


# ---- the publishing clock's index -------------------------------------------------------------------
def test_wake_due_lists_due_posts_soonest_first_up_to_the_limit(store):
    for minutes, account in [(30, "a-late"), (10, "b-early"), (20, "c-middle"), (90, "d-future")]:
        placed(store, account_id=account, wake_at=NOW + timedelta(minutes=minutes))
    placed(store, account_id="e-unscheduled", status=S.PENDING_APPROVAL, wake_at=None)
    due = store.wake_due(NOW + timedelta(minutes=30), 10)
    assert due == [(KIT, "b-early", S.SCHEDULED, to_iso(NOW + timedelta(minutes=10))),
                   (KIT, "c-middle", S.SCHEDULED, to_iso(NOW + timedelta(minutes=20))),
                   (KIT, "a-late", S.SCHEDULED, to_iso(NOW + timedelta(minutes=30)))]
    assert store.wake_due(NOW + timedelta(minutes=30), 2) == due[:2]
    assert store.wake_due(NOW, 10) == []


def test_next_wake_at_is_the_soonest_wake_time_even_in_the_future(store):
    assert store.next_wake_at() is None
    placed(store, account_id="a", wake_at=LATER)
    placed(store, account_id="b", wake_at=NOW + timedelta(days=2))
    assert store.next_wake_at() == LATER


def test_the_oldest_post_on_its_way_is_the_one_due_first_whatever_its_wake_time(store):
    assert store.oldest_due_on_its_way(LATER) is None
    placed(store, account_id="a-future", due_at=LATER + timedelta(minutes=5), wake_at=LATER + timedelta(minutes=5))
    assert store.oldest_due_on_its_way(LATER) is None, "not due yet"
    post = queued(store, account_id="b-queued", due_at=NOW)
    assert store.oldest_due_on_its_way(NOW) is None, "due this very moment is not late"
    # The clock re-queues it (its message seems lost): the wake time moves on, the due time does not.
    assert store.move_post(KIT, post.account_id, expected=[S.QUEUED], status=S.QUEUED, now=LATER,
                           wake_at=LATER + REQUEUE_AFTER, expected_wake_at=to_iso(NOW + REQUEUE_AFTER))
    placed(store, account_id="c-later", due_at=NOW + timedelta(minutes=30), wake_at=NOW + timedelta(minutes=30))
    assert store.oldest_due_on_its_way(LATER) == NOW
    assert store.claim_post(KIT, post.account_id, "claim-1", LATER, LATER + CLAIM_TIMEOUT, post.revision)
    assert store.oldest_due_on_its_way(LATER) == NOW, "publishing is still on its way"
    assert store.move_post(KIT, post.account_id, expected=[S.PUBLISHING], claim="claim-1", status=S.PUBLISHED,
                           now=LATER, fields={"claim": None, "published_at": to_iso(LATER)})
    assert store.oldest_due_on_its_way(LATER) == NOW + timedelta(minutes=30)


@pytest.mark.parametrize("held", [S.HELD_THROTTLED, S.HELD_ACCOUNT, S.HELD_SILENCE, S.PAUSED])
def test_a_post_held_on_purpose_is_not_on_its_way_until_it_is_queued_again(store, held):
    post = claimed(store, account_id="held")
    assert store.move_post(KIT, "held", expected=[S.PUBLISHING], claim="claim-1", status=held, now=NOW,
                           wake_at=LATER, fields={"claim": None, "reason": "waits", "held": str(held)})
    assert store.oldest_due_on_its_way(LATER) is None
    assert store.move_post(KIT, "held", expected=[held], status=S.QUEUED, now=LATER, wake_at=LATER + REQUEUE_AFTER)
    assert store.oldest_due_on_its_way(LATER) == post.due_at
    # The clock passes over the posts it has just queued out of a hold (the publisher re-holds them if it stands).
    assert store.oldest_due_on_its_way(LATER, excluding=[(KIT, "held")]) is None


def test_passing_over_posts_finds_the_oldest_of_the_rest(store):
    for minutes, account in [(0, "a"), (5, "b"), (10, "c")]:
        placed(store, account_id=account, due_at=NOW + timedelta(minutes=minutes),
               wake_at=NOW + timedelta(minutes=minutes))
    assert store.oldest_due_on_its_way(LATER, excluding=[(KIT, "a"), (KIT, "b")]) == NOW + timedelta(minutes=10)
    assert store.oldest_due_on_its_way(LATER, excluding=[(KIT, "b")]) == NOW
    assert store.oldest_due_on_its_way(LATER, excluding=[(KIT, "a"), (KIT, "b"), (KIT, "c")]) is None


def test_a_doubt_nothing_will_wake_is_not_on_its_way_until_it_is_settled(store):
    post = claimed(store, account_id="escalated")
    assert store.begin_delivery(KIT, "escalated", "m1", "claim-1")
    assert store.move_post(KIT, "escalated", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS, now=NOW,
                           wake_at=LATER, fields={"claim": None, "reason": "timed out"})
    assert store.oldest_due_on_its_way(LATER) == NOW
    # Escalated: no status came, a coordinator is alerted and decides; nothing wakes it any more.
    assert store.move_post(KIT, "escalated", expected=[S.AMBIGUOUS], status=S.AMBIGUOUS, now=LATER,
                           fields={"reason": "a coordinator was alerted"})
    assert store.oldest_due_on_its_way(LATER) is None
    assert store.settle_pending_delivery(KIT, "escalated", "m1", None, LATER, "a coordinator: it did not go out")
    assert store.oldest_due_on_its_way(LATER) == post.due_at


def test_waiting_for_a_sign_off_is_not_on_its_way_and_a_re_upload_that_needs_one_takes_a_post_off(store):
    placed(store, account_id="signed", status=S.PENDING_APPROVAL, wake_at=LATER)
    assert store.oldest_due_on_its_way(LATER) is None
    placed(store, account_id="resent")
    assert store.oldest_due_on_its_way(LATER) == NOW
    assert store.place_post(a_post(account_id="resent", revision=2, status=S.PENDING_APPROVAL, wake_at=LATER),
                            REPLACEABLE).placed
    assert store.oldest_due_on_its_way(LATER) is None


def test_a_settled_doubt_and_a_reopened_delivery_are_on_their_way_again(store):
    post = claimed(store, account_id="doubt")
    assert store.begin_delivery(KIT, "doubt", "m1", "claim-1")
    assert store.move_post(KIT, "doubt", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS, now=NOW,
                           wake_at=LATER, fields={"claim": None, "reason": "timed out"})
    assert store.oldest_due_on_its_way(LATER) == NOW, "in doubt: not known to be out"
    assert store.settle_pending_delivery(KIT, "doubt", "m1", "wamid.1", LATER)
    assert store.oldest_due_on_its_way(LATER) == post.due_at
    sent = published(store, {"m1": "wamid.2"}, account_id="reopened", due_at=NOW - timedelta(minutes=5))
    assert store.oldest_due_on_its_way(LATER) == NOW
    assert store.reopen_delivery(KIT, sent.account_id, "m1", "wamid.2", LATER, "re-engagement", REPLACEABLE) \
        == "reopened"
    assert store.oldest_due_on_its_way(LATER) == NOW - timedelta(minutes=5)


def test_posts_in_scope_are_that_scope_by_due_time(store):
    placed(store, account_id="late", due_at=LATER)
    placed(store, account_id="early", due_at=NOW, content_id="c-z")
    placed(store, account_id="child", scope=SCOPE + "/booth-1")
    placed(store, account_id="sibling", scope=SCOPE + "-east")
    assert [(p.content_id, p.account_id) for p in store.posts_in_scope(SCOPE)] == [("c-z", "early"), (KIT, "late")]
    assert list(store.posts_in_scope("constituency/nobody")) == []


# ---- the kill switch, polls, series and calendars ---------------------------------------------------------
def test_a_pause_holds_until_resumed(store):
    assert store.pauses() == {}
    assert store.pause("district/bhilwara", "m-coord", "review", NOW)
    assert not store.pause("district/bhilwara", "m-lead", "mine now", LATER), "a pause is replaced only on purpose"
    assert store.pause("district/bhilwara", "m-state", "review again", LATER, replacing="m-coord")
    assert store.pause("state", "m-state", "halt", NOW)
    assert store.pauses() == {
        "district/bhilwara": {"pk": "PAUSE", "sk": "district/bhilwara", "by": "m-state", "reason": "review again",
                              "since": to_iso(LATER)},
        "state": {"pk": "PAUSE", "sk": "state", "by": "m-state", "reason": "halt", "since": to_iso(NOW)}}
    assert not store.resume("state", paused_by="m-lead"), "only the pause that was checked is lifted"
    assert store.resume("state", paused_by="m-state")
    assert not store.resume("state")
    assert list(store.pauses()) == ["district/bhilwara"]
    assert store.resume("district/bhilwara")


def test_a_closed_poll_stays_closed(store):
    assert not store.poll_closed("sahada")
    store.mark_poll_closed("sahada", NOW)
    store.mark_poll_closed("sahada", LATER)
    assert store.poll_closed("sahada") and not store.poll_closed("rajsamand")


def test_a_series_first_slot_is_taken_once(store):
    assert store.series_cursor(SCOPE, "daily") is None
    assert store.take_series_slot(SCOPE, "daily", None, NOW)
    assert not store.take_series_slot(SCOPE, "daily", None, LATER)
    assert store.series_cursor(SCOPE, "daily") == NOW


def test_a_series_slot_moves_only_from_the_cursor_read(store):
    store.take_series_slot(SCOPE, "daily", None, NOW)
    assert store.take_series_slot(SCOPE, "daily", NOW, LATER)
    assert not store.take_series_slot(SCOPE, "daily", NOW, LATER + timedelta(days=1))  # a racing upload's read
    assert not store.take_series_slot(SCOPE, "weekly", NOW, LATER)  # no cursor yet
    assert store.take_series_slot("district/bhilwara", "daily", None, LATER)  # each scope its own cursor
    assert store.series_cursor(SCOPE, "daily") == LATER


def test_calendar_rows_are_remembered_per_file(store):
    assert store.calendar_rows("calendars/march.csv") == []
    store.remember_calendar_rows("calendars/march.csv", ["c1", "c2"])
    store.remember_calendar_rows("calendars/april.csv", ["c9"])
    store.remember_calendar_rows("calendars/march.csv", ["c2", "c3"])
    assert store.calendar_rows("calendars/march.csv") == ["c2", "c3"]
    store.remember_calendar_rows("calendars/april.csv", [])
    assert store.calendar_rows("calendars/april.csv") == []


# ---- account state ----------------------------------------------------------------------------------
def test_an_account_never_seen_is_healthy(store):
    state = store.account_state("fb-sahada")
    assert (state.account_id, state.health, state.until, state.reason, state.checked_at) == (
        "fb-sahada", Health.HEALTHY, None, None, None)


def test_a_throttle_is_extended_but_never_shortened(store):
    assert store.throttle_account("fb-sahada", LATER, "limit", NOW)
    assert not store.throttle_account("fb-sahada", LATER, "same", NOW)
    assert not store.throttle_account("fb-sahada", NOW + timedelta(minutes=5), "shorter", NOW)
    assert store.throttle_account("fb-sahada", LATER + timedelta(hours=1), "longer", NOW)
    state = store.account_state("fb-sahada")
    assert (state.health, state.until, state.reason) == (Health.THROTTLED, LATER + timedelta(hours=1), "longer")


def test_a_throttle_never_hides_an_account_that_needs_a_person(store):
    assert store.mark_account_unhealthy("fb-sahada", "token expired", NOW)
    assert not store.throttle_account("fb-sahada", LATER, "limit", NOW)
    state = store.account_state("fb-sahada")
    assert (state.health, state.until, state.reason) == (Health.UNHEALTHY, None, "token expired")


def test_an_account_is_found_unhealthy_once_and_its_throttle_is_dropped(store):
    store.throttle_account("fb-sahada", LATER, "limit", NOW)
    assert store.mark_account_unhealthy("fb-sahada", "token expired", NOW)
    assert not store.mark_account_unhealthy("fb-sahada", "still expired", NOW)
    state = store.account_state("fb-sahada")
    assert (state.health, state.until, state.reason) == (Health.UNHEALTHY, None, "token expired")


def test_a_recipient_slot_is_taken_once_per_spacing_per_account(store):
    spacing = timedelta(seconds=7)
    assert store.reserve_recipient("wa-state", "r1", NOW, spacing)
    assert not store.reserve_recipient("wa-state", "r1", NOW + timedelta(seconds=6), spacing), "still taken"
    assert store.reserve_recipient("wa-sahada", "r1", NOW, spacing), "another number has its own slots"
    assert store.reserve_recipient("wa-state", "r2", NOW, spacing), "and another recipient"
    assert store.reserve_recipient("wa-state", "r1", NOW + spacing, spacing), "free again when the spacing is over"


def test_a_slot_given_back_is_free_at_once_but_never_one_taken_since(store):
    spacing = timedelta(seconds=7)
    assert store.reserve_recipient("wa-state", "r1", NOW, spacing)
    assert store.free_recipient("wa-state", "r1", NOW, spacing)
    assert store.reserve_recipient("wa-state", "r1", NOW + timedelta(seconds=1), spacing), "given back"
    assert not store.free_recipient("wa-state", "r1", NOW, spacing), "the slot is another message's now"
    assert not store.reserve_recipient("wa-state", "r1", NOW + timedelta(seconds=2), spacing)
    assert not store.free_recipient("wa-state", "r9", NOW, spacing)


def test_a_good_check_reports_the_recovery_once(store):
    store.mark_account_unhealthy("fb-sahada", "token expired", NOW)
    assert store.mark_account_healthy("fb-sahada", LATER)
    assert not store.mark_account_healthy("fb-sahada", LATER)
    state = store.account_state("fb-sahada")
    assert (state.health, state.until, state.reason, state.checked_at) == (Health.HEALTHY, None, None, LATER)
    assert not store.mark_account_healthy("x-sahada", NOW)  # never seen: healthy before, nothing to report
    assert store.account_state("x-sahada").checked_at == NOW
    assert store.throttle_account("fb-sahada", LATER, "limit", NOW)  # a healthy account can be throttled


def test_a_good_check_does_not_lift_a_running_throttle(store):
    store.throttle_account("fb-sahada", LATER, "limit", NOW)
    assert not store.mark_account_healthy("fb-sahada", NOW)
    state = store.account_state("fb-sahada")
    assert (state.health, state.until, state.reason, state.checked_at) == (Health.THROTTLED, LATER, "limit", NOW)
    assert not store.mark_account_healthy("fb-sahada", LATER)  # the throttle ran out: healthy, no recovery alert
    assert store.account_state("fb-sahada").health is Health.HEALTHY


# ---- activity ------------------------------------------------------------------------------------
def entry(kind: str = "post.published", scope: str = SCOPE, at: datetime = NOW, **fields) -> ActivityEntry:
    return ActivityEntry(at=at, kind=kind, scope=scope, message=f"{kind} — सहाड़ा", **fields)


def test_an_activity_entry_reads_back_as_written_with_its_id(store):
    full = entry(level="warning", content_id=KIT, account_id="wa-sahada", key="content/k.yaml",
                 details={"revision": 2, "unreachable": {"m-1": "outside window"}})
    written = store.add_activity(full)
    assert written == replace(full, entry_id=written.entry_id)
    assert written.entry_id.startswith(to_iso(NOW) + "#")
    bare = store.add_activity(entry("config.activated", details={}))
    assert store.activity_on(date(2021, 3, 3), newest_first=False) == [written, replace(bare, details=None)]


def test_activity_is_listed_newest_or_oldest_first_in_the_order_written(store):
    written = [store.add_activity(entry(f"kind.{i}", at=NOW + timedelta(minutes=i % 2))) for i in range(6)]
    in_order = sorted(written, key=lambda e: (e.at, written.index(e)))
    assert [e.entry_id for e in store.activity_on(date(2021, 3, 3), newest_first=False)] == [
        e.entry_id for e in in_order]
    assert store.activity_on(date(2021, 3, 3)) == in_order[::-1]
    assert [e.entry_id for e in in_order] == sorted(e.entry_id for e in written)


def test_activity_is_paged_after_the_last_id_seen(store):
    written = [store.add_activity(entry(f"kind.{i}")) for i in range(5)]
    first_page = store.activity_on(date(2021, 3, 3), newest_first=False, limit=2)
    assert first_page == written[:2]
    rest = store.activity_on(date(2021, 3, 3), newest_first=False, after=first_page[-1].entry_id)
    assert rest == written[2:]
    assert store.activity_on(date(2021, 3, 3), after=written[2].entry_id) == written[:2:-1]
    assert store.activity_on(date(2021, 3, 3), after=written[-1].entry_id) == []


def test_activity_is_filed_under_its_day_in_india(store):
    late_evening_utc = datetime(2021, 3, 2, 20, 0, tzinfo=UTC)  # 01:30 IST on 3 March
    written = store.add_activity(entry(at=late_evening_utc))
    store.add_activity(entry(at=datetime(2021, 3, 2, 18, 0, tzinfo=UTC)))  # 23:30 IST on 2 March
    assert store.activity_on(date(2021, 3, 3)) == [written]
    assert len(store.activity_on(date(2021, 3, 2))) == 1
    assert store.activity_on(date(2021, 3, 4)) == []


def test_activity_of_a_scope_includes_its_children_only(store):
    for scope in ["state", "district/bhilwara", "district/bhilwara/sahada", "district/bhilwara-east",
                  "district/bhilwara/sahada/booth"]:
        store.add_activity(entry(scope=scope))
    def scopes(prefix: str) -> list[str]:
        return [e.scope for e in store.activity_on(date(2021, 3, 3), scope_prefix=prefix, newest_first=False)]

    assert scopes("district/bhilwara") == ["district/bhilwara", "district/bhilwara/sahada",
                                           "district/bhilwara/sahada/booth"]
    assert scopes("district/bhilwara/") == ["district/bhilwara/sahada", "district/bhilwara/sahada/booth"]
    assert len(store.activity_on(date(2021, 3, 3), scope_prefix="")) == 5  # no prefix: everything


def test_the_limit_counts_entries_after_the_scope_filter(store):
    for i in range(6):
        store.add_activity(entry(kind=f"k.{i}", scope="state" if i % 2 else SCOPE))
    listed = store.activity_on(date(2021, 3, 3), scope_prefix=SCOPE, limit=2, newest_first=False)
    assert [e.kind for e in listed] == ["k.0", "k.2"]


# ---- what callers get back is theirs -------------------------------------------------------------------
def test_what_a_read_returns_is_a_copy(store):
    published(store, {"m-1": "wamid.1"})
    store.pause("state", "m-state", "halt", NOW)
    store.remember_calendar_rows("calendars/march.csv", ["c1"])
    store.save_content(a_content(), None)
    post = reload(store, a_post())
    post.deliveries["m-9"] = "mutated"
    post.payload["text"] = "mutated"
    store.pauses()["state"]["by"] = "mutated"
    store.calendar_rows("calendars/march.csv").append("mutated")
    store.content(KIT).manifest["title"] = "mutated"
    assert reload(store, a_post()).deliveries == {"m-1": "wamid.1"}
    assert reload(store, a_post()).payload["text"] == a_post().payload["text"]
    assert store.pauses()["state"]["by"] == "m-state"
    assert store.calendar_rows("calendars/march.csv") == ["c1"]
    assert store.content(KIT) == a_content()


def test_engagement_is_recorded_on_a_published_post_only_and_a_new_count_replaces_the_last(store):
    post = published(store, {"m-1": "wamid.1"})
    assert store.record_metrics(post.content_id, post.account_id, {"delivered": 3, "read": 1}, NOW)
    assert store.record_metrics(post.content_id, post.account_id, {"delivered": 4, "read": 2}, LATER)
    again = reload(store, post)
    assert (again.metrics, again.metrics_at, again.status) == ({"delivered": 4, "read": 2}, LATER, S.PUBLISHED)
    waiting = placed(store, content_id="c-2")
    assert not store.record_metrics(waiting.content_id, waiting.account_id, {"read": 1}, NOW)
    assert reload(store, waiting).metrics == {}
    assert not store.record_metrics("missing", "fb-x", {"reactions": 1}, NOW)


def test_a_scopes_posts_can_be_read_from_a_due_time_on(store):
    early = placed(store, content_id="c-early", due_at=NOW)
    late = placed(store, content_id="c-late", due_at=LATER)
    assert [p.content_id for p in store.posts_in_scope(early.scope)] == ["c-early", "c-late"]
    assert [p.content_id for p in store.posts_in_scope(late.scope, due_from=LATER)] == ["c-late"]
    assert [p.content_id for p in store.posts_in_scope(late.scope, due_before=LATER)] == ["c-early"], "before"
    assert [p.content_id for p in store.posts_in_scope(late.scope, due_from=NOW, due_before=LATER)] == ["c-early"]


def test_a_message_status_moves_forward_once_and_tells_where_from(store):
    assert store.advance_message_status("wamid.R", "delivered", 2, None, NOW) == 0
    assert store.advance_message_status("wamid.R", "delivered", 2, None, NOW) is None, "a repeat"
    assert store.advance_message_status("wamid.R", "sent", 1, None, NOW) is None, "a late sent"
    assert store.advance_message_status("wamid.R", "read", 3, None, NOW) == 2
    assert store.message_status("wamid.R") == "read"


def test_a_whatsapp_posts_reach_counts_each_member_once_per_stage(store):
    post = published(store, {"m-1": "wamid.1"})
    assert store.count_reach(post.content_id, post.account_id, "m-1", 2) == ["sent", "delivered"]
    assert store.count_reach(post.content_id, post.account_id, "m-1", 1) == [], "a late sent"
    assert store.count_reach(post.content_id, post.account_id, "m-1", 4) == [], "a failure reaches no stage"
    assert store.count_reach(post.content_id, post.account_id, "m-2", 3) == ["sent", "delivered", "read"]
    assert store.count_reach(post.content_id, post.account_id, "m-1", 3) == ["read"]
    assert store.count_reach(post.content_id, post.account_id, "m-1", 3) == [], "a repeat"
    assert store.reach(post.content_id, post.account_id) == {"sent": 2, "delivered": 2, "read": 2}
    assert store.reach(post.content_id, "wa-other") == {}


def test_a_post_that_ends_is_found_by_when_it_ended_however_late_after_its_due_time(store):
    post = published(store, {"page": "p-1"}, due_at=NOW - timedelta(days=20))
    assert post.done_at == NOW
    found = list(store.posts_done_in_scope(SCOPE, done_from=NOW - timedelta(hours=1), done_before=NOW))
    assert [p.post_id for p in found] == [post.post_id]
    assert list(store.posts_done_in_scope(SCOPE, done_from=NOW + timedelta(seconds=1), done_before=LATER)) == []
    assert list(store.posts_done_in_scope("constituency/other", done_from=NOW - timedelta(days=1),
                                          done_before=LATER)) == []
    placed(store, content_id="c-waiting")
    assert len(list(store.posts_done_in_scope(SCOPE, done_from=NOW - timedelta(days=30), done_before=LATER))) == 1


def test_a_post_gone_from_the_platform_is_marked_once(store):
    post = published(store, {"page": "p-1"})
    assert store.mark_gone(post.content_id, post.account_id, LATER)
    assert not store.mark_gone(post.content_id, post.account_id, LATER)
    assert store.post(post.content_id, post.account_id).gone_at == LATER
    waiting = placed(store, content_id="c-waiting")
    assert not store.mark_gone(waiting.content_id, waiting.account_id, LATER), "only a published post"


# ---- the publisher's first read and last write ---------------------------------------------------------
def test_a_post_its_accounts_state_and_the_pauses_over_it_are_read_together(store):
    assert store.post_with_gates("nothing", "fb-sahada")[0] is None
    post = queued(store, content_id="c-fb", account_id="fb-sahada", platform="facebook")
    read, state, pauses = store.post_with_gates("c-fb", "fb-sahada", ["state", "district/bhilwara", SCOPE])
    assert read == post and state.health is Health.HEALTHY and pauses == {}
    assert store.throttle_account("fb-sahada", LATER, "rate limit", NOW)
    assert store.pause("district/bhilwara", "state-01", "review", NOW)
    assert store.pause("district/udaipur", "state-01", "elsewhere", NOW)
    read, state, pauses = store.post_with_gates("c-fb", "fb-sahada", ["state", "district/bhilwara", SCOPE])
    assert state.health is Health.THROTTLED and state.until == LATER and read == post
    assert list(pauses) == ["district/bhilwara"] and pauses["district/bhilwara"]["reason"] == "review"


def test_the_last_delivery_is_recorded_in_the_publishing_write_and_only_under_the_claim(store):
    post = claimed(store, content_id="c-fb", account_id="fb-sahada", platform="facebook")
    assert not store.move_post("c-fb", "fb-sahada", expected=[S.PUBLISHING], status=S.PUBLISHED, now=NOW,
                               claim="someone-else", fields={"claim": None}, delivery=("page", "fb-1", 1))
    assert store.post("c-fb", "fb-sahada").deliveries == {}, "a lost claim records nothing"
    assert store.move_post("c-fb", "fb-sahada", expected=[S.PUBLISHING], status=S.PUBLISHED, now=NOW,
                           claim="claim-1", fields={"claim": None, "platform_post_id": "fb-1"},
                           delivery=("page", "fb-1", post.revision))
    after = store.post("c-fb", "fb-sahada")
    assert after.status is S.PUBLISHED
    assert after.deliveries == {"page": "fb-1"} and after.delivery_revisions == {"page": post.revision}


# ---- fewer requests: one write for two, one read for many ----------------------------------------------
def test_the_member_before_is_recorded_in_the_write_that_names_the_next_call(store):
    claimed(store, "claim-1")
    assert store.begin_delivery(KIT, "wa-sahada", "m-1", "claim-1")
    assert store.record_and_begin_delivery(KIT, "wa-sahada", ("m-1", "wamid.1", 1), "m-2", "claim-1")
    after = reload(store, a_post())
    assert (after.pending_delivery, after.deliveries, after.delivery_revisions, after.claim) == (
        "m-2", {"m-1": "wamid.1"}, {"m-1": 1}, "claim-1")
    assert store.record_and_begin_delivery(KIT, "wa-sahada", ("m-2", "wamid.2", 1), "m-3", "claim-1")
    assert reload(store, a_post()).deliveries == {"m-1": "wamid.1", "m-2": "wamid.2"}


def test_a_worker_that_lost_its_claim_records_and_names_nothing_in_the_one_write(store):
    claimed(store, "claim-1")
    assert store.begin_delivery(KIT, "wa-sahada", "m-1", "claim-1")
    store.move_post(KIT, "wa-sahada", expected=[S.PUBLISHING], claim="claim-1", status=S.AMBIGUOUS, now=NOW,
                    fields={"claim": None, "check_first": True, "reason": "abandoned"})
    before = reload(store, a_post())
    assert not store.record_and_begin_delivery(KIT, "wa-sahada", ("m-1", "wamid.1", 1), "m-2", "claim-1")
    assert reload(store, before) == before
    assert not store.record_and_begin_delivery("nobody", "wa-sahada", ("m-1", "wamid.1", 1), "m-2", "claim-1")


def test_a_status_webhook_reads_the_message_its_post_and_the_reach_at_once(store):
    assert store.message_status_with_post("wamid.1", KIT, "wa-sahada") == (None, None, {})
    post = delivered(store, {"m-1": "wamid.1"})
    assert store.begin_delivery(KIT, "wa-sahada", "m-2", "claim-1")
    assert store.advance_message_status("wamid.1", "delivered", 2, f"{KIT}|wa-sahada|m-1", NOW) == 0
    assert store.count_reach(KIT, "wa-sahada", "m-1", 2) == ["sent", "delivered"]
    status, read, reach = store.message_status_with_post("wamid.1", KIT, "wa-sahada")
    assert (status, read) == ("delivered", reload(store, post))
    assert read.pending_delivery == "m-2"
    assert (reach["members"], reach["sent"], reach["delivered"]) == ({"m-1": 2}, 1, 1)
    assert store.message_status_with_post("wamid.2", KIT, "wa-sahada")[0] is None
    assert store.message_status_with_post("wamid.1", KIT, "wa-other")[1:] == (None, {})


def test_reach_counted_from_an_earlier_read_is_counted_as_from_a_fresh_one(store):
    post = published(store, {"m-1": "wamid.1", "m-2": "wamid.2"})
    nothing = store.message_status_with_post("wamid.1", post.content_id, post.account_id)[2]
    assert nothing == {}
    assert store.count_reach(post.content_id, post.account_id, "m-1", 1, read=nothing) == ["sent"]
    # Read before m-1's `sent` was counted: stale, so the write's condition fails and the item is read again.
    assert store.count_reach(post.content_id, post.account_id, "m-2", 2, read=nothing) == ["sent", "delivered"]
    stale = store.message_status_with_post("wamid.1", post.content_id, post.account_id)[2]
    assert store.count_reach(post.content_id, post.account_id, "m-1", 3, read=stale) == ["delivered", "read"]
    assert store.count_reach(post.content_id, post.account_id, "m-1", 2, read=stale) == [], "a late delivered"
    assert store.count_reach(post.content_id, post.account_id, "m-2", 2, read=stale) == [], "a repeat"
    assert store.count_reach(post.content_id, post.account_id, "m-2", 4, read=stale) == [], "a failure"
    assert store.reach(post.content_id, post.account_id) == {"sent": 2, "delivered": 2, "read": 1}


def test_many_posts_reach_is_read_in_batches(store):
    posts = [(f"c-{n:03d}", "wa-sahada") for n in range(105)]  # more than one BatchGetItem takes
    for n, (content_id, account_id) in enumerate(posts):
        if n % 2 == 0:
            assert store.count_reach(content_id, account_id, "m-1", 1 + n % 3)
    found = store.reaches([*posts, posts[0]])
    assert set(found) == {post for n, post in enumerate(posts) if n % 2 == 0}
    assert found[("c-000", "wa-sahada")] == {"sent": 1}
    assert found[("c-002", "wa-sahada")] == {"sent": 1, "delivered": 1, "read": 1}
    assert all(found[post] == store.reach(*post) for post in found)
    assert store.reaches([]) == {}


def test_many_accounts_states_are_read_at_once(store):
    assert store.throttle_account("x-sahada", LATER, "limit", NOW)
    assert store.mark_account_unhealthy("fb-sahada", "token expired", NOW)
    states = store.account_states(["fb-sahada", "x-sahada", "wa-sahada", "x-sahada"])
    assert list(states) == ["fb-sahada", "x-sahada", "wa-sahada"]
    assert states == {a: store.account_state(a) for a in ("fb-sahada", "x-sahada", "wa-sahada")}
    assert (states["fb-sahada"].health, states["x-sahada"].health, states["wa-sahada"].health) == (
        Health.UNHEALTHY, Health.THROTTLED, Health.HEALTHY)
    assert store.account_states([]) == {}


def test_many_content_records_are_read_at_once(store):
    assert store.contents([]) == {}
    assert store.save_content(a_content(), None)
    assert store.save_content(a_content(content_id="c-other", key="content/state/other.yaml"), None)
    assert store.save_content(a_content(2), 1)
    found = store.contents([KIT, "c-none", "c-other", KIT])
    assert found == {KIT: store.content(KIT), "c-other": store.content("c-other")}
    assert found[KIT].revision == 2


def test_an_uploads_answer_is_kept_per_etag(store):
    key = "content/constituency/sahada/पोस्ट एक.yaml"
    assert store.upload_answer(key, "e1") is None
    store.record_upload_answer(key, "e1", {"outcome": "rejected", "problems": [{"field": "text"}]}, 2_000_000_000)
    store.record_upload_answer(key, "e2", {"outcome": "accepted", "content_ids": ["c1"]}, 2_000_000_000)
    assert store.upload_answer(key, "e1") == {"outcome": "rejected", "problems": [{"field": "text"}]}
    assert store.upload_answer(key, "e2")["outcome"] == "accepted"
    assert store.upload_answer("content/state/other.yaml", "e1") is None
    # The same event again finds the work done: its "unchanged" is not what became of the upload; the first stays.
    assert store.record_upload_answer(key, "e1", {"outcome": "unchanged"}, 2_000_000_000) is False
    assert store.upload_answer(key, "e1") == {"outcome": "rejected", "problems": [{"field": "text"}]}
