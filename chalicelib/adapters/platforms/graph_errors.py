"""Graph API error codes (Facebook Pages and WhatsApp Cloud share them) → our error taxonomy."""

from __future__ import annotations

from chalicelib.adapters.platforms.http import HttpResponse
from chalicelib.errors import (
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitedError,
    PlatformRejectedError,
    PlatformUnavailableError,
)

TRANSIENT = {1, 2}
THROTTLED = {4, 17, 32, 613, 80001, 341, 130429, 131056, 80007}
TOKEN = {190}


def graph_error(platform: str, response: HttpResponse) -> PlatformError:
    error = response.body.get("error", {}) if isinstance(response.body, dict) else {}
    code = error.get("code")
    message = error.get("message") or f"HTTP {response.status}"
    kwargs = {"status": response.status, "code": code, "raw": error}
    if code in TOKEN or response.status == 401:
        return PlatformAuthError(platform, message, **kwargs)
    if code in THROTTLED or response.status == 429:
        return PlatformRateLimitedError(platform, message, **kwargs)
    if code in TRANSIENT or response.status >= 500:
        return PlatformUnavailableError(platform, message, **kwargs)
    return PlatformRejectedError(platform, message, **kwargs)
