"""Signing in: the campaign's Cognito user pool, spoken to over HTTP as the dashboard does (chalicelib/dashboard/
app.js), so the password goes to Cognito alone — never through Prachar.

`GET <api>/dashboard/identity.json` names the pool's endpoint and app client. USER_PASSWORD_AUTH gives an ID token
(an hour) and a refresh token (12 hours); a member invited with a temporary password is asked for a new one first
(NEW_PASSWORD_REQUIRED). The tokens are kept in PRACHAR_HOME/session.json (0600) and never printed; REFRESH_TOKEN_AUTH
renews the ID token until the refresh token runs out, and then the member signs in again.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from prachar_cli import settings
from prachar_cli.api import TIMEOUT, CliError, SignInNeeded, fetch
from prachar_cli.i18n import say

SESSION_FILE = "session.json"
NEW_PASSWORD_TRIES = 3


@dataclass(frozen=True)
class Session:
    api: str                  # the API's base address, ending in "/"
    member: str               # the member id (the pool's user name)
    endpoint: str             # Cognito's endpoint (the pool's region; locally the emulator)
    client_id: str            # the pool's app client
    id_token: str
    refresh_token: str | None
    signed_in_at: float

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
        expiry = self.claims().get("exp")
        return isinstance(expiry, int | float) and expiry - seconds <= (time.time() if now is None else now)

    @property
    def region(self) -> str | None:
        """The pool's region, from Cognito's public endpoint (cognito-idp.<region>.amazonaws.com); None locally."""
        found = re.search(r"cognito-idp\.([a-z0-9-]+)\.amazonaws\.com", self.endpoint)
        return found.group(1) if found else None


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
                       signed_in_at=float(data.get("signed_in_at") or 0))
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
    """(Cognito endpoint, app client id) of the campaign behind `api`, as its dashboard signs in."""
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
    return endpoint, client_id


def cognito(endpoint: str, target: str, body: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """One call of Cognito's user-pool API (no AWS credentials: these calls are signed by the password or token)."""
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
            timeout: float = TIMEOUT) -> Session:
    """Sign `member` in to the campaign behind `api`. `new_password(problem)` is asked for a new password when Cognito
    wants one (a first sign-in with the invitation's temporary password); `problem` says why the last one was
    refused. The session is returned, not saved."""
    endpoint, client_id = identity(api, timeout)

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
    return Session(api=api, member=member, endpoint=endpoint, client_id=client_id, id_token=result["IdToken"],
                   refresh_token=result.get("RefreshToken"), signed_in_at=time.time())


def renew(session: Session, timeout: float = TIMEOUT) -> Session:
    """A new ID token from the refresh token (saved); SignInNeeded when Cognito will not give one."""
    if not session.refresh_token:
        raise SignInNeeded(say("Your sign-in has expired.", "आपका साइन-इन समाप्त हो गया।"))
    try:
        answer = cognito(session.endpoint, "InitiateAuth", {
            "ClientId": session.client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
            "AuthParameters": {"REFRESH_TOKEN": session.refresh_token}}, timeout)
    except CognitoError:
        raise SignInNeeded(say("Your sign-in has expired.", "आपका साइन-इन समाप्त हो गया।")) from None
    result = answer.get("AuthenticationResult") or {}
    if not result.get("IdToken"):
        raise SignInNeeded(say("Your sign-in could not be renewed.", "आपका साइन-इन नवीनीकृत नहीं हो सका।"))
    renewed = replace(session, id_token=result["IdToken"],
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
