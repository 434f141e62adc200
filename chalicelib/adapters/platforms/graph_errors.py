"""Graph API errors (Facebook Pages and WhatsApp Cloud share the envelope) → our taxonomy, as one table each.

Meta asks for error handling built on `code` (and `details`), not on HTTP statuses or subcodes (WhatsApp error
codes page, "build your app's error handling logic around code values"), so a known code always decides; the
HTTP status only decides for a code neither table knows. Each table maps code → what it means, in the words the
activity log shows; a comment above each group names the page it comes from.

Classes, in the order they are checked:
- throttled: the account (or, for WhatsApp's pair rate, one recipient) waits for the platform's reset;
- `is_transient: true` in the body: retryable whatever the code (Graph sets it on errors a retry can fix);
- token: the token was refused — a person must renew it;
- account: the token may work but the account cannot publish (permission removed, locked, blocked, unpaid,
  number deleted or unregistered) — a person must act, and every later post would fail the same way;
- duplicate (Facebook 506), transient (retry as is), permanent (this post, or this WhatsApp member, only).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.errors import (
    PlatformAccountError,
    PlatformAmbiguousError,
    PlatformAuthError,
    PlatformDuplicateError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)

StatusErrorClass = Literal["retry_member", "final_member", "account"]
DEFAULT_WAIT_SECONDS = 900.0  # a throttle whose code and headers say nothing about the wait


@dataclass(frozen=True)
class GraphTable:
    """One platform's codes by class; every value is the code's meaning (waits are in seconds)."""

    platform: str
    token: dict[int, str]
    account: dict[int, str]
    throttled: dict[int, float]           # the account waits: the usual wait when no header says how long
    recipient_throttled: dict[int, float]  # only this recipient waits
    transient: dict[int, str]
    permanent: dict[int, str]
    duplicate: dict[int, str] = field(default_factory=dict)

    def known(self, code: int | None) -> bool:
        return code is not None and any(code in group for group in (
            self.token, self.account, self.throttled, self.recipient_throttled, self.transient, self.permanent,
            self.duplicate))


# ---- Facebook Pages ---------------------------------------------------------------------------------------
FACEBOOK = GraphTable(
    platform="facebook",
    # https://developers.facebook.com/docs/graph-api/guides/error-handling ("Error Codes": OAuthException,
    # 102 API Session and 190 all say "get a new access token"; subcodes 458–467 only say why).
    token={
        102: "the session key has expired or is invalid",
        190: "the access token has expired or was revoked",
    },
    account={
        # Same page: 3 "capability or permissions issue", 10 and 200–299 "permission is either not granted or
        # has been removed" — the Page (not the post) lacks a permission, so every post fails until it is granted.
        3: "the app lacks a capability or permission for this call",
        10: "a permission was not granted or has been removed",
        **{code: "a permission was not granted or has been removed" for code in range(200, 300)},
        # Same page: 368 "temporarily blocked for policies violations" — the Page is blocked, not one post.
        368: "the Page is temporarily blocked for policy violations",
    },
    throttled={
        # https://developers.facebook.com/docs/graph-api/overview/rate-limiting — platform limits (4 app, 17
        # user: rolling one hour; 32 Page; 613 custom), 80001 the Pages business-use-case limit (24-hour sliding
        # window, https://developers.facebook.com/blog/post/2016/06/16/page-level-rate-limits/);
        # error-handling page: 341 "application limit reached".
        4: 3600, 17: 3600, 32: 3600, 613: 3600, 80001: 3600, 341: 3600,
    },
    recipient_throttled={},
    transient={
        # https://developers.facebook.com/docs/graph-api/guides/error-handling: 1 "possibly a temporary issue due
        # to downtime — wait and retry", 2 "temporary issue due to downtime — wait and retry".
        1: "unknown API error (possibly temporary)",
        2: "the service is temporarily unavailable",
    },
    permanent={
        # https://developers.facebook.com/docs/graph-api/guides/error-handling: 1609005 "error posting link";
        # 100 invalid parameter (https://developers.facebook.com/docs/graph-api/reference/page/feed/ errors).
        100: "invalid parameter",
        1609005: "Facebook could not read the link",
    },
    # Same page: 506 "duplicate posts cannot be published consecutively".
    duplicate={506: "duplicate post"},
)

# ---- WhatsApp Cloud API -----------------------------------------------------------------------------------
# Every row: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
# (formerly https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes), unless noted.
WHATSAPP = GraphTable(
    platform="whatsapp",
    # "Authorization errors": 0 AuthException and 190 access token expired — get a new token.
    token={
        0: "Meta could not authenticate the app user",
        190: "the access token has expired",
    },
    account={
        # "Authorization errors": 3 API Method (capability or permissions issue — sent as HTTP 500, so before
        # this table it was retried as a server error), 10 permission denied, 200–299 API permission.
        3: "the app lacks a capability or permission for this call",
        10: "a permission was not granted or has been removed",
        **{code: "a permission was not granted or has been removed" for code in range(200, 300)},
        # "Integrity errors": 368 restricted or disabled for a policy violation, 131031 account locked.
        368: "the WhatsApp Business Account is blocked for policy violations",
        131031: "the WhatsApp Business Account is locked",
        # "Other errors": 33 the business phone number has been deleted; 131005 access denied (permission not
        # granted or removed); 131037 the number needs display-name approval; 131042 a payment-method problem
        # (business eligibility); 131045 phone-number registration (certificate) error.
        33: "the business phone number has been deleted",
        131005: "access denied: a permission was not granted or has been removed",
        131037: "the number needs its display name approved before it can send",
        131042: "the WhatsApp Business Account has a payment problem",
        131045: "the phone number's registration (certificate) is broken",
        # "Registration errors": 133006 the number must be verified again, 133010 the number is not registered.
        133006: "the phone number must be verified again",
        133010: "the phone number is not registered on the Cloud API",
    },
    throttled={
        # "Throttling errors": 4 app call rate (rolling hour), 80007 WABA rate limit, 130429 throughput (per
        # second, https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput),
        # 131048 spam rate limit (quality-based: no documented wait, so look again in 15 min).
        4: 3600, 80007: 3600, 130429: 1, 131048: 900,
    },
    # "Throttling errors": 131056 (business, consumer) pair rate — one message to one recipient every 6 s.
    recipient_throttled={131056: 6},
    transient={
        # "Other errors": 1 API unknown, 2 API service (downtime), 131000 something went wrong, 131016 service
        # unavailable, 131057 account in maintenance mode (a throughput upgrade, about a minute), 133004 server
        # temporarily unavailable.
        1: "unknown API error (possibly temporary)",
        2: "the service is temporarily unavailable",
        131000: "something went wrong at WhatsApp",
        131016: "a WhatsApp service is temporarily unavailable",
        131057: "the account is in maintenance mode",
        133004: "the WhatsApp server is temporarily unavailable",
    },
    permanent={
        # Per recipient ("Other errors", "Integrity errors"): that member is skipped, the rest still get it.
        131021: "the recipient is the sender",
        131026: "the message is undeliverable to this recipient",
        131030: "the recipient is not in the test number's allowed list",
        131047: "more than 24 hours since the recipient last wrote (re-engagement)",
        131049: "Meta held it back to keep the recipient's engagement healthy (per-user marketing limit)",
        131050: "the recipient stopped marketing messages",
        130472: "the recipient is in a Meta experiment group",
        130497: "the business may not message users in the recipient's country",
        # This message as it is (template, media or parameters): it fails for every member alike.
        100: "invalid parameter",
        131008: "a required parameter is missing",
        131009: "a parameter value is not valid",
        131051: "unsupported message type",
        131052: "the media could not be downloaded",
        131053: "the media could not be uploaded",
        132000: "the template's parameter count does not match",
        132001: "the template does not exist in this language or is not approved",
        132005: "the template text is too long",
        132007: "the template breaks a formatting or content policy",
        132012: "a template parameter has the wrong format",
        132015: "the template is paused for low quality",
        132016: "the template is disabled for low quality",
        135000: "generic user error",
    },
)


def facebook_error(response: HttpResponse) -> PlatformError:
    return _classify(FACEBOOK, response)


def whatsapp_error(response: HttpResponse) -> PlatformError:
    return _classify(WHATSAPP, response)


def whatsapp_send_error(response: HttpResponse) -> PlatformError:
    """A message's answer. A 5xx with no Graph error in it comes from Meta's edge (502/503/504 gateway pages): it says
    nothing about whether the backend sent the message — like a read timeout, and a message can neither be looked up
    nor is it refused as a duplicate. So it is in doubt, settled by the message's status webhook, never re-sent."""
    error = whatsapp_error(response)
    if error.retryable and error.code is None and response.status >= 500:
        return PlatformAmbiguousError(error.platform, f"{error.message} (HTTP {response.status} from Meta's edge, "
                                      "without Meta's answer: the message may have been sent)", status=response.status)
    return error


def whatsapp_status_error_class(code: int | None) -> StatusErrorClass:
    """What a `failed` message-status webhook means, by its `errors[0].code`: "retry_member" (send that member
    the message again later: 131000, throttles, the pair rate), "account" (the account needs a person, as for a
    synchronous answer with the same code) or "final_member" (that member cannot get it; also for a code that
    is missing or unknown, so an unknown failure is never re-sent in a loop)."""
    if code is None:
        return "final_member"
    if code in WHATSAPP.token or code in WHATSAPP.account:
        return "account"
    if code in WHATSAPP.transient or code in WHATSAPP.throttled or code in WHATSAPP.recipient_throttled:
        return "retry_member"
    return "final_member"


def _classify(table: GraphTable, response: HttpResponse) -> PlatformError:
    error = _error_body(response)
    code = _code(error)
    message = _message(error, response.status, code)
    kwargs: dict[str, Any] = {"status": response.status, "code": code, "raw": error}
    platform = table.platform
    if code in table.recipient_throttled:
        return PlatformRateLimitedError(platform, message, per_recipient=True,
                                        retry_after=table.recipient_throttled[code], **kwargs)
    if code in table.throttled or (response.status == 429 and not table.known(code)):
        return PlatformRateLimitedError(platform, message, retry_after=_graph_wait(response, table, code), **kwargs)
    if error.get("is_transient") is True:
        # Not in Meta's documented field list, but Graph sends it (restfb/restfb#650, ryz310/my_api_client#70):
        # Meta itself says a retry can succeed, whatever the code.
        return PlatformUnavailableError(platform, message, **kwargs)
    if code in table.token:
        return PlatformAuthError(platform, message, **kwargs)
    if code in table.account:
        return PlatformAccountError(platform, f"{table.account[code]}: {message}", **kwargs)
    if code in table.duplicate:
        return PlatformDuplicateError(platform, message, **kwargs)
    if code in table.transient:
        return PlatformUnavailableError(platform, message, **kwargs)
    if code in table.permanent:
        return PlatformRejectedError(platform, message, **kwargs)
    # A code the table does not know (or none): only now does the HTTP status decide.
    if response.status == 401:
        return PlatformAuthError(platform, message, **kwargs)
    if response.status >= 500:
        return PlatformUnavailableError(platform, message, **kwargs)
    return PlatformRejectedError(platform, message, **kwargs)


def _error_body(response: HttpResponse) -> dict[str, Any]:
    error = response.body.get("error") if isinstance(response.body, dict) else None
    return error if isinstance(error, dict) else {}


def _code(error: dict[str, Any]) -> int | None:
    code = error.get("code")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code)
    return None


def _message(error: dict[str, Any], status: int, code: int | None) -> str:
    message = str(error.get("message") or f"HTTP {status}")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if details:
        message = f"{message} ({details})"
    if code is not None:
        message = f"{message} [code {code}]"
    return message


def _graph_wait(response: HttpResponse, table: GraphTable, code: int | None) -> float:
    """Seconds until the window reopens: Meta's usage headers say it in minutes; otherwise the code's usual wait."""
    minutes = 0.0
    for header in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        for entry in _usage_entries(response.headers.get(header)):
            minutes = max(minutes, _minutes(entry.get("estimated_time_to_regain_access")))
    if minutes:
        return minutes * 60
    return table.throttled.get(code, DEFAULT_WAIT_SECONDS) if code is not None else DEFAULT_WAIT_SECONDS


def _usage_entries(raw: str | None) -> list[dict[str, Any]]:
    """The business-use-case header is {id: [entry, …]}; the app and Page headers are one flat entry."""
    if not raw:
        return []
    try:
        usage = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return []
    if not isinstance(usage, dict):
        return []
    entries = [e for value in usage.values() if isinstance(value, list) for e in value]
    return [e for e in [usage, *entries] if isinstance(e, dict)]


def _minutes(value: Any) -> float:
    try:
        minutes = float(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return minutes if math.isfinite(minutes) and minutes > 0 else 0.0
