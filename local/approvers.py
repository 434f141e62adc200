"""The local stack plays the campaign's approvers for the example content, through the real API.

Constituency content is approved by its district's lead, district content by a state lead, state content
by a coordinator — except one post left unapproved (it expires at its time) and one rejected, so the demo
shows both. Content a user uploads while `make run` is up waits for the user's own decision.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

LEFT_UNAPPROVED = "content/constituency/rajsamand/2021-03/2021-03-05-budget.yaml"
REJECTED = ("content/district/churu/2021-03/2021-03-09-roundup.json", "आँकड़ों की जाँच बाकी है")


def approver_for(scope: str, campaign: dict[str, Any]) -> str:
    level, _, scope_id = scope.partition("/")
    if level == "constituency":
        district = next(c["district"] for c in campaign["constituencies"] if c["id"] == scope_id)
        return _member(campaign, f"district/{district}", "lead")
    return _member(campaign, "state", "lead" if level == "district" else "coordinator")


def play_approvers(api_url: str, campaign: dict[str, Any], keys: dict[str, str],
                   token: Callable[[str], str]) -> dict[str, int]:
    """keys: content id → upload key, for the example content to decide on; token: a member's ID token."""
    coordinator = _member(campaign, "state", "coordinator")
    pending = _call(api_url, "GET", "/api/posts?status=pending_approval&limit=1000", token(coordinator))["posts"]
    counts = {"approved": 0, "rejected": 0, "left": 0}
    for post in pending:
        key = keys.get(post["id"])
        if key is None:
            continue  # not example content: the user decides
        if key == LEFT_UNAPPROVED:
            counts["left"] += 1
            continue
        if key == REJECTED[0]:
            _call(api_url, "POST", f"/api/posts/{post['id']}/reject", token(coordinator), {"reason": REJECTED[1]})
            counts["rejected"] += 1
            continue
        _call(api_url, "POST", f"/api/posts/{post['id']}/approve", token(approver_for(post["scope"], campaign)),
              {"note": "local stack: example content", "revision": post["revision"]})
        counts["approved"] += 1
    return counts


def _member(campaign: dict[str, Any], scope: str, role: str) -> str:
    team = next(t for t in campaign["teams"] if t["scope"] == scope)
    return next(m["id"] for m in team["members"] if m.get("role") == role)


def _call(api_url: str, method: str, path: str, token: str, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": token}
    request = urllib.request.Request(f"{api_url}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
