"""The platforms' answers → our error classes, as pure functions on recorded responses; and the capped wait.

Each case in tests/support/platform_responses/<platform>.json is one row of that platform's table (graph_errors.py,
x.x_error), in the platform's own JSON shape; a completeness check makes sure no table row goes untested.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.adapters.platforms.graph_errors import (
    FACEBOOK,
    WHATSAPP,
    GraphTable,
    facebook_error,
    whatsapp_error,
    whatsapp_status_error_class,
)
from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.adapters.platforms.x import x_error
from chalicelib.domain.account_state import DEFAULT_THROTTLE
from chalicelib.domain.rate_limits import hold_until, longest_window
from chalicelib.domain.whatsapp_webhook import parse
from chalicelib.errors import (
    PlatformAccountError,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)
from local.sandbox.faults import RESPONSES

RECORDED = Path(__file__).parents[1] / "support" / "platform_responses"
CLASSIFIERS = {"facebook": facebook_error, "whatsapp": whatsapp_error, "x": x_error}
NOW = datetime(2021, 3, 5, 3, 30, tzinfo=UTC)  # 09:00 IST


def recorded(platform: str) -> list[dict]:
    return json.loads((RECORDED / f"{platform}.json").read_text(encoding="utf-8"))


def response_of(case: dict) -> HttpResponse:
    return HttpResponse(status=case["status"], headers=case["headers"], body=case["body"])


def is_table_row(case: dict) -> bool:
    """Cases named "<class> <code>" stand for one row of the table; the others test its edges."""
    words = str(case["row"]).split()
    return len(words) >= 2 and words[-1].isdigit() and words[0] in (
        "token", "account", "throttled", "recipient", "transient", "permanent", "duplicate")


CASES = [(platform, case) for platform in CLASSIFIERS for case in recorded(platform)]


@pytest.mark.parametrize("platform, case", CASES, ids=[f"{p}: {c['row']}" for p, c in CASES])
def test_each_recorded_answer_falls_in_its_class(platform, case):
    error = CLASSIFIERS[platform](response_of(case))
    expect = case["expect"]
    assert type(error).__name__ == expect["class"], error.message
    assert error.platform == platform and error.status == case["status"]
    for attribute in ("retry_after", "reset_at", "per_recipient", "window"):
        if attribute in expect:
            assert getattr(error, attribute) == expect[attribute], attribute
    if "message_contains" in expect:
        assert expect["message_contains"] in error.message


def _rows(table: GraphTable) -> set[int]:
    # 200–299 is one documented row: its two ends stand for it.
    codes = {code for group in (table.token, table.account, table.throttled, table.recipient_throttled,
                                table.transient, table.permanent, table.duplicate) for code in group}
    return codes - set(range(201, 299))


@pytest.mark.parametrize("table", [FACEBOOK, WHATSAPP], ids=lambda t: t.platform)
def test_every_table_row_has_a_recorded_case(table):
    rows = [case for case in recorded(table.platform) if is_table_row(case)]
    assert all(case["body"]["error"]["code"] == int(case["row"].split()[-1]) for case in rows)
    tested = {case["body"]["error"]["code"] for case in rows}
    assert _rows(table) - tested == set()


def test_no_code_sits_in_two_classes():
    for table in (FACEBOOK, WHATSAPP):
        groups = [set(g) for g in (table.token, table.account, table.throttled, table.recipient_throttled,
                                   table.transient, table.permanent, table.duplicate)]
        assert sum(len(g) for g in groups) == len(set().union(*groups)), table.platform


def test_account_level_answers_are_still_caught_as_auth_errors():
    """The publisher holds the account on PlatformAuthError; the subclass only makes the reason read right."""
    error = whatsapp_error(HttpResponse(500, {}, {"error": {"code": 3, "message": "(#3) Capability"}}))
    assert isinstance(error, PlatformAuthError) and isinstance(error, PlatformAccountError)
    assert not error.retryable, "code 3 comes as HTTP 500 but is no server error"


def test_a_message_answered_by_meta_s_edge_without_a_graph_error_is_in_doubt_but_meta_s_own_5xx_is_not():
    from chalicelib.adapters.platforms.graph_errors import whatsapp_send_error
    from chalicelib.errors import PlatformAmbiguousError

    edge = whatsapp_send_error(HttpResponse(504, {}, {"raw": "<html><body>504 Gateway Time-out</body></html>"}))
    assert isinstance(edge, PlatformAmbiguousError)
    meta = whatsapp_send_error(HttpResponse(500, {}, {"error": {"code": 131000, "message": "Something went wrong"}}))
    assert meta.retryable and not isinstance(meta, PlatformAmbiguousError)


def test_facebook_session_errors_are_token_problems_like_190():
    for code in (102, 190):
        error = facebook_error(HttpResponse(400, {}, {"error": {"code": code, "message": "Session expired"}}))
        assert type(error) is PlatformAuthError


# ---- the sandbox's faults are the platforms' own shapes, classified the same way --------------------------------

SANDBOX_CLASSES = {
    ("facebook", "server_error"): PlatformUnavailableError, ("facebook", "transient"): PlatformUnavailableError,
    ("facebook", "rate_limit"): PlatformRateLimitedError, ("facebook", "auth"): PlatformAuthError,
    ("facebook", "duplicate"): "PlatformDuplicateError", ("facebook", "policy"): PlatformAccountError,
    ("facebook", "permission"): PlatformAccountError, ("facebook", "session_expired"): PlatformAuthError,
    ("facebook", "capability"): PlatformAccountError, ("facebook", "transient_flag"): PlatformUnavailableError,
    ("facebook", "bad_request"): PlatformRejectedError,
    ("x", "server_error"): PlatformUnavailableError, ("x", "transient"): PlatformUnavailableError,
    ("x", "rate_limit"): PlatformRateLimitedError, ("x", "auth"): PlatformAuthError,
    ("x", "duplicate"): "PlatformDuplicateError", ("x", "policy"): PlatformAccountError,
    ("x", "permission"): PlatformAccountError, ("x", "usage_capped"): PlatformRateLimitedError,
    ("x", "suspended"): PlatformAccountError,
    ("whatsapp", "server_error"): PlatformUnavailableError, ("whatsapp", "transient"): PlatformUnavailableError,
    ("whatsapp", "rate_limit"): PlatformRateLimitedError, ("whatsapp", "pair_rate"): PlatformRateLimitedError,
    ("whatsapp", "auth"): PlatformAuthError, ("whatsapp", "policy"): PlatformAccountError,
    ("whatsapp", "permission"): PlatformAccountError, ("whatsapp", "outside_window"): PlatformRejectedError,
    ("whatsapp", "undeliverable"): PlatformRejectedError, ("whatsapp", "capability"): PlatformAccountError,
    ("whatsapp", "account_locked"): PlatformAccountError, ("whatsapp", "payment"): PlatformAccountError,
    ("whatsapp", "number_deleted"): PlatformAccountError, ("whatsapp", "maintenance"): PlatformUnavailableError,
}
SANDBOX = [(platform, kind) for platform, kinds in RESPONSES.items() for kind in kinds]


@pytest.mark.parametrize("platform, kind", SANDBOX, ids=[f"{p}-{k}" for p, k in SANDBOX])
def test_the_sandbox_faults_classify_as_documented(platform, kind):
    status, body = RESPONSES[platform][kind]
    error = CLASSIFIERS[platform](HttpResponse(status, {}, body))
    expected = SANDBOX_CLASSES[(platform, kind)]
    assert type(error).__name__ == (expected if isinstance(expected, str) else expected.__name__)


# ---- a `failed` status webhook: retry that member, give up on them, or hold the account -------------------------

@pytest.mark.parametrize("code", [131000, 130429, 131056, 131016, 131057, 133004, 1, 2, 4, 80007, 131048])
def test_a_failed_status_that_a_retry_can_fix_retries_that_member(code):
    assert whatsapp_status_error_class(code) == "retry_member"


@pytest.mark.parametrize("code", [131047, 131026, 131049, 131050, 132000, 132001, 131021, 130497, None, 999999])
def test_a_failed_status_for_one_member_is_final_for_them(code):
    assert whatsapp_status_error_class(code) == "final_member"


@pytest.mark.parametrize("code", [0, 190, 3, 10, 200, 299, 368, 33, 131005, 131031, 131037, 131042, 131045, 133010])
def test_a_failed_status_about_the_account_holds_the_account(code):
    assert whatsapp_status_error_class(code) == "account"


@pytest.mark.parametrize("case", [c for c in recorded("whatsapp") if is_table_row(c)],
                         ids=lambda c: c["row"])
def test_the_webhook_agrees_with_the_synchronous_answer_for_the_same_code(case):
    error = whatsapp_error(response_of(case))
    expected = ("account" if isinstance(error, PlatformAuthError)
                else "retry_member" if error.retryable else "final_member")
    assert whatsapp_status_error_class(case["body"]["error"]["code"]) == expected


def test_the_recorded_failed_status_webhook_is_final_for_that_member():
    envelope = json.loads((RECORDED.parent / "whatsapp_status_failed.json").read_text(encoding="utf-8"))
    [status] = parse(envelope).statuses
    code = envelope["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"]
    assert status.status == "failed" and whatsapp_status_error_class(code) == "final_member"


# ---- item 9: a reset far in the future is capped at the platform's longest window -------------------------------

def limited(platform: str, *, reset_at: float | None = None, retry_after: float | None = None,
            window: str | None = None) -> PlatformRateLimitedError:
    return PlatformRateLimitedError(platform, "limited", reset_at=reset_at, retry_after=retry_after, window=window)


def test_a_reset_within_the_window_is_taken_as_given():
    reset = NOW + timedelta(minutes=10)
    assert hold_until(limited("x", reset_at=reset.timestamp(), window="15min"), NOW) == (reset, None)
    day = NOW + timedelta(hours=20)
    assert hold_until(limited("x", reset_at=day.timestamp(), window="24hour"), NOW) == (day, None)
    assert hold_until(limited("facebook", retry_after=300), NOW) == (NOW + timedelta(minutes=5), None)


@pytest.mark.parametrize("platform, window, cap", [
    ("x", "15min", timedelta(minutes=15)), ("x", "24hour", timedelta(hours=24)),
    ("x", "usage_cap", timedelta(hours=24)), ("x", None, timedelta(hours=24)),
    ("facebook", None, timedelta(hours=24)), ("whatsapp", None, timedelta(hours=24)),
])
def test_a_reset_years_ahead_is_capped_and_says_so(platform, window, cap):
    years_ahead = NOW.replace(year=2031)
    until, note = hold_until(limited(platform, reset_at=years_ahead.timestamp(), window=window), NOW)
    assert until == NOW + cap == NOW + longest_window(platform, window)
    assert note is not None and "2031-03-05 09:00 IST" in note and "waiting" in note
    name = {"x": "X", "facebook": "Facebook", "whatsapp": "WhatsApp"}[platform]
    assert note.startswith(f"{name} said the limit resets at")


def test_the_notes_read_right():
    _, note = hold_until(limited("x", reset_at=(NOW + timedelta(days=400)).timestamp(), window="24hour"), NOW)
    assert note == ("X said the limit resets at 2022-04-09 09:00 IST — more than its 24-hour window; waiting 24 h "
                    "(a skewed clock or a bad header?)")
    _, note = hold_until(limited("x", reset_at=(NOW + timedelta(minutes=40)).timestamp(), window="15min"), NOW)
    assert "more than its 15-minute window; waiting 15 min" in note
    _, note = hold_until(limited("facebook", retry_after=60 * 60 * 24 * 30), NOW)
    assert note.startswith("Facebook said to wait 30 days — more than its 24-hour window; waiting 24 h")


@pytest.mark.parametrize("reset_at", [1e300, math.inf, math.nan], ids=["beyond-any-date", "inf", "nan"])
def test_a_reset_no_calendar_can_hold_is_capped_too(reset_at):
    until, note = hold_until(limited("whatsapp", reset_at=reset_at), NOW)
    assert until == NOW + timedelta(hours=24) and note


def test_an_absurd_retry_after_is_capped_without_overflow():
    until, note = hold_until(limited("facebook", retry_after=1e18), NOW)
    assert until == NOW + timedelta(hours=24) and "Facebook said to wait" in note


def test_a_reset_already_past_waits_a_second_and_no_wait_given_waits_the_usual_15_minutes():
    assert hold_until(limited("x", reset_at=(NOW - timedelta(hours=1)).timestamp(), window="15min"), NOW) == (
        NOW + timedelta(seconds=1), None)
    assert hold_until(limited("whatsapp", retry_after=-5), NOW) == (NOW + timedelta(seconds=1), None)
    assert hold_until(limited("facebook"), NOW) == (NOW + DEFAULT_THROTTLE, None)


def test_the_adapters_answer_carries_what_hold_until_needs():
    far = str(int(NOW.replace(year=2031).timestamp()))
    response = HttpResponse(429, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": far},
                            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"})
    error = x_error(response)
    assert error.reset_at == float(far), "the adapter keeps the platform's reset as given"
    until, note = hold_until(error, NOW)
    assert until == NOW + timedelta(minutes=15) and "15-minute window" in note
    usage_capped = x_error(response_of(next(c for c in recorded("x") if c["row"] == "429 monthly usage cap")))
    assert hold_until(usage_capped, NOW) == (NOW + timedelta(hours=24), None)


def test_every_classifier_answers_any_body_with_a_platform_error():
    odd_bodies = [None, [], "text", {"error": None}, {"error": []}, {"error": {"code": "131056"}},
                  {"error": {"code": True, "error_data": "x"}}, {"type": 5, "detail": None}]
    for classify in CLASSIFIERS.values():
        for body in odd_bodies:
            for status in (400, 401, 403, 429, 500):
                assert isinstance(classify(HttpResponse(status, {"x-rate-limit-reset": "nan"}, body)), PlatformError)
