from datetime import UTC, datetime, timedelta

from chalicelib.adapters.clock import ScaledClock, SteppedClock
from chalicelib.domain.post import PostStatus, WakeAction, content_id_for, on_wake


def test_the_clock_acts_only_on_posts_that_are_waiting_or_stuck():
    # Waiting posts go to the queue when their time comes; the publisher re-checks before any call.
    for waiting in (PostStatus.SCHEDULED, PostStatus.HELD_THROTTLED, PostStatus.HELD_ACCOUNT, PostStatus.AMBIGUOUS):
        assert on_wake(waiting) is WakeAction.QUEUE
    assert on_wake(PostStatus.QUEUED) is WakeAction.REQUEUE
    assert on_wake(PostStatus.PUBLISHING) is WakeAction.ABANDONED
    for final in (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.WITHDRAWN):
        assert on_wake(final) is WakeAction.NOTHING


def test_content_is_identified_by_its_key():
    assert content_id_for("content/state/a.yaml") == content_id_for("content/state/a.yaml")
    assert content_id_for("content/state/a.yaml") != content_id_for("content/state/b.yaml")
    assert len(content_id_for("content/constituency/sahada/बजट.yaml")) == 16


def test_scaled_clock_runs_from_its_start_at_its_speed():
    real = [1000.0]
    start = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
    clock = ScaledClock(start, speed=60, epoch=1000.0, real_time=lambda: real[0])
    assert clock.now() == start
    real[0] = 1010.0
    assert clock.now() == start + timedelta(minutes=10)


def test_stepped_clock_never_goes_back():
    start = datetime(2021, 3, 3, 3, 30, tzinfo=UTC)
    clock = SteppedClock(start)
    clock.advance_to(start - timedelta(hours=1))
    assert clock.now() == start
    clock.advance_to(start + timedelta(days=1))
    assert clock.now() == start + timedelta(days=1)
