"""The daily token check: ask each platform whether each account's token still works.

Facebook: GET /me with the page token (it must name the page). X: GET /2/users/me (it must name the
user). WhatsApp: GET /<phone-number-id>. A refused token marks the account unhealthy (one alert);
a good one marks it healthy, and posts held for it go out at their next look (within 15 minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.clock import Clock
from chalicelib.adapters.secrets import SecretStore
from chalicelib.adapters.store import Store
from chalicelib.errors import PlatformAuthError, PlatformError
from chalicelib.services.activity import ActivityLog
from chalicelib.services.campaigns import CampaignSource


@dataclass
class TokenCheck:
    store: Store
    campaigns: CampaignSource
    secrets: SecretStore
    platforms: dict[str, Any]
    activity: ActivityLog
    clock: Clock
    secret_name: Callable[[str], str]

    def run(self) -> dict[str, str]:
        campaign = self.campaigns.active()
        results: dict[str, str] = {}
        for account in campaign.accounts if campaign else []:
            now = self.clock.now()
            name = self.secret_name(account.secret)
            try:
                token = self.secrets.token(name)
            except Exception as exc:  # a missing or unreadable secret is as bad as a revoked token
                results[account.id] = self._unhealthy(account.id, account.scope,
                                                      f"its token could not be read from {name} "
                                                      f"({type(exc).__name__})", now)
                continue
            try:
                self.platforms[account.platform].check_token(account.target_id, token)
            except PlatformAuthError as exc:
                results[account.id] = self._unhealthy(account.id, account.scope, exc.message, now)
                continue
            except PlatformError as exc:
                results[account.id] = "unknown"
                self.activity.record("account.check_failed", account.scope, f"{account.id}: token check could "
                                     f"not finish ({exc.message}); state unchanged", level="warning",
                                     account_id=account.id)
                continue
            if self.store.mark_account_healthy(account.id, now):
                self.activity.record("account.healthy", account.scope, f"{account.id}: token works again; "
                                     "its held posts go out at their next look", account_id=account.id)
            results[account.id] = "healthy"
        healthy = sum(1 for r in results.values() if r == "healthy")
        self.activity.record("account.checked", "state", f"token check: {healthy} of {len(results)} accounts healthy",
                             level="info" if healthy == len(results) else "warning",
                             details={"results": results})
        return results

    def _unhealthy(self, account_id: str, scope: str, reason: str, now: Any) -> str:
        if self.store.mark_account_unhealthy(account_id, reason, now):
            self.activity.record("account.unhealthy", scope, f"ALERT {account_id} needs a person: {reason}",
                                 level="error", account_id=account_id)
        return "unhealthy"
