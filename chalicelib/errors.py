"""The error taxonomy: what went wrong decides whether a step is retried, reported or alerted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class PracharError(Exception):
    """Base of every error this system raises on purpose."""


class ConfigError(PracharError):
    """The deployment is misconfigured: fail fast at start."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an upload, in words its author can act on."""

    field: str
    message: str
    fix: str
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "problem": self.message, "fix": self.fix}
        if self.row is not None:
            data["row"] = self.row
        return data


@dataclass
class InvalidContentError(PracharError):
    """Permanent: the upload is wrong; reported in errors/<key>.json and the activity log."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


class PlatformError(PracharError):
    def __init__(self, platform: str, message: str, *, status: int | None = None,
                 code: int | str | None = None, raw: Any = None) -> None:
        super().__init__(message)
        self.platform = platform
        self.message = message
        self.status = status
        self.code = code
        self.raw = raw

    @property
    def retryable(self) -> bool:
        return False


class PlatformAuthError(PlatformError):
    """Token expired or revoked: the account needs a human; never retried as is."""


class PlatformAccountError(PlatformAuthError):
    """The token may still work, but the account cannot publish: a permission was removed, the account is
    locked, restricted or blocked for a policy, its payment method failed, or its phone number was deleted or
    is not registered. Every later post would fail the same way, so — like a refused token — the account is
    marked unhealthy with one alert and its posts wait until a person fixes it and a token check passes."""


class PlatformRejectedError(PlatformError):
    """Policy, permission, duplicate or bad media: the post fails with the platform's reason."""


class PlatformObjectsGoneError(PlatformRejectedError):
    """A read named objects the platform no longer has (Graph #803: deleted on the page): `ids`, as it named them."""

    def __init__(self, platform: str, message: str, ids: list[str], **kwargs: Any) -> None:
        super().__init__(platform, message, **kwargs)
        self.ids = ids


class PlatformDuplicateError(PlatformRejectedError):
    """The platform already has this text from this account: after an earlier attempt, it probably landed."""


class PlatformRateLimitedError(PlatformError):
    """Throttled until `reset_at` (unix seconds on the platform's clock) or for `retry_after` seconds, both
    kept as the platform gave them (domain/rate_limits.hold_until caps them); `per_recipient`: only this
    recipient is limited, not the account; `window`: which of the platform's limits was spent (X: "15min",
    "24hour" or "usage_cap"), so the wait can be capped at that limit's own window."""

    def __init__(self, platform: str, message: str, *, reset_at: float | None = None,
                 retry_after: float | None = None, per_recipient: bool = False, window: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(platform, message, **kwargs)
        self.reset_at = reset_at
        self.retry_after = retry_after
        self.per_recipient = per_recipient
        self.window = window

    @property
    def retryable(self) -> bool:
        return True


class PlatformUnavailableError(PlatformError):
    """5xx or a failure before the request was sent: safe to retry."""

    @property
    def retryable(self) -> bool:
        return True


class PlatformAmbiguousError(PlatformError):
    """The request may have been applied (e.g. timeout after sending): must not be re-sent blindly."""


class PersistenceError(PracharError):
    """Storage failed in a way a retry may fix."""


class RequestError(PracharError):
    """An API caller's request cannot be done as asked; `status` is the HTTP answer."""

    status = 400


class BadRequest(RequestError):
    status = 400


class Unauthorized(RequestError):
    status = 401


class Forbidden(RequestError):
    status = 403


class NotFound(RequestError):
    status = 404


class Conflict(RequestError):
    status = 409


class Unavailable(RequestError):
    """Not now: the caller should send the same request again later (webhooks are redelivered)."""

    status = 503
