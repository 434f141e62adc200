"""Signing in: the campaign's Cognito user pool, spoken to over HTTP as the dashboard does (chalicelib/dashboard/
app.js), so the password goes to Cognito alone — never through Prachar.

`GET <api>/dashboard/identity.json` names the pool's endpoint and app client. USER_PASSWORD_AUTH gives an ID token
(an hour) and a refresh token (12 hours); a member invited with a temporary password is asked for a new one first
(NEW_PASSWORD_REQUIRED). The tokens are kept in PRACHAR_HOME/session.json (0600) and never printed; REFRESH_TOKEN_AUTH
renews the ID token until the refresh token runs out, and then the member signs in again.

identity.json is only believed when the endpoint it names is Cognito's own (https://cognito-idp.<region>.amazonaws.
com/) — or, for the local stack, on this machine: a look-alike API address, a poisoned DNS answer or anyone on the
path of an http API would otherwise name their own "endpoint" and be sent the password.

When an ID token ends is judged by this machine's clock *since it was obtained* (`obtained_at`) against the token's
own lifetime (exp - iat): a laptop two hours fast or slow must not see every fresh token as expired (or an expired
one as fresh).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from prachar_cli import settings
from prachar_cli.api import TIMEOUT, CliError, SignInNeeded, fetch
from prachar_cli.i18n import say

SESSION_FILE = "session.json"
NEW_PASSWORD_TRIES = 3
# Cognito's user-pool endpoint, exactly: https://cognito-idp.<region>.amazonaws.com/
COGNITO_HOST = re.compile(r"cognito-idp\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com")


def cognito_region(endpoint: str) -> str | None:
    """The region of Cognito's public user-pool endpoint `endpoint` (https://cognito-idp.<region>.amazonaws.com/,
    nothing more); None when it is not that endpoint."""
    parts = urlsplit(endpoint)
    found = COGNITO_HOST.fullmatch(settings.host_of(endpoint) or "")
    if not found or parts.scheme != "https" or parts.port not in (None, 443) or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        return None
    return found.group(1)


def is_local_endpoint(endpoint: str) -> bool:
    """Whether `endpoint` is on this machine (the local stack's Cognito emulator)."""
    return urlsplit(endpoint).scheme in ("http", "https") and settings.is_loopback(settings.host_of(endpoint))


def endpoint_refusal(endpoint: str, api: str | None = None) -> str | None:
    """Why the password (or a refresh token) may not be sent to `endpoint`, or None: only Cognito's own endpoint,
    or — when the API is on this machine too (the local stack) — an endpoint on this machine."""
    if cognito_region(endpoint):
        return None
    api_is_local = api is None or is_local_endpoint(api)
    if is_local_endpoint(endpoint) and api_is_local:
        return None
    shown = _printable(endpoint)
    if api is None:
        return say("{endpoint} is not Amazon Cognito (https://cognito-idp.<region>.amazonaws.com/): nothing of your "
                   "sign-in is sent there.",
                   "{endpoint} Amazon Cognito (https://cognito-idp.<region>.amazonaws.com/) नहीं है: आपके साइन-इन का "
                   "कुछ भी वहाँ नहीं भेजा जाता।", endpoint=shown)
    return say("The API at {api} names {endpoint} as the campaign's sign-in, which is not Amazon Cognito "
               "(https://cognito-idp.<region>.amazonaws.com/): your password is not sent there. Check the API's "
               "address with your coordinator.",
               "{api} पर API कैंपेन के साइन-इन के रूप में {endpoint} बताता है, जो Amazon Cognito "
               "(https://cognito-idp.<region>.amazonaws.com/) नहीं है: आपका पासवर्ड वहाँ नहीं भेजा जाता। API का पता "
               "अपने कोऑर्डिनेटर से जाँचें।", api=api, endpoint=shown)


def _printable(text: str, limit: int = 200) -> str:
    """Text from elsewhere (an API's answer) as it may be shown: control characters escaped, and not too long."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def where(endpoint: str, client_id: str) -> str:
    """Where the password goes, in words: the pool's region and app client (or the local stack's emulator)."""
    region = cognito_region(endpoint)
    if region:
        return say("Amazon Cognito in {region} ({endpoint}, app client {client})",
                   "{region} में Amazon Cognito ({endpoint}, ऐप क्लाइंट {client})", region=region, endpoint=endpoint,
                   client=client_id)
    return say("the local stack's sign-in at {endpoint} (app client {client})",
               "लोकल स्टैक का साइन-इन, {endpoint} पर (ऐप क्लाइंट {client})", endpoint=endpoint, client=client_id)


@dataclass(frozen=True)
class Session:
    api: str                  # the API's base address, ending in "/"
    member: str               # the member id (the pool's user name)
    endpoint: str             # Cognito's endpoint (the pool's region; locally the emulator)
    client_id: str            # the pool's app client
    id_token: str
    refresh_token: str | None
    signed_in_at: float
    obtained_at: float | None = None  # this machine's time.time() when id_token was obtained (signed in or renewed)

    def __repr__(self) -> str:  # a traceback or a debug print must never show a token
        return f"Session(api={self.api!r}, member={self.member!r}, endpoint={self.endpoint!r})"

    def claims(self) -> dict[str, Any]:
        """The ID token's claims, read without checking the signature: only to know when it ends (the API checks
        it for real)."""
        try:
            part = self.id_token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (IndexError, ValueError):
            return {}
        return claims if isinstance(claims, dict) else {}

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        """Whether the ID token ends within `seconds`. Judged by the time this machine's clock says has passed since
        the token was obtained, against the token's own lifetime (exp - iat) — both differences, so a clock that is
        hours off does not matter; only a token without `iat`, or a session saved without `obtained_at`, is judged
        by `exp` against this machine's clock."""
        claims = self.claims()
        expiry, issued = claims.get("exp"), claims.get("iat")
        now = time.time() if now is None else now
        if not isinstance(expiry, int | float):
            return False
        if isinstance(issued, int | float) and self.obtained_at is not None:
            elapsed = max(now - self.obtained_at, 0.0)  # a clock set back since: the API's 401 still tells
            return (expiry - issued) - elapsed <= seconds
        return expiry - seconds <= now

    @property
    def region(self) -> str | None:
        """The pool's region, from Cognito's public endpoint (cognito-idp.<region>.amazonaws.com); None locally."""
        return cognito_region(self.endpoint)


class CognitoError(CliError):
    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def current() -> Session | None:
    data = settings.read_json(SESSION_FILE)
    if not data:
        return None
    try:
        return Session(api=str(data["api"]), member=str(data["member"]), endpoint=str(data["endpoint"]),
                       client_id=str(data["client_id"]), id_token=str(data["id_token"]),
                       refresh_token=data.get("refresh_token") or None,
                       signed_in_at=float(data.get("signed_in_at") or 0),
                       obtained_at=float(data["obtained_at"]) if data.get("obtained_at") is not None else None)
    except (KeyError, TypeError, ValueError):
        return None


def save(session: Session) -> None:
    settings.write_private(SESSION_FILE, asdict(session))


def forget() -> Session | None:
    """Forget the sign-in; the one that was forgotten (None if there was none). The API's address stays."""
    was = current()
    settings.forget(SESSION_FILE)
    return was


def identity(api: str, timeout: float = TIMEOUT) -> tuple[str, str]:
    """(Cognito endpoint, app client id) of the campaign behind `api`, as its dashboard signs in — an endpoint that
    is not Cognito's own (endpoint_refusal) is refused."""
    answer = fetch("GET", api + "dashboard/identity.json", timeout=timeout,
                   what=say("the API at {url}", "{url} पर API", url=api))
    data = answer.data if isinstance(answer.data, dict) else {}
    endpoint, client_id = data.get("endpoint"), data.get("client_id")
    if answer.status != 200 or not isinstance(endpoint, str) or not endpoint or not isinstance(client_id, str) \
            or not client_id:
        raise CliError(say("{api} does not look like Prachar's API: dashboard/identity.json answered HTTP {status} "
                           "without the sign-in details. Check the address (chalice deploy prints it; locally "
                           "http://127.0.0.1:8000).",
                           "{api} Prachar का API नहीं लगता: dashboard/identity.json ने HTTP {status} लौटाया, साइन-इन "
                           "की जानकारी के बिना। पता जाँचें (chalice deploy उसे छापता है; लोकल में "
                           "http://127.0.0.1:8000)।", api=api, status=answer.status))
    refusal = endpoint_refusal(endpoint, api)
    if refusal:
        raise CliError(refusal)
    return endpoint, client_id


def cognito(endpoint: str, target: str, body: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """One call of Cognito's user-pool API (no AWS credentials: these calls are signed by the password or token) —
    only ever to Cognito's own endpoint, or to one on this machine (endpoint_refusal)."""
    refusal = endpoint_refusal(endpoint)
    if refusal:
        raise CliError(refusal)
    answer = fetch("POST", endpoint, body=json.dumps(body).encode("utf-8"), timeout=timeout,
                   headers={"Content-Type": "application/x-amz-json-1.1",
                            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"},
                   what=say("Cognito at {url}", "{url} पर Cognito", url=endpoint))
    data = answer.data if isinstance(answer.data, dict) else {}
    if answer.status >= 400:
        kind = str(data.get("__type") or data.get("code") or f"HTTP {answer.status}").rsplit("#", 1)[-1]
        raise CognitoError(kind, str(data.get("message") or data.get("Message") or kind))
    return data


def _refusal(error: CognitoError, member: str) -> CliError:
    """What to tell a member whose sign-in Cognito refused (its own words where they help)."""
    if error.kind in ("NotAuthorizedException", "UserNotFoundException"):
        if "disabled" in error.message.lower():
            return CliError(say("{member} is disabled in the campaign's sign-in: ask a coordinator.",
                                "{member} कैंपेन के साइन-इन में बंद है: किसी कोऑर्डिनेटर से पूछें।", member=member))
        if "expired" in error.message.lower():
            return CliError(say("Your temporary password has expired: ask a coordinator to invite you again.",
                                "आपका अस्थायी पासवर्ड समाप्त हो गया: कोऑर्डिनेटर से दोबारा आमंत्रण माँगें।"))
        if "attempts exceeded" in error.message.lower():
            return CliError(say("Too many wrong passwords: wait a few minutes before trying again.",
                                "बहुत बार गलत पासवर्ड: कुछ मिनट रुककर फिर कोशिश करें।"))
        return CliError(say("Wrong member id or password.", "सदस्य आईडी या पासवर्ड गलत है।"))
    if error.kind == "PasswordResetRequiredException":
        return CliError(say("Your password must be reset: ask a coordinator.",
                            "आपका पासवर्ड रीसेट होना है: किसी कोऑर्डिनेटर से पूछें।"))
    if error.kind in ("TooManyRequestsException", "LimitExceededException", "TooManyFailedAttemptsException"):
        return CliError(say("Too many attempts: wait a few minutes before trying again.",
                            "बहुत सारी कोशिशें: कुछ मिनट रुककर फिर कोशिश करें।"))
    return CliError(say("Cognito refused the sign-in: {why}", "Cognito ने साइन-इन अस्वीकार किया: {why}",
                        why=f"{error.kind}: {error.message}"))


def sign_in(api: str, member: str, password: str, *, new_password: Callable[[str | None], str],
            timeout: float = TIMEOUT, pool: tuple[str, str] | None = None) -> Session:
    """Sign `member` in to the campaign behind `api`. `new_password(problem)` is asked for a new password when Cognito
    wants one (a first sign-in with the invitation's temporary password); `problem` says why the last one was
    refused. `pool`: identity(api) when the caller asked already (to say where the password goes). The session is
    returned, not saved."""
    endpoint, client_id = pool or identity(api, timeout)
    refusal = endpoint_refusal(endpoint, api)
    if refusal:
        raise CliError(refusal)

    def initiate() -> dict[str, Any]:
        try:
            return cognito(endpoint, "InitiateAuth", {"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                                                      "AuthParameters": {"USERNAME": member, "PASSWORD": password}},
                           timeout)
        except CognitoError as exc:
            raise _refusal(exc, member) from None

    answer = initiate()
    problem: str | None = None
    for _ in range(NEW_PASSWORD_TRIES):
        if answer.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
            break
        chosen = new_password(problem)
        try:
            answer = cognito(endpoint, "RespondToAuthChallenge", {
                "ClientId": client_id, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": answer.get("Session"),
                "ChallengeResponses": {"USERNAME": member, "NEW_PASSWORD": chosen}}, timeout)
        except CognitoError as exc:
            if exc.kind not in ("InvalidPasswordException", "InvalidParameterException"):
                raise _refusal(exc, member) from None
            problem = exc.message
            answer = initiate()  # a refused answer may spend the challenge's session: a fresh one for the next try
    result = answer.get("AuthenticationResult")
    if answer.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        raise CliError(say("The new password was refused {n} times ({why}); nothing changed.",
                           "नया पासवर्ड {n} बार अस्वीकार हुआ ({why}); कुछ नहीं बदला।", n=NEW_PASSWORD_TRIES,
                           why=problem or "?"))
    if answer.get("ChallengeName"):
        raise CliError(say("This sign-in needs {challenge}, which the command line does not do: sign in on the "
                           "dashboard ({api}dashboard) first.",
                           "इस साइन-इन के लिए {challenge} चाहिए, जो कमांड लाइन नहीं करती: पहले डैशबोर्ड "
                           "({api}dashboard) पर साइन इन करें।", challenge=answer["ChallengeName"], api=api))
    if not isinstance(result, dict) or not result.get("IdToken"):
        raise CliError(say("Cognito answered without an ID token.", "Cognito के जवाब में ID टोकन नहीं है।"))
    now = time.time()
    return Session(api=api, member=member, endpoint=endpoint, client_id=client_id, id_token=result["IdToken"],
                   refresh_token=result.get("RefreshToken"), signed_in_at=now, obtained_at=now)


def renew(session: Session, timeout: float = TIMEOUT) -> Session:
    """A new ID token from the refresh token (saved); SignInNeeded when Cognito will not give one."""
    if not session.refresh_token:
        raise SignInNeeded(say("Your sign-in has expired.", "आपका साइन-इन समाप्त हो गया।"))
    refusal = endpoint_refusal(session.endpoint)
    if refusal:  # a session saved before the endpoint was checked, or edited by hand
        raise SignInNeeded(refusal)
    try:
        answer = cognito(session.endpoint, "InitiateAuth", {
            "ClientId": session.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": session.refresh_token}}, timeout)
    except CognitoError:
        raise SignInNeeded(say("Your sign-in has expired.", "आपका साइन-इन समाप्त हो गया।")) from None
    result = answer.get("AuthenticationResult") or {}
    if not result.get("IdToken"):
        raise SignInNeeded(say("Your sign-in could not be renewed.", "आपका साइन-इन नवीनीकृत नहीं हो सका।"))
    renewed = replace(session, id_token=result["IdToken"], obtained_at=time.time(),
                      refresh_token=result.get("RefreshToken") or session.refresh_token)
    save(renewed)
    return renewed


def revoke(session: Session, timeout: float = 5.0) -> bool:
    """Ask Cognito to revoke the refresh token (best effort: logging out never fails on it)."""
    if not session.refresh_token:
        return False
    try:
        cognito(session.endpoint, "RevokeToken", {"ClientId": session.client_id, "Token": session.refresh_token},
                timeout)
    except CliError:
        return False
    return True
