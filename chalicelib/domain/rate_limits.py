"""How long a rate-limited account waits: what the platform said, but never longer than its longest window.

A reset years ahead (a skewed clock, a bad header) would otherwise hold an account — and every post queued for
it — until then. No platform documents a window longer than 24 hours for the limits we can hit, so a later
reset is capped at the limit's own window, and the note says so for the activity log.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from chalicelib.domain.account_state import DEFAULT_THROTTLE
from chalicelib.domain.times import ist_text
from chalicelib.errors import PlatformRateLimitedError

MINIMUM_WAIT = timedelta(seconds=1)  # a reset already past (the platform's clock behind ours): look again at once
FIFTEEN_MINUTES = timedelta(minutes=15)
ONE_DAY = timedelta(hours=24)

# The longest wait to believe, per platform and (where the adapter knows it) which of its limits was spent.
LONGEST_WINDOW: dict[tuple[str, str | None], timedelta] = {
    # https://docs.x.com/x-api/fundamentals/rate-limits: windows are "usually 15 minutes or 24 hours"
    # (POST /2/tweets: 100 per 15 min per user, 10,000 per 24 h per app).
    ("x", "15min"): FIFTEEN_MINUTES,
    ("x", "24hour"): ONE_DAY,
    # The monthly usage cap gives no reset time: look again each day until it resets or the plan is raised.
    ("x", "usage_cap"): ONE_DAY,
    ("x", None): ONE_DAY,
    # https://developers.facebook.com/docs/graph-api/overview/rate-limiting: platform limits count a rolling
    # hour; the Pages business-use-case limit a 24-hour sliding window
    # (https://developers.facebook.com/blog/post/2016/06/16/page-level-rate-limits/), and its
    # estimated_time_to_regain_access (minutes) cannot honestly exceed that window.
    ("facebook", None): ONE_DAY,
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput (per second), the pair
    # rate (6 s), WABA and app call limits (per hour), messaging limits (a moving 24 hours): 24 h at most.
    ("whatsapp", None): ONE_DAY,
}
PLATFORM_NAMES = {"x": "X", "facebook": "Facebook", "whatsapp": "WhatsApp"}


def longest_window(platform: str, window: str | None = None) -> timedelta:
    """The longest documented window for this platform's limit (24 hours when nothing more precise is known)."""
    return LONGEST_WINDOW.get((platform, window)) or LONGEST_WINDOW.get((platform, None)) or ONE_DAY


def hold_until(exc: PlatformRateLimitedError, now: datetime) -> tuple[datetime, str | None]:
    """When the throttled account may try again, and — only when the platform's own answer was capped — a note
    for the activity log saying what the platform said and how long we wait instead.

    `reset_at` (unix seconds) wins over `retry_after` (seconds); with neither, the usual 15 minutes."""
    cap = longest_window(exc.platform, exc.window)
    name = PLATFORM_NAMES.get(exc.platform, exc.platform)
    if exc.reset_at is not None and _number(exc.reset_at) is not None:
        reset_at = float(exc.reset_at)
        seconds = reset_at - now.timestamp()
        said = f"{name} said the limit resets at {_moment_text(reset_at)}"
    elif exc.retry_after is not None and _number(exc.retry_after) is not None:
        seconds = float(exc.retry_after)
        said = f"{name} said to wait {_duration_text(seconds)}"
    else:
        return now + min(DEFAULT_THROTTLE, cap), None
    if not math.isfinite(seconds) or seconds > cap.total_seconds():
        return now + cap, (f"{said} — more than its {_window_text(cap)} window; waiting {_duration_text(cap)} "
                           "(a skewed clock or a bad header?)")
    return now + max(timedelta(seconds=seconds), MINIMUM_WAIT), None


def _number(value: object) -> float | None:
    """A real number (NaN and infinities included: hold_until caps those); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moment_text(unix_seconds: float) -> str:
    try:
        return ist_text(datetime.fromtimestamp(unix_seconds, UTC))
    except (OverflowError, OSError, ValueError):  # beyond any calendar date: say the number itself
        return f"unix time {unix_seconds:g}"


def _window_text(window: timedelta) -> str:
    minutes = window.total_seconds() / 60
    return f"{minutes / 60:g}-hour" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g}-minute"


def _duration_text(duration: timedelta | float) -> str:
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    if not math.isfinite(seconds):
        return "forever"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h" if seconds % 3600 == 0 else f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"
    return f"{seconds:g} s"
