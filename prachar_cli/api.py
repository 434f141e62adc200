"""Talking to Prachar's HTTP API as the signed-in member, and what a command says when that goes wrong.

Every /api route wants the member's Cognito ID token, raw, in the Authorization header (API Gateway's Cognito
authorizer). A token near its end is renewed first with the refresh token, and a 401 is renewed and tried once
more; when renewing fails too, the member is asked to sign in again. A Client renews at most once in
RENEW_AGAIN_AFTER seconds (a command's run): a clock that is wrong must not turn every call into a call to Cognito
too. The API answers a request it cannot do with {"Code", "Message"} and 400/403/404/409: the command prints the
Message as it is and exits 1.

The token goes to the API's own address only: no redirect is followed (a misrouted domain or a captive portal
answering 302 would otherwise be handed the Authorization header), and never over plain http to another machine.

Only the standard library here (urllib): `prachar status` starts in a fraction of a second.
"""

from __future__ import annotations

import functools
import http.client
import json
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from prachar_cli.i18n import say

if TYPE_CHECKING:
    from prachar_cli.session import Session

USER_AGENT = "prachar-cli/0.1.0"
TIMEOUT = 15.0          # seconds for one API call (a Lambda's cold start is a few)
RENEW_MARGIN = 60.0     # renew an ID token this many seconds before it ends, instead of meeting the 401
RENEW_AGAIN_AFTER = 300.0  # a Client renews the token at most once in this many seconds (Cognito's shortest life)


class CliError(Exception):
    """Something a command tells the user and then exits with `exit_code`; the message is already in their
    language."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unreachable(CliError):
    def __init__(self, url: str, reason: str, what: str | None = None) -> None:
        self.url, self.reason = url, reason
        super().__init__(say("{what} does not answer ({reason}).", "{what} जवाब नहीं दे रहा ({reason})।",
                             what=what or say("the API at {url}", "{url} पर API", url=url), reason=reason))


class SignInNeeded(CliError):
    def __init__(self, why: str | None = None) -> None:
        super().__init__((why + " " if why else "") + say("Sign in again: prachar login",
                                                          "फिर से साइन इन करें: prachar login"))


class ApiError(CliError):
    """The API's own refusal (400/403/404/409…): its Message is printed as it is."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass
class Answer:
    status: int
    data: Any        # the body as JSON; None when it was empty or not JSON
    text: str        # the body as text (for an answer that is not JSON)
    location: str | None = None  # where a redirect (3xx, never followed) pointed


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the answer itself: following it would carry the request's headers (the ID token) to whatever host
    the Location names, https → http included."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects)


def fetch(method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
          timeout: float = TIMEOUT, what: str | None = None) -> Answer:
    """One HTTP exchange: any HTTP status is an Answer (a redirect too: none is followed); no answer at all
    (refused, timed out, a name that does not resolve, a connection cut) raises Unreachable."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode("utf-8")
    sent = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if data is not None:
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    secret = sent.pop("Authorization", None)
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    if secret is not None:
        request.add_unredirected_header("Authorization", secret)  # for this request only, whatever follows it
    try:
        with _opener().open(request, timeout=timeout) as response:
            return _answer(response.status, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            location = exc.headers.get("Location") if 300 <= exc.code < 400 and exc.headers else None
            return _answer(exc.code, exc.read(), location)
    except urllib.error.URLError as exc:
        raise Unreachable(url, _reason(exc.reason), what) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
        raise Unreachable(url, _reason(exc), what) from None


def _answer(status: int, raw: bytes, location: str | None = None) -> Answer:
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    return Answer(status, data, text, location)


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return say("connection refused", "कनेक्शन अस्वीकार")
    if isinstance(reason, TimeoutError | socket.timeout):
        return say("no answer in time", "समय पर जवाब नहीं")
    if isinstance(reason, socket.gaierror):
        return say("no such host", "ऐसा कोई होस्ट नहीं")
    return str(reason) or type(reason).__name__


def message_of(answer: Answer) -> str:
    """What the API said: chalice's {"Code", "Message"}, API Gateway's {"message"}, else the status."""
    if 300 <= answer.status < 400:
        return say("the API answered with a redirect (HTTP {status}) to {location}, which is not followed: check the "
                   "API's address (prachar login --api …)",
                   "API ने {location} पर रीडायरेक्ट (HTTP {status}) लौटाया, जिसका पालन नहीं किया जाता: API का पता "
                   "जाँचें (prachar login --api …)", status=answer.status, location=answer.location or "?")
    data = answer.data if isinstance(answer.data, dict) else {}
    for name in ("Message", "message"):
        if isinstance(data.get(name), str) and data[name].strip():
            return data[name].strip()
    text = answer.text.strip()
    if text and len(text) < 300 and "<" not in text:
        return text
    return say("the API answered HTTP {status}", "API ने HTTP {status} लौटाया", status=answer.status)


class Client:
    """The API as the signed-in member. The session's tokens are renewed (and saved) as needed — at most once in
    RENEW_AGAIN_AFTER seconds."""

    def __init__(self, session: Session, timeout: float = TIMEOUT) -> None:
        self.session = session
        self.timeout = timeout
        self._renewed_at: float | None = None  # time.monotonic() of this Client's last renewal

    @property
    def base(self) -> str:
        return self.session.api

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        return self.base + path.lstrip("/") + (f"?{urllib.parse.urlencode(query)}" if query else "")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, body=body)

    def _renewed_lately(self) -> bool:
        return self._renewed_at is not None and time.monotonic() - self._renewed_at < RENEW_AGAIN_AFTER

    def _renew(self) -> None:
        from prachar_cli import session as sessions

        self._renewed_at = time.monotonic()
        self.session = sessions.renew(self.session, timeout=self.timeout)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        from prachar_cli.settings import in_clear_refusal

        refusal = in_clear_refusal(self.base)
        if refusal:  # a session saved before plain http to another machine was refused
            raise SignInNeeded(refusal)
        if self.session.refresh_token and not self._renewed_lately() and self.session.expires_within(RENEW_MARGIN):
            self._renew()
        url = self.url(path, params)
        while True:
            answer = fetch(method, url, body=body, headers={"Authorization": self.session.id_token},
                           timeout=self.timeout, what=say("the API at {url}", "{url} पर API", url=self.base))
            if answer.status != 401:
                break
            if self._renewed_lately() or not self.session.refresh_token:
                raise SignInNeeded(say("The API did not accept your sign-in ({why}).",
                                       "API ने आपका साइन-इन स्वीकार नहीं किया ({why})।", why=message_of(answer)))
            self._renew()
        if answer.status >= 300:
            raise ApiError(answer.status, message_of(answer))
        return answer.data


def signed_in(timeout: float = TIMEOUT) -> Client:
    """The API as the member who signed in with `prachar login`; SignInNeeded when nobody has."""
    from prachar_cli import session as sessions

    current = sessions.current()
    if current is None:
        raise SignInNeeded(say("You are not signed in.", "आप साइन इन नहीं हैं।"))
    return Client(current, timeout)


F = TypeVar("F", bound=Callable[..., Any])


def reported(command: F) -> F:
    """A command's failures as one line on stderr and an exit code (1; 130 for Ctrl-C) instead of a traceback."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            _complain(exc.message)
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:
            _complain(say("Stopped.", "रोका गया।"))
            raise SystemExit(130) from None

    return run  # type: ignore[return-value]


def _complain(message: str) -> None:
    from prachar_cli.output import errors, plain

    try:
        errors().print(f"[red]✗[/red] {plain(message)}", soft_wrap=True)
    except Exception:  # a console that cannot print (a closed pipe): the exit code still says it
        print(message, file=sys.stderr)
