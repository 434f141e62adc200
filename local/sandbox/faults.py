"""Errors the sandbox can be told to answer with, in each platform's own shape.

`server_error_after_send` (Facebook and X) creates the post and then answers the platform's 5xx, as a platform
under strain can: the request log keeps the id it created under `created`.

A fault matches requests by platform, optionally by account and by text in the body; it fires `times`
times (None: every time) with probability `rate` (seeded, so a run is repeatable).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

KINDS = ("server_error", "transient", "rate_limit", "auth", "duplicate", "policy", "permission",
         "timeout_after_send", "server_error_after_send", "pair_rate", "outside_window", "undeliverable",
         # account-level answers and the edges of the classification tables (graph_errors.py, x.x_error)
         "session_expired", "capability", "account_locked", "payment", "number_deleted", "transient_flag",
         "maintenance", "usage_capped", "suspended", "bad_request")


@dataclass
class Fault:
    platform: str
    kind: str
    account_id: str | None = None
    contains: str | None = None
    times: int | None = 1
    rate: float = 1.0
    fired: int = 0
    _random: random.Random = field(default_factory=lambda: random.Random(7), repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")

    def matches(self, platform: str, account_id: str | None, body: Any) -> bool:
        if platform != self.platform or (self.account_id and self.account_id != account_id):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.contains and self.contains not in json.dumps(body, ensure_ascii=False):
            return False
        return self._random.random() < self.rate

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = {"platform", "kind", "account_id", "contains", "times", "rate"}
        return cls(**{k: v for k, v in data.items() if k in allowed})


def graph_error(code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException",
                details: str | None = None, transient: bool | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "ASandboxTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"details": details}
    if transient is not None:
        error["is_transient"] = transient
    return {"error": error}


def x_problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


# (HTTP status, body) per platform and kind, as the platforms document them.
FACEBOOK = {
    "server_error": (500, graph_error(2, "An unexpected error has occurred. Please retry your request later.")),
    "transient": (500, graph_error(1, "An unknown error occurred")),
    "rate_limit": (400, graph_error(32, "Page request limit reached")),
    "auth": (400, graph_error(190, "Error validating access token: Session has expired.", subcode=463)),
    "duplicate": (400, graph_error(506, "Duplicate status message")),
    "policy": (400, graph_error(368, "It looks like you were misusing this feature by going too fast.")),
    "permission": (403, graph_error(200, "(#200) The user hasn't authorized the application to perform this "
                                         "action")),
    "session_expired": (400, graph_error(102, "Session key invalid or no longer valid", kind="OAuthException")),
    # A refusal of this post only (an account-level one, like 200 above, holds the account instead).
    "bad_request": (400, graph_error(100, "(#100) Invalid parameter", kind="GraphMethodException",
                                     details="The link could not be used")),
    "capability": (400, graph_error(3, "(#3) Application does not have the capability to make this API call.")),
    # Graph's own flag decides: a video upload that timed out (code 6000) is marked transient.
    "transient_flag": (400, graph_error(6000, "There was a problem uploading your video file. Please try again.",
                                        subcode=1363030, transient=True)),
}
X = {
    "server_error": (503, x_problem(503, "Service Unavailable", "Service Unavailable")),
    "transient": (500, x_problem(500, "Internal Server Error", "Internal Server Error")),
    "rate_limit": (429, x_problem(429, "Too Many Requests", "Too Many Requests")),
    "auth": (401, x_problem(401, "Unauthorized", "Unauthorized")),
    "duplicate": (403, x_problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")),
    "policy": (403, x_problem(403, "Forbidden", "You are not permitted to perform this action.")),
    "permission": (403, x_problem(403, "Forbidden", "You are not permitted to perform this action.")),
    "usage_capped": (429, {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                           "type": "https://api.twitter.com/2/problems/usage-capped", "period": "Monthly",
                           "scope": "Product"}),
    "suspended": (403, x_problem(403, "Forbidden", "Your account is suspended and is not permitted to access this "
                                 "feature.")),
}
WHATSAPP = {
    "server_error": (500, graph_error(131000, "Something went wrong", details="Internal error")),
    "transient": (500, graph_error(2, "Service temporarily unavailable")),
    "rate_limit": (400, graph_error(130429, "Rate limit hit", details="Cloud API message throughput reached")),
    "pair_rate": (400, graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit")),
    "auth": (401, graph_error(190, "Error validating access token: Session has expired.", subcode=463)),
    "policy": (400, graph_error(368, "Temporarily blocked for policies violations")),
    "permission": (403, graph_error(200, "(#200) Permissions error")),
    "outside_window": (400, graph_error(131047, "Re-engagement message", details="More than 24 hours have passed "
                                        "since the recipient last replied to the sender number.")),
    "undeliverable": (400, graph_error(131026, "Message Undeliverable")),
    # Code 3 comes with HTTP 500, yet no retry can fix it.
    "capability": (500, graph_error(3, "(#3) Application does not have the capability to make this API call.",
                                    details="Capability or permissions issue")),
    "account_locked": (403, graph_error(131031, "Business Account locked", details="The WhatsApp Business Account "
                                        "associated with the app has been restricted or disabled")),
    "payment": (400, graph_error(131042, "Business eligibility payment issue", details="Message failed to send "
                                 "because there were one or more errors related to your payment method.")),
    "number_deleted": (400, graph_error(33, "Parameter value is not valid",
                                        details="The business phone number has been deleted.")),
    "maintenance": (500, graph_error(131057, "Business Account is in maintenance mode",
                                     details="The phone number is being upgraded to a higher throughput.")),
}
RESPONSES = {"facebook": FACEBOOK, "x": X, "whatsapp": WHATSAPP}
