"""Graph API errors (Facebook Pages and WhatsApp Cloud share the envelope) → our taxonomy, in one table each.

Codes from Meta's documentation (platforms.md): what each means for the post, the account and a retry.
"""

from __future__ import annotations

import json

from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.errors import (
    PlatformAuthError,
    PlatformDuplicateError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)

TRANSIENT = {1, 2, 131000}
TOKEN_OR_BLOCKED = {190, 368}            # a person must fix the token, or review the block
FACEBOOK_THROTTLED = {4, 17, 32, 613, 80001, 341}
WHATSAPP_THROTTLED = {4, 80007, 130429, 131048}
WHATSAPP_PER_RECIPIENT_RETRY = {131056}  # pair rate: that recipient later, the rest now
DEFAULT_WAIT_SECONDS = {4: 3600, 17: 3600, 32: 3600, 613: 3600, 80001: 3600, 341: 3600, 80007: 3600,
                        130429: 1, 131048: 900, 131056: 6}


def facebook_error(response: HttpResponse) -> PlatformError:
    code, message, kwargs = _parts(response)
    if code in TOKEN_OR_BLOCKED or response.status == 401:
        return PlatformAuthError("facebook", message, **kwargs)
    if code in FACEBOOK_THROTTLED or response.status == 429:
        return PlatformRateLimitedError("facebook", message, retry_after=_graph_wait(response, code), **kwargs)
    if code == 506:
        return PlatformDuplicateError("facebook", message, **kwargs)
    if code in TRANSIENT or response.status >= 500:
        return PlatformUnavailableError("facebook", message, **kwargs)
    return PlatformRejectedError("facebook", message, **kwargs)


def whatsapp_error(response: HttpResponse) -> PlatformError:
    code, message, kwargs = _parts(response)
    if code in TOKEN_OR_BLOCKED or response.status == 401:
        return PlatformAuthError("whatsapp", message, **kwargs)
    if code in WHATSAPP_PER_RECIPIENT_RETRY:
        return PlatformRateLimitedError("whatsapp", message, per_recipient=True,
                                        retry_after=DEFAULT_WAIT_SECONDS[code], **kwargs)
    if code in WHATSAPP_THROTTLED or response.status == 429:
        return PlatformRateLimitedError("whatsapp", message, retry_after=_graph_wait(response, code), **kwargs)
    if code in TRANSIENT or response.status >= 500:
        return PlatformUnavailableError("whatsapp", message, **kwargs)
    # 131047 outside the 24-hour window, 131026 undeliverable, 131049/131050 marketing limits and stops,
    # 132000/132001 template problems: that message will never go as it is.
    return PlatformRejectedError("whatsapp", message, **kwargs)


def _parts(response: HttpResponse) -> tuple[int | None, str, dict]:
    error = response.body.get("error", {}) if isinstance(response.body, dict) else {}
    code = error.get("code")
    message = error.get("message") or f"HTTP {response.status}"
    details = (error.get("error_data") or {}).get("details")
    if details:
        message = f"{message} ({details})"
    if code is not None:
        message = f"{message} [code {code}]"
    return code, message, {"status": response.status, "code": code, "raw": error}


def _graph_wait(response: HttpResponse, code: int | None) -> float:
    """Seconds until the window reopens: Meta's usage headers say in minutes; otherwise the code's usual wait."""
    minutes = 0.0
    for header in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except json.JSONDecodeError:
            continue
        entries = [e for value in usage.values() if isinstance(value, list) for e in value] if isinstance(
            usage, dict) else []
        for entry in entries:
            minutes = max(minutes, float(entry.get("estimated_time_to_regain_access", 0) or 0))
    return minutes * 60 if minutes else DEFAULT_WAIT_SECONDS.get(code or 0, 900)
